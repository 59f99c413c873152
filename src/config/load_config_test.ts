// Tests of loadConfig: spec 3.1 pipeline, strict keys, substitution, query files, 3.10 examples (planning layer, pure).
import { assertEquals } from "./test_assert.ts";
import { loadConfig } from "./load_config.ts";
import { configErrorOf, fakeContext } from "./testing.ts";

const P = "config file 'rivet.yaml': ";
const SRC = "source:\n  type: postgres\n  url_env: DATABASE_URL\n";
const EXPORTS = "exports:\n  - name: orders\n    query: SELECT 1\n    format: parquet\n" +
  "    destination: { type: local, path: ./out }\n";
const UNKNOWN_TAIL =
  " Rename or remove it: unknown keys are rejected so that a typo never goes unnoticed.";

// --- 3.1 step 3: substitution -------------------------------------------------------------

Deno.test("LoadConfig substitutes --param values before environment variables", () => {
  const yaml = SRC + EXPORTS.replace("SELECT 1", "SELECT ${site} FROM ${TABLE}");
  const loaded = loadConfig(
    yaml,
    fakeContext({ params: { site: "42" }, env: { DATABASE_URL: "x", site: "7", TABLE: "t" } }),
  );
  assertEquals(loaded.config.exports[0]?.query, "SELECT 42 FROM t");
});

const substitutionCases: readonly {
  name: string;
  query: string;
  env: Record<string, string>;
  want: string;
}[] = [
  {
    name: "accepts an empty environment value",
    query: "a${EMPTY}b",
    env: { EMPTY: "" },
    want: "ab",
  },
  { name: "expands ${} to the empty string", query: "a${}b", env: {}, want: "ab" },
  { name: "leaves an unterminated ${ as it is", query: "a ${NOPE", env: {}, want: "a ${NOPE" },
  {
    name: "does not re-scan a substituted value (single pass)",
    query: "${OUTER}",
    env: { OUTER: "${INNER}" },
    want: "${INNER}",
  },
  {
    name: "substitutes several placeholders left to right",
    query: "${A}-${B}-${A}",
    env: { A: "1", B: "2" },
    want: "1-2-1",
  },
];
for (const c of substitutionCases) {
  Deno.test(`LoadConfig substitution ${c.name}`, () => {
    const yaml = SRC + EXPORTS.replace("SELECT 1", JSON.stringify(c.query));
    const loaded = loadConfig(yaml, fakeContext({ env: { DATABASE_URL: "x", ...c.env } }));
    assertEquals(loaded.config.exports[0]?.query, c.want);
  });
}

Deno.test("LoadConfig substitutes inside comments too, so a comment can need a variable", () => {
  const err = configErrorOf(() => loadConfig("# uses ${GONE}\n" + SRC + EXPORTS, fakeContext()));
  assertEquals(
    err.message,
    "environment variable 'GONE' referenced in config is not set (config file 'rivet.yaml', " +
      "line 1, column 8). Set it with `export GONE=...` or pass `--param GONE=...`; a missing " +
      "value is never replaced by an empty string.",
  );
});

Deno.test("LoadConfig rejects a missing variable instead of substituting an empty string", () => {
  const yaml = 'source:\n  type: postgres\n  url: "postgresql://u:${PW}@h/db"\n' + EXPORTS;
  const err = configErrorOf(() => loadConfig(yaml, fakeContext({ env: {} })));
  assertEquals(
    err.message,
    "environment variable 'PW' referenced in config is not set (config file 'rivet.yaml', " +
      "line 3, column 24). Set it with `export PW=...` or pass `--param PW=...`; a missing " +
      "value is never replaced by an empty string.",
  );
});

Deno.test("LoadConfig reports line and column of the raw file after a substitution on the same line", () => {
  const yaml = "source: { type: postgres, url_env: ${LONG_NAME_FOR_THE_URL_VAR}, hots: h }\n" +
    EXPORTS;
  const err = configErrorOf(() =>
    loadConfig(yaml, fakeContext({ env: { LONG_NAME_FOR_THE_URL_VAR: "U" } }))
  );
  assertEquals(
    err.message,
    P + "unknown key `hots` at `source.hots` (line 1, column 66). Did you mean `host`?" +
      UNKNOWN_TAIL,
  );
});

// --- 3.1 step 2: unused --param warnings ----------------------------------------------------

Deno.test("LoadConfig warns once per --param that no placeholder references", () => {
  const yaml = SRC + EXPORTS.replace("SELECT 1", "SELECT ${used}");
  const loaded = loadConfig(
    yaml,
    fakeContext({ params: { used: "1", unused: "2" }, env: { DATABASE_URL: "x" } }),
  );
  assertEquals(loaded.warnings, [{
    level: "warning",
    message: "--param 'unused' was not referenced in config file 'rivet.yaml' (no `${unused}` " +
      "placeholder in it or its query files); check the name for a typo.",
  }]);
});

Deno.test("LoadConfig counts a --param used only in a query_file as referenced", () => {
  const yaml = SRC + EXPORTS.replace("query: SELECT 1", "query_file: q.sql");
  const loaded = loadConfig(
    yaml,
    fakeContext({ files: { "/cfg/q.sql": "SELECT ${p}" }, params: { p: "9" } }),
  );
  assertEquals(loaded.warnings, []);
  assertEquals(loaded.queryFiles, { orders: "SELECT 9" });
});

// --- 3.1 step 4: misplaced tuning -----------------------------------------------------------

Deno.test("LoadConfig rejects tuning keys directly under source with the source.tuning guidance", () => {
  const yaml = SRC + "  batch_size: 5000\n  profile: safe\n" + EXPORTS;
  const err = configErrorOf(() => loadConfig(yaml, fakeContext()));
  assertEquals(
    err.message,
    P + "`batch_size`, `profile` are tuning settings but are set directly under `source:` " +
      "(line 4, column 3). Move them under `source.tuning:`, like this:\n\n" +
      "source:\n  tuning:\n    batch_size: 5000\n    profile: safe",
  );
});

Deno.test("LoadConfig rejects a tuning key directly on an export naming the export and index", () => {
  const yaml = SRC + EXPORTS + "    throttle_ms: 100\n";
  const err = configErrorOf(() => loadConfig(yaml, fakeContext()));
  assertEquals(
    err.message,
    P + "export 'orders' (exports[0]) sets `throttle_ms` directly on the export (line 9, " +
      "column 5), but it is a tuning setting that belongs under `exports[].tuning:`. Move it, " +
      "like this:\n\nexports:\n  - name: orders\n    tuning:\n      throttle_ms: 100",
  );
});

// --- YAML syntax ---------------------------------------------------------------------------

const malformed: readonly { name: string; yaml: string; message: string }[] = [
  {
    name: "an unclosed flow sequence",
    yaml: SRC + "exports: [\n",
    message: P + "malformed YAML at line 5, column 1: Flow sequence in block collection must be " +
      "sufficiently indented and end with a ]. " +
      "Fix the YAML syntax there (indent with spaces, close every bracket and quote, quote " +
      "values that contain ': ' or ' #').",
  },
  {
    name: "a duplicate key",
    yaml: SRC + "  type: mysql\n" + EXPORTS,
    message: P + "malformed YAML at line 4, column 3: Map keys must be unique. Fix the YAML " +
      "syntax there (indent with spaces, close every bracket and quote, quote values that " +
      "contain ': ' or ' #').",
  },
];
for (const c of malformed) {
  Deno.test(`LoadConfig rejects malformed YAML with line and column: ${c.name}`, () => {
    assertEquals(configErrorOf(() => loadConfig(c.yaml, fakeContext())).message, c.message);
  });
}

Deno.test("LoadConfig rejects an empty file and points to rivet init", () => {
  assertEquals(
    configErrorOf(() => loadConfig("# nothing\n", fakeContext())).message,
    P + "the file is empty. A config needs a `source:` block and an `exports:` list; run " +
      "`rivet init` to scaffold one.",
  );
});

Deno.test("LoadConfig rejects a top level that is not a mapping", () => {
  assertEquals(
    configErrorOf(() => loadConfig("- source\n", fakeContext())).message,
    P + "the top level must be a mapping with `source:` and `exports:` keys (line 1, column 1). " +
      "Start the file with a `source:` block and an `exports:` list; run `rivet init` to " +
      "scaffold one.",
  );
});

// --- 3.1 step 5: strict typed parse ---------------------------------------------------------

const unknownKeys: readonly { name: string; yaml: string; message: string }[] = [
  {
    name: "at the root",
    yaml: SRC + EXPORTS + "parallel_exprts: true\n",
    message: P + "unknown key `parallel_exprts` at `parallel_exprts` (line 9, column 1). " +
      "Did you mean `parallel_exports`?" + UNKNOWN_TAIL,
  },
  {
    name: "in source",
    yaml: SRC + "  databse: app\n" + EXPORTS,
    message: P + "unknown key `databse` at `source.databse` (line 4, column 3). Did you mean " +
      "`database`?" + UNKNOWN_TAIL,
  },
  {
    name: "in source.tls",
    yaml: SRC + "  tls: { mode: require, ca: x }\n" + EXPORTS,
    message: P + "unknown key `ca` at `source.tls.ca` (line 4, column 25). Did you mean " +
      "`ca_file`?" + UNKNOWN_TAIL,
  },
  {
    name: "in source.tuning",
    yaml: SRC + "  tuning: { batchsize: 10 }\n" + EXPORTS,
    message: P + "unknown key `batchsize` at `source.tuning.batchsize` (line 4, column 13). " +
      "Did you mean `batch_size`?" + UNKNOWN_TAIL,
  },
  {
    name: "in an export",
    yaml: SRC + EXPORTS + "    destinaton: x\n",
    message: P + "unknown key `destinaton` at `exports[0].destinaton` in export 'orders' " +
      "(line 9, column 5). Did you mean `destination`?" + UNKNOWN_TAIL,
  },
  {
    name: "in a destination",
    yaml: SRC + EXPORTS.replace("path: ./out", "pth: ./out"),
    message: P + "unknown key `pth` at `exports[0].destination.pth` (line 8, column 33). " +
      "Did you mean `path`?" + UNKNOWN_TAIL,
  },
  {
    name: "in meta_columns",
    yaml: SRC + EXPORTS + "    meta_columns: { exported: true }\n",
    message: P + "unknown key `exported` at `exports[0].meta_columns.exported` (line 9, " +
      "column 21). Did you mean `exported_at`?" + UNKNOWN_TAIL,
  },
  {
    name: "in quality",
    yaml: SRC + EXPORTS + "    quality: { row_count_minimum: 1 }\n",
    message: P + "unknown key `row_count_minimum` at `exports[0].quality.row_count_minimum` " +
      "(line 9, column 16). Did you mean `row_count_min`?" + UNKNOWN_TAIL,
  },
  {
    name: "in parquet",
    yaml: SRC + EXPORTS + "    parquet: { row_group_size: 1 }\n",
    message: P + "unknown key `row_group_size` at `exports[0].parquet.row_group_size` " +
      "(line 9, column 16). Did you mean `row_group_rows`?" + UNKNOWN_TAIL,
  },
  {
    name: "in notifications",
    yaml: SRC + EXPORTS + "notifications: { email: x }\n",
    message: P + "unknown key `email` at `notifications.email` (line 9, column 18). Allowed " +
      "keys in `notifications`: slack." + UNKNOWN_TAIL,
  },
  {
    name: "in slack",
    yaml: SRC + EXPORTS + "notifications:\n  slack: { webhook: x }\n",
    message: P + "unknown key `webhook` at `notifications.slack.webhook` (line 10, column 12). " +
      "Did you mean `webhook_url_env`?" + UNKNOWN_TAIL,
  },
];
for (const c of unknownKeys) {
  Deno.test(`LoadConfig rejects an unknown key ${c.name} with did-you-mean and line:column`, () => {
    assertEquals(configErrorOf(() => loadConfig(c.yaml, fakeContext())).message, c.message);
  });
}

const typeErrors: readonly { name: string; yaml: string; message: string }[] = [
  {
    name: "an invalid mode",
    yaml: SRC + EXPORTS + "    mode: gibberish\n",
    message: P + "`exports[0].mode` in export 'orders' has the invalid value \"gibberish\" " +
      "(line 9, column 11). Allowed values: full, incremental, chunked, time_window.",
  },
  {
    name: "an invalid format",
    yaml: SRC + EXPORTS.replace("format: parquet", "format: avro"),
    message: P + "`exports[0].format` in export 'orders' has the invalid value \"avro\" " +
      "(line 7, column 13). Allowed values: parquet, csv.",
  },
  {
    name: "an invalid source type",
    yaml: SRC.replace("postgres", "oracle") + EXPORTS,
    message: P + '`source.type` has the invalid value "oracle" (line 2, column 9). Allowed ' +
      "values: postgres, mysql.",
  },
  {
    name: "an invalid slack trigger in a list",
    yaml: SRC + EXPORTS + "notifications:\n  slack: { on: [failure, crash] }\n",
    message: P + '`notifications.slack.on[1]` has the invalid value "crash" (line 10, ' +
      "column 26). Allowed values: failure, schema_change, degraded.",
  },
  {
    name: "a quoted number",
    yaml: SRC + EXPORTS + '    chunk_size: "1000"\n',
    message: P + "`exports[0].chunk_size` in export 'orders' must be a whole number of at " +
      'least 0, but got text "1000" (line 9, column 17). Write it as a plain number, without ' +
      "quotes.",
  },
  {
    name: "a fractional integer",
    yaml: SRC + "  tuning: { batch_size: 2.5 }\n" + EXPORTS,
    message: P + "`source.tuning.batch_size` must be a whole number of at least 1, but got 2.5 " +
      "(line 4, column 25).",
  },
  {
    name: "a port out of range",
    yaml: "source:\n  type: mysql\n  host: h\n  user: u\n  database: d\n  port: 70000\n" + EXPORTS,
    message: P + "`source.port` must be a whole number between 1 and 65535, but got 70000 " +
      "(line 6, column 9).",
  },
  {
    name: "yes as a boolean",
    yaml: SRC + EXPORTS + "    skip_empty: yes\n",
    message: P + "`exports[0].skip_empty` in export 'orders' must be true or false, but got " +
      'text "yes" (line 9, column 17). Write true or false (yes/no/on/off are text in YAML 1.2).',
  },
  {
    name: "a list where a mapping belongs",
    yaml: SRC + EXPORTS + "    quality: [a]\n",
    message: P + "`exports[0].quality` in export 'orders' must be a mapping of indented " +
      "`key: value` lines, but got a list (line 9, column 14).",
  },
  {
    name: "a null ratio above 1",
    yaml: SRC + EXPORTS + "    quality: { null_ratio_max: { id: 1.5 } }\n",
    message: P + "`exports[0].quality.null_ratio_max.id` in export 'orders' must be a number " +
      "between 0 and 1, but got 1.5 (line 9, column 38).",
  },
  {
    name: "a missing required format",
    yaml: SRC + EXPORTS.replace("    format: parquet\n", ""),
    message: P + "`exports[0]` in export 'orders' is missing the required key `format` (line 5, " +
      "column 5). Add `format:` with one of: parquet, csv.",
  },
  {
    name: "a missing destination type",
    yaml: SRC + EXPORTS.replace("type: local, ", ""),
    message: P + "`exports[0].destination` is missing the required key `type` (line 8, " +
      "column 18). Add `type:` with one of: local, s3, gcs, azure, stdout.",
  },
  {
    name: "a missing source",
    yaml: EXPORTS,
    message: P + "the config file is missing the required key `source` (line 1, column 1). " +
      "Add a `source:` block (`rivet schema config` lists its keys).",
  },
  {
    name: "a missing exports list",
    yaml: SRC,
    message: P + "the config file is missing the required key `exports` (line 1, column 1). " +
      "Add an `exports:` list.",
  },
  {
    name: "a password of the wrong type without showing it",
    yaml: "source:\n  type: mysql\n  host: h\n  user: u\n  database: d\n  password: [hunter2]\n" +
      EXPORTS,
    message: P + "`source.password` must be text, but got a list (line 6, column 13).",
  },
];
for (const c of typeErrors) {
  Deno.test(`LoadConfig rejects ${c.name} with the path, line:column and what is allowed`, () => {
    assertEquals(configErrorOf(() => loadConfig(c.yaml, fakeContext())).message, c.message);
  });
}

Deno.test("LoadConfig keeps a plain numeric password exactly as written", () => {
  const yaml = "source:\n  type: mysql\n  host: h\n  user: u\n  database: d\n  password: 0123\n" +
    EXPORTS;
  assertEquals(loadConfig(yaml, fakeContext()).config.source.password, "0123");
});

Deno.test("LoadConfig follows YAML anchors and aliases", () => {
  const yaml = SRC + "exports:\n" +
    "  - name: a\n    query: q\n    format: csv\n    destination: &dest { type: local, path: /o }\n" +
    "  - name: b\n    query: q\n    format: csv\n    destination: *dest\n";
  const loaded = loadConfig(yaml, fakeContext());
  assertEquals(loaded.config.exports[1]?.destination, { type: "local", path: "/o" });
});

Deno.test("LoadConfig never echoes a substituted secret or URL userinfo in an error", () => {
  const yaml = 'source:\n  type: postgres\n  url: "postgresql://app:${DB_PASSWORD}@h/db"\n' +
    '  tuning: { batch_size: "${DB_PASSWORD}" }\n' + EXPORTS;
  const err = configErrorOf(() =>
    loadConfig(yaml, fakeContext({ env: { DB_PASSWORD: "Tr0ub4dor" } }))
  );
  assertEquals(
    err.message,
    P + "`source.tuning.batch_size` must be a whole number of at least 1, but got text " +
      '"REDACTED" (line 4, column 25). Write it as a plain number, without quotes.',
  );
});

// --- query_file -----------------------------------------------------------------------------

const QF = SRC + EXPORTS.replace("query: SELECT 1", "query_file: sql/q.sql");

Deno.test("LoadConfig reads and substitutes query_file relative to the config directory", () => {
  const loaded = loadConfig(
    QF,
    fakeContext({
      files: { "/cfg/sql/q.sql": "SELECT * FROM t WHERE d > '${SINCE}'" },
      env: { SINCE: "2024-01-01" },
    }),
  );
  assertEquals(loaded.queryFiles, { orders: "SELECT * FROM t WHERE d > '2024-01-01'" });
});

Deno.test("LoadConfig rejects a missing query_file", () => {
  assertEquals(
    configErrorOf(() => loadConfig(QF, fakeContext())).message,
    P + "export 'orders' (exports[0]): query_file 'sql/q.sql' was not found (looked at " +
      "/cfg/sql/q.sql; line 6, column 5). Create the file or fix the path; it is relative to " +
      "the config file's directory.",
  );
});

Deno.test("LoadConfig rejects a query_file symlink that resolves outside the config directory", () => {
  const ctx = fakeContext({
    files: { "/etc/secret.sql": "SELECT 1" },
    symlinks: { "/cfg/sql/q.sql": "/etc/secret.sql" },
  });
  assertEquals(
    configErrorOf(() => loadConfig(QF, ctx)).message,
    P + "export 'orders' (exports[0]): query_file 'sql/q.sql' resolves to /etc/secret.sql, " +
      "outside the config directory /cfg (line 6, column 5). Query files must live inside the " +
      "config directory; copy the file there instead of linking to it.",
  );
});

Deno.test("LoadConfig rejects a variable missing in a query_file, naming the file", () => {
  const ctx = fakeContext({ files: { "/cfg/sql/q.sql": "SELECT 1\nWHERE x = ${NOPE}" } });
  assertEquals(
    configErrorOf(() => loadConfig(QF, ctx)).message,
    "environment variable 'NOPE' referenced in config is not set (query_file 'sql/q.sql' of " +
      "export 'orders' (exports[0]), line 2, column 11). Set it with `export NOPE=...` or pass " +
      "`--param NOPE=...`; a missing value is never replaced by an empty string.",
  );
});

// --- result ---------------------------------------------------------------------------------

Deno.test("LoadConfig returns a deeply frozen result with path and dir", () => {
  const loaded = loadConfig(SRC + EXPORTS, fakeContext());
  assertEquals(loaded.path, "rivet.yaml");
  assertEquals(loaded.dir, "/cfg");
  assertEquals(Object.isFrozen(loaded), true);
  assertEquals(Object.isFrozen(loaded.config.exports[0]?.destination), true);
  assertEquals(loaded.config, {
    source: { type: "postgres", url_env: "DATABASE_URL" },
    exports: [{
      name: "orders",
      query: "SELECT 1",
      format: "parquet",
      destination: { type: "local", path: "./out" },
    }],
  });
});

// --- spec 3.10 examples ---------------------------------------------------------------------

const EXAMPLE_A = `source:
  type: postgres
  url_env: APP_DB_URL
  environment: production          # default profile balanced
  tls: { mode: verify-full, ca_file: /etc/ssl/certs/db-ca.pem }
  tuning:
    batch_size: 5000
    max_batch_memory_mb: 128
    on_batch_memory_exceeded: auto_shrink

exports:
  - name: invoices_delta
    query: >
      SELECT id, customer_id, total, status, created_at, modified_at
      FROM billing.invoices
      WHERE status <> 'draft'
    mode: incremental
    cursor_column: modified_at
    cursor_fallback_column: created_at
    incremental_cursor_mode: coalesce
    format: parquet
    compression_profile: balanced      # zstd level 3
    skip_empty: true
    columns:
      total: decimal(14,2)             # query is not a plain single-table SELECT
    meta_columns: { exported_at: true, row_hash: true }
    quality:
      null_ratio_max: { customer_id: 0.0 }
      unique_columns: [id]
      unique_max_entries: 2000000
    on_schema_drift: fail
    destination:
      type: local
      path: /data/lake/{export}/{date}
`;

const EXAMPLE_B = `source:
  type: mysql
  host: mysql.internal
  user: extractor
  password_env: MYSQL_PWD_EXTRACT
  database: shop
  tuning: { profile: safe, adaptive: true, min_parallel: 2 }

exports:
  - name: order_lines
    table: shop.order_lines
    mode: chunked
    chunk_column: id
    chunk_size: 250000
    parallel: 4
    chunk_checkpoint: true
    chunk_max_attempts: 4
    format: parquet
    compression: zstd
    compression_level: 6
    parquet: { row_group_strategy: auto, target_row_group_mb: 64 }
    verify: content
    destination:
      type: s3
      bucket: raw-zone
      prefix: mysql/order_lines/{date}/
      region: us-east-1
      endpoint: http://minio:9000
      access_key_env: MINIO_KEY
      secret_key_env: MINIO_SECRET
`;

const EXAMPLE_C = `source:
  type: postgres
  url: "postgresql://reporter:\${REPORTER_PW}@pg.internal:5432/analytics"
  tls: { mode: require }

exports:
  - name: pageviews
    query: "SELECT id, path, user_agent, viewed_at FROM public.pageviews WHERE site_id = \${site}"
    mode: full
    partition_by: viewed_at
    partition_granularity: month
    format: csv
    max_file_size: "512MB"
    destination:
      type: local
      path: ./export/pageviews/{partition}     # → viewed_at=2024-03/, viewed_at=__HIVE_DEFAULT_PARTITION__/
`;

const EXAMPLE_D = `source:
  type: postgres
  url_file: /run/secrets/pg_url
  tuning: { profile: fast }

notifications:
  slack:
    webhook_url_env: SLACK_HOOK
    on: [failure, schema_change]

exports:
  - name: recent_logins
    query: "SELECT user_id, ip, login_epoch FROM auth.logins"
    mode: time_window
    time_column: login_epoch
    time_column_type: unix
    days_window: 7
    format: parquet
    compression: snappy
    destination: { type: gcs, bucket: ops-exports, prefix: "logins/{date}/" }

  - name: documents
    table: content.documents          # PK is a UUID
    mode: chunked
    chunk_by_key: doc_id              # unique, NOT NULL, single-column index required
    chunk_size: 20000                 # rows per page
    format: parquet
    destination: { type: local, path: ./export/documents }
`;

Deno.test("LoadConfig loads spec example A (incremental coalesce, quality, lineage)", () => {
  const { config, warnings } = loadConfig(EXAMPLE_A, fakeContext({ env: {} }));
  assertEquals(warnings, []);
  const e = config.exports[0];
  assertEquals(config.source.tuning, {
    batch_size: 5000,
    max_batch_memory_mb: 128,
    on_batch_memory_exceeded: "auto_shrink",
  });
  assertEquals(
    e?.query,
    "SELECT id, customer_id, total, status, created_at, modified_at " +
      "FROM billing.invoices WHERE status <> 'draft'\n",
  );
  assertEquals(e?.columns, { total: "decimal(14,2)" });
  assertEquals(e?.quality?.null_ratio_max, { customer_id: 0 });
  assertEquals(e?.meta_columns, { exported_at: true, row_hash: true });
});

Deno.test("LoadConfig loads spec example B (MySQL chunked to S3)", () => {
  const { config } = loadConfig(EXAMPLE_B, fakeContext({ env: {} }));
  assertEquals(config.source.tuning, { profile: "safe", adaptive: true, min_parallel: 2 });
  assertEquals(config.exports[0]?.destination.access_key_env, "MINIO_KEY");
  assertEquals(config.exports[0]?.parquet, { row_group_strategy: "auto", target_row_group_mb: 64 });
});

Deno.test("LoadConfig loads spec example C with its password variable and --param site", () => {
  const { config, warnings } = loadConfig(
    EXAMPLE_C,
    fakeContext({ env: { REPORTER_PW: "pw-123" }, params: { site: "42" } }),
  );
  assertEquals(warnings, []);
  assertEquals(config.source.url, "postgresql://reporter:pw-123@pg.internal:5432/analytics");
  assertEquals(
    config.exports[0]?.query,
    "SELECT id, path, user_agent, viewed_at FROM public.pageviews WHERE site_id = 42",
  );
  assertEquals(config.exports[0]?.max_file_size, "512MB");
});

Deno.test("LoadConfig loads spec example D (time window and keyset)", () => {
  const { config } = loadConfig(EXAMPLE_D, fakeContext({ env: {} }));
  assertEquals(config.notifications, {
    slack: { webhook_url_env: "SLACK_HOOK", on: ["failure", "schema_change"] },
  });
  assertEquals(config.exports.map((e) => e.name), ["recent_logins", "documents"]);
  assertEquals(config.exports[1]?.chunk_by_key, "doc_id");
});

Deno.test("LoadConfig explains that a path template inside a flow mapping must be quoted", () => {
  const text = "source: { type: postgres, url_env: U }\nexports:\n" +
    "  - { name: a, table: t, format: csv, destination: { type: local, path: ./out/{export} } }\n";
  const err = configErrorOf(() => loadConfig(text, fakeContext({ env: { U: "postgres://h/db" } })));
  assertEquals(err.message.includes('quote the value, e.g. `path: "./out/{export}"`'), true);
});
