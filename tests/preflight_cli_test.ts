// End-to-end tests of `rivet doctor`, `check`, `init` and `completions` through the CLI against the real databases.
// Until src/cli/cli.ts registers these commands, the tests run a copy of cli.ts/main.ts with the four registrations added.
import assert from "node:assert/strict";
import * as path from "node:path";
import { repoRoot, rivetPermissionFlags } from "./helpers/cli.ts";
import { MYSQL_URL, mysqlExec, PG_URL, pgExec } from "./helpers/db.ts";
import { startRejectingPgServer } from "./helpers/pg_fake_auth_server.ts";
import { loadConfig } from "../src/config/load_config.ts";
import { modeLabel } from "../src/plan/build_plan.ts";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let driverPath: string | undefined;

/** A copy of src/main.ts + src/cli/cli.ts that also registers check, doctor, init and completions. */
async function driver(): Promise<string> {
  if (driverPath) return driverPath;
  const dir = await Deno.makeTempDir({ prefix: "rivet_pf_driver_" });
  const src = (p: string) => `file://${path.join(repoRoot, "src", p)}`;
  let cli = await Deno.readTextFile(path.join(repoRoot, "src/cli/cli.ts"));
  cli = cli.replace(/from "\.\/([^"]+)"/g, (_m, f) => `from "${src("cli/" + f)}"`)
    .replace(/from "\.\.\/([^"]+)"/g, (_m, f) => `from "${src(f)}"`);
  const extra: [string, string][] = [
    ["registerCheck", "check_cli.ts"],
    ["registerDoctor", "doctor_cli.ts"],
    ["registerInit", "init_cli.ts"],
    ["registerCompletions", "completions_cli.ts"],
  ];
  for (const [fn, file] of extra) {
    if (!cli.includes(`${fn}(`)) {
      cli = `import { ${fn} } from "${src("cli/" + file)}";\n` + cli;
      cli = cli.replace(
        "  registerRun(program, setExit);",
        `  registerRun(program, setExit);\n  ${fn}(program, setExit);`,
      );
    }
  }
  await Deno.writeTextFile(path.join(dir, "cli.ts"), cli);
  const main = (await Deno.readTextFile(path.join(repoRoot, "src/main.ts")))
    .replace('"./cli/cli.ts"', '"./cli.ts"')
    .replace(/from "\.\/([^"]+)"/g, (m, f) => f === "cli.ts" ? m : `from "${src(f)}"`);
  await Deno.writeTextFile(path.join(dir, "main.ts"), main);
  driverPath = path.join(dir, "main.ts");
  return driverPath;
}

async function rivet(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      path.join(repoRoot, "deno.json"),
      ...rivetPermissionFlags(),
      await driver(),
      ...args,
    ],
    cwd: opts.cwd ?? repoRoot,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...(opts.env ?? {}) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function writeConfig(yaml: string): Promise<{ dir: string; cfg: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_pf_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(cfg, yaml);
  return { dir, cfg };
}

// ── doctor ──────────────────────────────────────────────────────────────────────────────────

Deno.test("rivet doctor passes on a reachable PostgreSQL and a writable directory, and removes its probe", async () => {
  const { dir, cfg } = await writeConfig(`source:
  type: postgres
  url_env: PF_URL
exports:
  - name: a
    query: "SELECT 1 AS x"
    format: csv
    destination: { type: local, path: "./out/{export}" }
  - name: b
    query: "SELECT 1 AS x"
    format: csv
    destination: { type: stdout }
`);
  const r = await rivet(["doctor", "-c", cfg], { cwd: dir, env: { PF_URL: PG_URL } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^rivet doctor: verifying auth for config /);
  assert.match(r.stdout, /\[OK\] {2}Config parsed successfully/);
  assert.match(r.stdout, /\[OK\] {2}Source auth \(Postgres\)/);
  assert.match(r.stdout, /\[OK\] {2}Destination Local\(\.\/out\/a\)/);
  assert.doesNotMatch(r.stdout, /stdout/i); // stdout destinations are skipped
  assert.match(r.stdout, /All checks passed\.\n$/);
  const left = [...Deno.readDirSync(path.join(dir, "out/a"))].map((e) => e.name);
  assert.deepEqual(left, []);
});

Deno.test("rivet doctor reports a rejected MySQL password as an auth error without printing it, and exits 1", async () => {
  const url = new URL(MYSQL_URL);
  url.password = "rivet_pf_wrong_pw";
  const { dir, cfg } = await writeConfig(`source:
  type: mysql
  url_env: PF_URL
exports:
  - name: a
    query: "SELECT 1"
    format: csv
    destination: { type: local, path: "./out" }
`);
  const r = await rivet(["doctor", "-c", cfg], { cwd: dir, env: { PF_URL: url.toString() } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /\[FAIL\] Source auth error: .*1045/);
  assert.match(r.stdout, /Hint: check the user name and password/);
  assert.match(r.stdout, /\[OK\] {2}Destination Local\(\.\/out\)/);
  assert.match(r.stdout, /Some checks failed\. Fix the issues above before running exports\./);
  assert.doesNotMatch(r.stdout + r.stderr, /rivet_pf_wrong_pw/);
});

Deno.test("rivet doctor classifies a PostgreSQL 28P01 login failure as an auth error", async () => {
  const server = startRejectingPgServer();
  try {
    const { dir, cfg } = await writeConfig(`source:
  type: postgres
  url_env: PF_URL
exports:
  - name: a
    query: "SELECT 1"
    format: csv
    destination: { type: stdout }
`);
    const r = await rivet(["doctor", "-c", cfg, "--json"], {
      cwd: dir,
      env: { PF_URL: `postgres://rivet:topsecret99@127.0.0.1:${server.port}/db?sslmode=disable` },
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      checks: { label: string; category?: string }[];
    };
    assert.equal(report.ok, false);
    const src = report.checks.find((c) => c.label === "Source auth (Postgres)");
    assert.equal(src?.category, "auth error");
    assert.doesNotMatch(r.stdout + r.stderr, /topsecret99/);
  } finally {
    await server.stop();
  }
});

Deno.test("rivet doctor fails a destination whose path runs through a file, and a connection refused", async () => {
  const { dir, cfg } = await writeConfig(`source:
  type: postgres
  url_env: PF_URL
exports:
  - name: a
    query: "SELECT 1"
    format: csv
    destination: { type: local, path: "./blocker/out" }
`);
  await Deno.writeTextFile(path.join(dir, "blocker"), "a file, not a directory");
  const r = await rivet(["doctor", "-c", cfg], {
    cwd: dir,
    env: { PF_URL: "postgres://postgres@127.0.0.1:1/test" },
  });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /\[FAIL\] Source connectivity error: /);
  assert.match(r.stdout, /\[FAIL\] Destination Local\(\.\/blocker\/out\) -- path not found: /);
});

Deno.test("rivet doctor prints a config error and exits 1 when the YAML is invalid", async () => {
  const { dir, cfg } = await writeConfig("source: { type: postgres, url_env: X }\nexports: nope\n");
  const r = await rivet(["doctor", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /\[FAIL\] Config error: /);
  assert.doesNotMatch(r.stdout, /Source auth/);
});

// ── check ───────────────────────────────────────────────────────────────────────────────────

const CHK = "rivet_pf_check_orders";

async function seedCheckTable(): Promise<void> {
  await pgExec(
    `DROP TABLE IF EXISTS ${CHK}`,
    `CREATE TABLE ${CHK} (id bigint PRIMARY KEY, batch_no int NOT NULL, total numeric(12,2),
       ratio double precision, doc jsonb, ref uuid, placed_at timestamptz)`,
    `INSERT INTO ${CHK} SELECT g, g % 1000, g * 1.25, g / 7.0, jsonb_build_object('g', g),
       md5(g::text)::uuid, timestamptz '2024-01-01' + g * interval '1 minute'
       FROM generate_series(1, 20000) g`,
    `ANALYZE ${CHK}`,
  );
}

interface CheckJson {
  export: string;
  verdict: string;
  indexed: boolean;
  row_estimate: number;
  cursor_range: { min: string; max: string } | null;
  suggestions: string[];
  types: {
    column: string;
    source_type: string;
    rivet_type: string;
    arrow_type: string;
    fidelity: string;
  }[];
}

Deno.test("rivet check rates an indexed cursor EFFICIENT and a non-indexed one DEGRADED with an index suggestion", async () => {
  await seedCheckTable();
  const { dir, cfg } = await writeConfig(`source:
  type: postgres
  url_env: PF_URL
exports:
  - name: by_id
    table: ${CHK}
    mode: incremental
    cursor_column: id
    format: parquet
    destination: { type: local, path: "./out" }
  - name: by_batch
    table: ${CHK}
    mode: incremental
    cursor_column: batch_no
    format: parquet
    destination: { type: local, path: "./out" }
`);
  const r = await rivet(["check", "-c", cfg, "--json"], { cwd: dir, env: { PF_URL: PG_URL } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const [byId, byBatch] = JSON.parse(r.stdout) as CheckJson[];
  assert.equal(byId!.verdict, "EFFICIENT");
  assert.equal(byId!.indexed, true);
  assert.deepEqual(byId!.cursor_range, { min: "1", max: "20000" });
  assert.ok(byId!.row_estimate > 15_000 && byId!.row_estimate < 25_000, String(byId!.row_estimate));
  assert.equal(byBatch!.verdict, "DEGRADED");
  assert.equal(byBatch!.indexed, false);
  assert.match(
    byBatch!.suggestions.join("\n"),
    /CREATE INDEX ON rivet_pf_check_orders \(batch_no\)/,
  );

  const human = await rivet(["check", "-c", cfg, "-e", "by_batch"], {
    cwd: dir,
    env: { PF_URL: PG_URL },
  });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /Export: by_batch\n {2}Strategy: {5}incremental\(batch_no\)/);
  assert.match(human.stdout, / {2}Verdict: {6}DEGRADED/);
  assert.match(human.stdout, / {2}Cursor range: 0 \.\. 999/);
  assert.doesNotMatch(human.stdout, /Export: by_id/);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.deepEqual(files, ["rivet.yaml"]); // read-only: no output, no state database
});

Deno.test("rivet check --type-report maps numeric, float, json and uuid columns through the PostgreSQL source", async () => {
  await seedCheckTable();
  const { dir, cfg } = await writeConfig(`source:
  type: postgres
  url_env: PF_URL
exports:
  - name: types
    query: "SELECT total, ratio, doc, ref, placed_at FROM ${CHK}"
    format: parquet
    destination: { type: local, path: "./out" }
`);
  const r = await rivet(["check", "-c", cfg, "--strict", "--json"], {
    cwd: dir,
    env: { PF_URL: PG_URL },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const [c] = JSON.parse(r.stdout) as CheckJson[];
  const row = (n: string) => c!.types.find((t) => t.column === n);
  assert.deepEqual(row("total"), {
    column: "total",
    source_type: "numeric(12,2)",
    rivet_type: "decimal(12,2)",
    arrow_type: "Decimal128(12, 2)",
    fidelity: "exact",
  });
  assert.equal(row("ratio")?.rivet_type, "float64");
  assert.equal(row("doc")?.rivet_type, "json");
  assert.equal(row("doc")?.fidelity, "logical_string");
  assert.equal(row("ref")?.rivet_type, "uuid");
  assert.equal(row("placed_at")?.arrow_type, "Timestamp(us, UTC)");

  const table = await rivet(["check", "-c", cfg, "--type-report"], {
    cwd: dir,
    env: { PF_URL: PG_URL },
  });
  assert.match(table.stdout, /Column +Source type +Rivet type +Arrow type +Fidelity/);
  assert.match(table.stdout, /ref +uuid +uuid +Utf8 +logical_string/);
});

Deno.test("rivet check --strict exits 1 on a lossy MySQL FLOAT column and names it", async () => {
  const t = "rivet_pf_strict_float";
  await mysqlExec(
    `DROP TABLE IF EXISTS ${t}`,
    `CREATE TABLE ${t} (id BIGINT PRIMARY KEY, amount DECIMAL(10,2), ratio FLOAT)`,
    `INSERT INTO ${t} VALUES (1, 1.50, 0.5), (2, 2.25, 0.25)`,
  );
  const { dir, cfg } = await writeConfig(`source:
  type: mysql
  url_env: PF_URL
exports:
  - name: floats
    table: ${t}
    format: parquet
    destination: { type: local, path: "./out" }
`);
  const strict = await rivet(["check", "-c", cfg, "--strict"], {
    cwd: dir,
    env: { PF_URL: MYSQL_URL },
  });
  assert.equal(strict.code, 1, strict.stdout + strict.stderr);
  assert.match(strict.stdout, /ratio +float +float32 +Float32 +lossy ✗/);
  assert.match(strict.stdout, /Strict: 1 column\(s\) would lose data: floats\.ratio \(lossy\)/);
  const plain = await rivet(["check", "-c", cfg, "--type-report"], {
    cwd: dir,
    env: { PF_URL: MYSQL_URL },
  });
  assert.equal(plain.code, 0, plain.stdout + plain.stderr);
  assert.match(plain.stdout, /Scan type: +ALL/);
});

// ── init ────────────────────────────────────────────────────────────────────────────────────

const INIT_SCHEMA = "rivet_pf_init";

async function seedInitSchema(): Promise<void> {
  await pgExec(
    `DROP SCHEMA IF EXISTS ${INIT_SCHEMA} CASCADE`,
    `CREATE SCHEMA ${INIT_SCHEMA}`,
    `CREATE TABLE ${INIT_SCHEMA}.big_orders (id bigint PRIMARY KEY, total numeric(12,2), note text)`,
    `INSERT INTO ${INIT_SCHEMA}.big_orders SELECT g, g * 0.5, 'n' FROM generate_series(1, 150000) g`,
    `CREATE TABLE ${INIT_SCHEMA}.events (uid uuid PRIMARY KEY, kind text,
       created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`,
    `CREATE INDEX ON ${INIT_SCHEMA}.events (updated_at)`,
    `INSERT INTO ${INIT_SCHEMA}.events SELECT md5(g::text)::uuid, 'k',
       timestamptz '2024-01-01' + g * interval '1 second', timestamptz '2024-01-01' + g * interval '1 second'
       FROM generate_series(1, 120000) g`,
    `CREATE TABLE ${INIT_SCHEMA}.countries (code text PRIMARY KEY, name text, rate numeric)`,
    `INSERT INTO ${INIT_SCHEMA}.countries VALUES ('FR', 'France', 0.2), ('DE', 'Germany', 0.19)`,
    `CREATE VIEW ${INIT_SCHEMA}.country_names AS SELECT code, name FROM ${INIT_SCHEMA}.countries`,
    `ANALYZE ${INIT_SCHEMA}.big_orders`,
    `ANALYZE ${INIT_SCHEMA}.events`,
    `ANALYZE ${INIT_SCHEMA}.countries`,
  );
}

Deno.test("rivet init scaffolds a config that loads, picks chunked/incremental/full per table and runs", async () => {
  await seedInitSchema();
  const dir = await Deno.makeTempDir({ prefix: "rivet_pf_init_" });
  const out = path.join(dir, "rivet.yaml");
  const r = await rivet(
    ["init", "--source-env", "PF_URL", "--schema", INIT_SCHEMA, "-o", out],
    { cwd: dir, env: { PF_URL: PG_URL } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Wrote .*rivet\.yaml: 4 export\(s\)/);
  const yaml = await Deno.readTextFile(out);
  assert.ok(!yaml.includes(PG_URL), "the literal URL must not be written");
  assert.match(yaml, /url_env: DATABASE_URL/);
  assert.match(yaml, /# [^\n]*integer column 'id' \(primary key\)\n\s+mode: chunked/);
  assert.match(yaml, /rate: decimal\(38,18\) # REVIEW:/);
  assert.match(yaml, /total: decimal\(12,2\)/);

  const loaded = loadConfig(yaml, {
    path: out,
    dir,
    params: {},
    env: { DATABASE_URL: PG_URL },
    readTextFile: () => undefined,
    realPath: (p) => p,
    fileExists: () => false,
  });
  const modes = Object.fromEntries(loaded.config.exports.map((e) => [e.name, modeLabel(e)]));
  assert.deepEqual(modes, {
    rivet_pf_init_big_orders: "chunked",
    rivet_pf_init_countries: "full",
    rivet_pf_init_country_names: "full",
    rivet_pf_init_events: "incremental",
  });
  const events = loaded.config.exports.find((e) => e.name === "rivet_pf_init_events")!;
  assert.equal(events.cursor_column, "updated_at");
  const big = loaded.config.exports.find((e) => e.name === "rivet_pf_init_big_orders")!;
  assert.equal(big.chunk_column, "id");
  assert.equal(big.chunk_size, 100_000);
  assert.equal(big.chunk_checkpoint, true);

  const run = await rivet(["run", "-c", out, "-e", "rivet_pf_init_countries"], {
    cwd: dir,
    env: { DATABASE_URL: PG_URL },
  });
  assert.equal(run.code, 0, run.stderr);
  const written = [...Deno.readDirSync(path.join(dir, "output/rivet_pf_init_countries"))]
    .map((e) => e.name).filter((n) => n.endsWith(".parquet"));
  assert.equal(written.length, 1);
});

Deno.test("rivet init --discover writes a JSON artifact with estimates and candidates", async () => {
  await seedInitSchema();
  const r = await rivet(
    ["init", "--source-env", "PF_URL", "--table", `${INIT_SCHEMA}.events`, "--discover"],
    { env: { PF_URL: PG_URL } },
  );
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout) as { tables: Record<string, unknown>[] };
  assert.equal(a.tables.length, 1);
  const t = a.tables[0]!;
  assert.equal(t.table, "events");
  assert.equal(t.suggested_mode, "incremental");
  const cands = t.cursor_candidates as { column: string; indexed: boolean }[];
  assert.equal(cands[0]!.column, "updated_at");
  assert.equal(cands[0]!.indexed, true);
  assert.ok((t.total_bytes as number) > 0);
});

Deno.test("rivet init refuses an unset --source-env (exit 1) and two source flags (exit 2)", async () => {
  const unset = await rivet(["init", "--source-env", "RIVET_PF_NOT_SET"]);
  assert.equal(unset.code, 1);
  assert.match(unset.stderr, /--source-env 'RIVET_PF_NOT_SET' is not set in the environment/);
  const both = await rivet(["init", "--source", PG_URL, "--source-env", "X"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /exactly one of --source/);
});

Deno.test("rivet completions bash prints a script that registers _rivet; an unknown shell is a usage error", async () => {
  const r = await rivet(["completions", "bash"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /complete -o default -F _rivet rivet/);
  assert.match(r.stdout, /"doctor"\) words=/);
  const bad = await rivet(["completions", "tcsh"]);
  assert.equal(bad.code, 2);
});
