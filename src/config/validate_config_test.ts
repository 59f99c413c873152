// Tests of every spec 3.9 semantic rule through loadConfig, each message asserted (planning layer, pure).
import { assertEquals } from "./test_assert.ts";
import { loadConfig } from "./load_config.ts";
import { configErrorOf, fakeContext } from "./testing.ts";

// Lines 1-3.
const SRC = "source:\n  type: postgres\n  url_env: DATABASE_URL\n";

/** SRC + one export on lines 4-8; `extra` starts at line 9, column 5. */
function oneExport(
  extra: string,
  opts: { query?: string; destination?: string } = {},
): string {
  return SRC +
    "exports:\n" +
    "  - name: orders\n" +
    (opts.query ?? "    query: SELECT 1\n") +
    "    format: parquet\n" +
    `    destination: ${opts.destination ?? "{ type: local, path: ./out }"}\n` +
    extra;
}

const P = "config file 'rivet.yaml': ";
const E = "config file 'rivet.yaml': export 'orders' (exports[0]): ";

const files = { "/cfg/sa.json": "{}", "/cfg/q.sql": "SELECT 1" };

const cases: readonly { rule: string; name: string; yaml: string; message: string }[] = [
  {
    rule: "1",
    name: "an empty exports list",
    yaml: SRC + "exports: []\n",
    message: P +
      "exports: at least one export must be defined (line 4, column 1). Add an item under " +
      "`exports:` with a name, one of query/query_file/table, a format and a destination.",
  },
  {
    rule: "2",
    name: "a duplicate export name",
    yaml: oneExport(
      "  - name: orders\n    table: t\n    format: csv\n    destination: { type: stdout }\n",
    ),
    message: P +
      "duplicate export name 'orders' at exports[1].name (line 9, column 5); exports[0] already " +
      "uses it (line 5, column 5). Export names must be unique because state is keyed by them: " +
      "rename one.",
  },
  {
    rule: "3",
    name: "batch_size with batch_size_memory_mb in source.tuning",
    yaml: SRC + "  tuning: { batch_size: 10, batch_size_memory_mb: 5 }\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n",
    message: P +
      "source.tuning sets both batch_size and batch_size_memory_mb (line 4, column 13); they " +
      "are mutually exclusive. Keep batch_size for a fixed row count, or batch_size_memory_mb " +
      "to derive it from the row width.",
  },
  {
    rule: "3",
    name: "batch_size with batch_size_memory_mb in an export's tuning",
    yaml: oneExport("    tuning: { batch_size: 10, batch_size_memory_mb: 5 }\n"),
    message: E +
      "exports[0].tuning sets both batch_size and batch_size_memory_mb (line 9, column 15); " +
      "they are mutually exclusive. Keep batch_size for a fixed row count, or " +
      "batch_size_memory_mb to derive it from the row width.",
  },
  {
    rule: "3",
    name: "batch_size from source.tuning merged with batch_size_memory_mb from the export",
    yaml: SRC + "  tuning: { batch_size: 10 }\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n" +
      "    tuning: { batch_size_memory_mb: 5 }\n",
    message: E +
      "exports[0].tuning.batch_size_memory_mb (line 10, column 15) together with " +
      "source.tuning.batch_size (line 4, column 13) gives the export both batch_size and " +
      "batch_size_memory_mb, which are mutually exclusive. Remove source.tuning.batch_size or " +
      "exports[0].tuning.batch_size_memory_mb.",
  },
  {
    rule: "4",
    name: "a source without any connection method",
    yaml: "source:\n  type: postgres\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n",
    message: P +
      "source: no connection method is configured (line 1, column 1). Set one of: " +
      "`url_env: DATABASE_URL` (recommended: the URL stays out of the file), " +
      "`url_file: <path of a file holding the URL>`, `url: <connection URL>`, or the " +
      "structured fields `host`, `user`, `database` (with `password_env` for the password).",
  },
  {
    rule: "5",
    name: "both url and url_env",
    yaml: "source:\n  type: postgres\n  url: postgresql://h/db\n  url_env: X\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n",
    message: P +
      "source: specify exactly one of 'url', 'url_env', or 'url_file' (got 2 set: url, url_env) " +
      "(line 4, column 3). Keep one and remove the others.",
  },
  {
    rule: "6",
    name: "url_env mixed with structured host",
    yaml: "source:\n  type: postgres\n  url_env: X\n  host: h\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n",
    message: P +
      "source: pick either URL-based connection fields (url, url_env, url_file) OR structured " +
      "fields (host, port, user, password, password_env, database), not both; found url_env, " +
      "host (line 4, column 3). Put everything into the URL, or drop the URL and use the " +
      "structured fields.",
  },
  {
    rule: "7",
    name: "a structured source without database",
    yaml: "source:\n  type: mysql\n  host: h\n  user: u\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n",
    message: P +
      "source: the structured connection is missing 'database' (line 1, column 1). Add " +
      "`database:` with the database to read from, or use `url_env` instead of structured fields.",
  },
  {
    rule: "7",
    name: "a structured source without user and database (one error each)",
    yaml: "source:\n  type: mysql\n  host: h\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n",
    message: P + "2 problems:\n" +
      "- source: the structured connection is missing 'user' (line 1, column 1). Add `user:` " +
      "with the login role Rivet connects as, or use `url_env` instead of structured fields.\n" +
      "- source: the structured connection is missing 'database' (line 1, column 1). Add " +
      "`database:` with the database to read from, or use `url_env` instead of structured fields.",
  },
  {
    rule: "7",
    name: "a structured source without host",
    yaml: "source:\n  type: mysql\n  user: u\n  database: d\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n",
    message: P +
      "source: the structured connection is missing 'host' (line 1, column 1). Add `host:` with " +
      "the database server's name or IP address, or use `url_env` instead of structured fields.",
  },
  {
    rule: "8",
    name: "both password and password_env",
    yaml: "source:\n  type: mysql\n  host: h\n  user: u\n  database: d\n  password: hunter2\n" +
      "  password_env: PW\n" +
      "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n",
    message: P +
      "source: set either 'password' or 'password_env', not both (line 7, column 3). Prefer " +
      "password_env so the secret stays out of the file.",
  },
  {
    rule: "9",
    name: "an export without query, query_file or table",
    yaml: oneExport("", { query: "" }),
    message: E +
      "exactly one of 'query', 'query_file', or 'table' must be set (got none) (line 5, column 5). " +
      "Use `query:` for SQL, `query_file:` for a .sql file next to the config, or `table:` for a " +
      "whole table.",
  },
  {
    rule: "9",
    name: "an export with both query and table",
    yaml: oneExport("    table: public.orders\n"),
    message: E +
      "exactly one of 'query', 'query_file', or 'table' must be set (got query, table) " +
      "(line 9, column 5). Use `query:` for SQL, `query_file:` for a .sql file next to the " +
      "config, or `table:` for a whole table.",
  },
  {
    rule: "9",
    name: "an absolute query_file",
    yaml: oneExport("", { query: "    query_file: /etc/passwd\n" }),
    message: E +
      "query_file '/etc/passwd' is an absolute path (line 6, column 5). Give a path relative to " +
      "the config file's directory.",
  },
  {
    rule: "9",
    name: "a query_file with a '..' segment",
    yaml: oneExport("", { query: "    query_file: sql/../../q.sql\n" }),
    message: E +
      "query_file 'sql/../../q.sql' contains a '..' segment (line 6, column 5). Query files must " +
      "live inside the config file's directory; move the file there.",
  },
  {
    rule: "10",
    name: "an S3 destination with only access_key_env",
    yaml: oneExport("", {
      destination: "{ type: s3, bucket: b, access_key_env: AK }",
    }),
    message: E +
      "destination.access_key_env and destination.secret_key_env must be set together (only " +
      "access_key_env is set) (line 8, column 41). Set both, or remove access_key_env to use the " +
      "default AWS credential chain.",
  },
  {
    rule: "11",
    name: "a GCS destination with allow_anonymous and credentials_file",
    yaml: oneExport("", {
      destination: "{ type: gcs, bucket: b, allow_anonymous: true, credentials_file: sa.json }",
    }),
    message: E +
      "destination.allow_anonymous cannot be combined with destination.credentials_file " +
      "(line 8, column 42). Remove one of them.",
  },
  {
    rule: "11",
    name: "a credentials_file that does not exist",
    yaml: oneExport("", { destination: "{ type: gcs, bucket: b, credentials_file: nope.json }" }),
    message: E +
      "destination.credentials_file 'nope.json' does not exist (looked at /cfg/nope.json) " +
      "(line 8, column 42). Point it at the service-account JSON file, or remove it to use " +
      "application default credentials.",
  },
  {
    rule: "12",
    name: "an anonymous Azure destination with an account key",
    yaml: oneExport("", {
      destination:
        "{ type: azure, bucket: c, account_name: a, allow_anonymous: true, account_key_env: K }",
    }),
    message: E +
      "destination.allow_anonymous cannot be combined with account_key_env (line 8, column 61). " +
      "Remove allow_anonymous or the credentials.",
  },
  {
    rule: "12",
    name: "an Azure destination with both account_key_env and sas_token_env",
    yaml: oneExport("", {
      destination:
        "{ type: azure, bucket: c, account_name: a, account_key_env: K, sas_token_env: S }",
    }),
    message: E +
      "destination.account_key_env and destination.sas_token_env cannot both be set " +
      "(line 8, column 81). Keep exactly one of them.",
  },
  {
    rule: "12",
    name: "an Azure destination without account_name",
    yaml: oneExport("", { destination: "{ type: azure, bucket: c, sas_token_env: S }" }),
    message: E +
      "an azure destination needs account_name (line 8, column 5). Add `account_name:` with the " +
      "storage account, or set `allow_anonymous: true`.",
  },
  {
    rule: "12",
    name: "an Azure destination without key or SAS",
    yaml: oneExport("", { destination: "{ type: azure, bucket: c, account_name: a }" }),
    message: E +
      "an azure destination needs account_key_env or sas_token_env (line 8, column 5). Name the " +
      "environment variable holding the account key or SAS token, or set " +
      "`allow_anonymous: true`.",
  },
  {
    rule: "13",
    name: "an unparsable max_file_size",
    yaml: oneExport("    max_file_size: 12 parsecs\n"),
    message: E +
      "max_file_size '12 parsecs' is not a usable size (line 9, column 5). Use a number greater " +
      'than zero with an optional unit B, KB, MB or GB (1024-based), e.g. "512MB" or "1.5 GB".',
  },
  {
    rule: "14",
    name: "a zstd compression_level above 22",
    yaml: oneExport("    compression_level: 23\n"),
    message: E +
      "compression_level 23 is out of range for zstd (line 9, column 5). Use 1..22, or remove " +
      "it for the default (1).",
  },
  {
    rule: "14",
    name: "a gzip compression_level above 10",
    yaml: oneExport("    compression: gzip\n    compression_level: 11\n"),
    message: E +
      "compression_level 11 is out of range for gzip (line 10, column 5). Use 0..10, or remove " +
      "it for the default (6).",
  },
  {
    rule: "14",
    name: "a compression_level for snappy",
    yaml: oneExport("    compression: snappy\n    compression_level: 1\n"),
    message: E +
      "compression_level is only supported for zstd and gzip, but compression is snappy " +
      "(line 10, column 5). Remove compression_level, or switch compression to zstd or gzip.",
  },
  {
    rule: "15",
    name: "incremental without cursor_column",
    yaml: oneExport("    mode: incremental\n"),
    message: E +
      "mode incremental needs cursor_column (line 9, column 5). Add `cursor_column:` naming a " +
      "column that only grows (e.g. updated_at or id).",
  },
  {
    rule: "15",
    name: "coalesce without cursor_fallback_column",
    yaml: oneExport(
      "    mode: incremental\n    cursor_column: a\n    incremental_cursor_mode: coalesce\n",
    ),
    message: E +
      "incremental_cursor_mode coalesce needs cursor_fallback_column (line 11, column 5). Add " +
      "`cursor_fallback_column:` (used where cursor_column is NULL).",
  },
  {
    rule: "15",
    name: "single_column with a fallback column",
    yaml: oneExport("    mode: incremental\n    cursor_column: a\n    cursor_fallback_column: b\n"),
    message: E +
      "cursor_fallback_column is only used with incremental_cursor_mode: coalesce " +
      "(line 11, column 5). Add `incremental_cursor_mode: coalesce`, or remove " +
      "cursor_fallback_column.",
  },
  {
    rule: "16",
    name: "chunked without chunk_column and without table",
    yaml: oneExport("    mode: chunked\n"),
    message: E +
      "mode chunked needs chunk_column, or `table:` so the key can be found from the primary key " +
      "(line 9, column 5). Add `chunk_column:` naming an integer column.",
  },
  {
    rule: "16",
    name: "chunk_size 0",
    yaml: oneExport("    mode: chunked\n    chunk_column: id\n    chunk_size: 0\n"),
    message: E +
      "chunk_size must be at least 1, got 0 (line 11, column 5). Set a positive value or remove " +
      "chunk_size.",
  },
  {
    rule: "16",
    name: "parallel 0",
    yaml: oneExport("    mode: chunked\n    chunk_column: id\n    parallel: 0\n"),
    message: E +
      "parallel must be at least 1, got 0 (line 11, column 5). Use 1 for sequential chunks.",
  },
  {
    rule: "16",
    name: "chunk_count 0",
    yaml: oneExport("    mode: chunked\n    chunk_column: id\n    chunk_count: 0\n"),
    message: E +
      "chunk_count must be at least 1, got 0 (line 11, column 5). Set a positive value or " +
      "remove chunk_count.",
  },
  {
    rule: "16",
    name: "chunk_count with chunk_dense",
    yaml: oneExport(
      "    mode: chunked\n    chunk_column: id\n    chunk_count: 4\n    chunk_dense: true\n",
    ),
    message: E +
      "chunk_count cannot be combined with chunk_dense (line 11, column 5). Keep one way of " +
      "splitting.",
  },
  {
    rule: "16",
    name: "chunk_count with chunk_by_days",
    yaml: oneExport(
      "    mode: chunked\n    chunk_column: d\n    chunk_count: 4\n    chunk_by_days: 7\n",
    ),
    message: E +
      "chunk_count cannot be combined with chunk_by_days (line 11, column 5). Keep one way of " +
      "splitting.",
  },
  {
    rule: "17",
    name: "time_window without time_column",
    yaml: oneExport("    mode: time_window\n    days_window: 7\n"),
    message: E +
      "mode time_window needs time_column (line 9, column 5). Add `time_column:` naming the " +
      "timestamp (or epoch seconds) column to filter on.",
  },
  {
    rule: "17",
    name: "time_window without days_window",
    yaml: oneExport("    mode: time_window\n    time_column: t\n"),
    message: E +
      "mode time_window needs days_window (line 9, column 5). Add `days_window:` with the " +
      "number of days to export.",
  },
  {
    rule: "18",
    name: "chunk_dense outside chunked",
    yaml: oneExport("    chunk_dense: true\n"),
    message: E +
      "chunk_dense is only valid with mode chunked, but mode is full (line 9, column 5). Set " +
      "`mode: chunked` or remove chunk_dense.",
  },
  {
    rule: "18",
    name: "chunk_by_days outside chunked",
    yaml: oneExport("    mode: incremental\n    cursor_column: a\n    chunk_by_days: 3\n"),
    message: E +
      "chunk_by_days is only valid with mode chunked, but mode is incremental (line 11, " +
      "column 5). Set `mode: chunked` or remove chunk_by_days.",
  },
  {
    rule: "18",
    name: "chunk_by_days with chunk_dense",
    yaml: oneExport(
      "    mode: chunked\n    chunk_column: d\n    chunk_by_days: 3\n    chunk_dense: true\n",
    ),
    message: E +
      "chunk_by_days cannot be combined with chunk_dense (line 11, column 5). Keep one way of " +
      "splitting.",
  },
  {
    rule: "18",
    name: "chunk_by_days 0",
    yaml: oneExport("    mode: chunked\n    chunk_column: d\n    chunk_by_days: 0\n"),
    message: E +
      "chunk_by_days must be at least 1, got 0 (line 11, column 5). Set a positive value or " +
      "remove chunk_by_days.",
  },
  {
    rule: "cloud",
    name: "an S3 destination without bucket",
    yaml: oneExport("", { destination: "{ type: s3, prefix: x/ }" }),
    message: E + "a s3 destination needs bucket (line 8, column 5). Add `bucket:`.",
  },
];

for (const c of cases) {
  Deno.test(`LoadConfig rejects ${c.name} (spec 3.9 rule ${c.rule})`, () => {
    const err = configErrorOf(() => loadConfig(c.yaml, fakeContext({ files })));
    assertEquals(err.message, c.message);
    assertEquals(err.exitClass, "config");
  });
}

Deno.test("LoadConfig never echoes the plaintext password in a validation error", () => {
  const yaml = "source:\n  type: mysql\n  host: h\n  user: u\n  password: hunter2\n" +
    "exports:\n  - name: orders\n    query: SELECT 'hunter2'\n    format: csv\n" +
    "    destination: { type: stdout }\n    mode: incremental\n";
  const err = configErrorOf(() => loadConfig(yaml, fakeContext()));
  assertEquals(err.message.includes("hunter2"), false);
  assertEquals(err.message.includes("SELECT"), false);
  assertEquals(err.message.startsWith(P + "2 problems:\n- source: the structured"), true);
});

Deno.test("LoadConfig warns instead of failing when compression_profile overrides compression_level", () => {
  const loaded = loadConfig(
    oneExport("    compression_profile: fast\n    compression_level: 99\n"),
    fakeContext(),
  );
  assertEquals(loaded.warnings, [{
    level: "warning",
    message: "export 'orders' (exports[0]): compression_level is ignored because " +
      "compression_profile 'fast' sets both codec and level (line 10, column 5).",
  }]);
});

Deno.test("LoadConfig warns that source.port is ignored with url_env", () => {
  const yaml = SRC + "  port: 6543\n" +
    "exports:\n  - name: orders\n    query: q\n    format: csv\n    destination: { type: stdout }\n";
  assertEquals(loadConfig(yaml, fakeContext()).warnings, [{
    level: "warning",
    message: "source.port is ignored when the connection comes from url, url_env or url_file; " +
      "put the port into the URL instead.",
  }]);
});

Deno.test("LoadConfig accepts chunked with table: and no chunk_column (auto-resolve at plan time)", () => {
  const loaded = loadConfig(
    oneExport("    mode: chunked\n", { query: "    table: t\n" }),
    fakeContext(),
  );
  assertEquals(loaded.config.exports[0]?.table, "t");
});

Deno.test("LoadConfig accepts max_file_size with decimals and a spaced unit", () => {
  const loaded = loadConfig(oneExport('    max_file_size: "1.5 gb"\n'), fakeContext());
  assertEquals(loaded.config.exports[0]?.max_file_size, "1.5 gb");
});
