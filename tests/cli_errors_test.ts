// End-to-end tests of how `rivet` fails: clear message, non-zero exit, no data file, no secret.
import assert from "node:assert/strict";
import * as path from "node:path";
import { runRivet } from "./helpers/cli.ts";
import { MYSQL_URL, PG_URL, pgExec } from "./helpers/db.ts";

const SECRET = "Sup3rS3cretPw";

async function setup(yaml: string): Promise<{ dir: string; cfg: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_err_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(cfg, yaml);
  return { dir, cfg };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = path.join(d, e.name);
      // The state database and the run reports are records, not data files.
      if (e.isDirectory && e.name !== ".rivet") await walk(p);
      else if (e.isFile && !e.name.endsWith(".yaml") && !e.name.startsWith(".rivet_state.db")) {
        out.push(p);
      }
    }
  };
  await walk(dir);
  return out;
}

function assertNoSecret(text: string): void {
  assert.ok(!text.includes(SECRET), `output leaked the password:\n${text}`);
}

function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at .*\.ts:\d+/, `output shows a stack trace:\n${text}`);
}

const pgWithPassword = PG_URL.replace("postgres://postgres@", `postgres://postgres:${SECRET}@`);

Deno.test("rivet --version prints the version and --help lists the run command", async () => {
  const v = await runRivet(["--version"]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^rivet \d+\.\d+\.\d+\n$/);
  const h = await runRivet(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /run \[options\]/);
  const rh = await runRivet(["run", "--help"]);
  assert.equal(rh.code, 0);
  assert.match(rh.stdout, /--config <path>/);
  assert.match(rh.stdout, /--param <KEY=VALUE>/);
});

Deno.test("rivet run without --config is a usage error with exit code 2", async () => {
  const r = await runRivet(["run"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /required option '-c, --config <path>' not specified/);
  const u = await runRivet(["run", "-c", "x.yaml", "--no-such-flag"]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown option '--no-such-flag'/);
});

Deno.test("rivet run with a missing config file says so and suggests rivet init", async () => {
  const r = await runRivet(["run", "-c", "/nonexistent/rivet.yaml"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /config file '\/nonexistent\/rivet.yaml' not found/);
  assert.match(r.stderr, /rivet init/);
});

Deno.test("rivet run reports malformed YAML with its line and column", async () => {
  const { dir, cfg } = await setup("source:\n  type: postgres\n  url: [unclosed\nexports: []\n");
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line \d+/i);
  assertNoStack(r.stderr);
});

Deno.test("rivet run rejects an unknown key with did-you-mean and its position", async () => {
  const { dir, cfg } = await setup(
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: a
    table: t
    format: parquet
    destinaton: { type: local, path: ./out }
`,
  );
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /destinaton/);
  assert.match(r.stderr, /Did you mean `destination`\?/);
  assert.match(r.stderr, /6:5|line 6/);
});

Deno.test("rivet run names a missing environment variable instead of using an empty value", async () => {
  const { dir, cfg } = await setup(
    `source: { type: postgres, url_env: RIVET_E2E_MISSING_URL }
exports:
  - { name: a, table: t, format: csv, destination: { type: local, path: ./out } }
`,
  );
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /RIVET_E2E_MISSING_URL/);
  assertNoStack(r.stderr);
});

Deno.test("rivet run against an unreachable host fails clearly without writing a file or the password", async () => {
  const { dir, cfg } = await setup(
    `source: { type: postgres, url: "postgres://postgres:${SECRET}@127.0.0.1:1/test" }
exports:
  - name: a
    query: "SELECT 1 AS x"
    format: parquet
    tuning: { max_retries: 0 }
    destination: { type: local, path: ./out }
`,
  );
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /127\.0\.0\.1:1/);
  assert.match(r.stderr, /refused|connect/i);
  assertNoSecret(r.stderr + r.stdout);
  assertNoStack(r.stderr);
  assert.deepEqual(await filesUnder(dir), []);
});

Deno.test("rivet run with a PostgreSQL role that does not exist fails without printing the password", async () => {
  const url = PG_URL.replace("postgres://postgres@", `postgres://no_such_role_x:${SECRET}@`);
  const { dir, cfg } = await setup(
    `source: { type: postgres, url: "${url}" }
exports:
  - { name: a, query: "SELECT 1 AS x", format: csv, destination: { type: local, path: ./out } }
`,
  );
  const r = await runRivet(["run", "-c", cfg, "--json-errors"], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no_such_role_x/);
  assertNoSecret(r.stderr + r.stdout);
  const last = r.stderr.trim().split("\n").at(-1)!;
  assert.ok(JSON.parse(last).error.length > 0, last);
  assert.deepEqual(await filesUnder(dir), []);
});

Deno.test("rivet run with a wrong MySQL password fails with access denied and no secret", async () => {
  const url = MYSQL_URL.replace("mysql://root@", `mysql://root:${SECRET}@`);
  const { dir, cfg } = await setup(
    `source: { type: mysql, url: "${url}" }
exports:
  - { name: a, query: "SELECT 1 AS x", format: csv, destination: { type: local, path: ./out } }
`,
  );
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /denied/i);
  assertNoSecret(r.stderr + r.stdout);
  assert.deepEqual(await filesUnder(dir), []);
});

Deno.test("rivet run on a missing table names it and writes nothing", async () => {
  const { dir, cfg } = await setup(
    `source: { type: postgres, url: "${pgWithPassword}" }
exports:
  - { name: a, table: rivet_no_such_table, format: parquet, destination: { type: local, path: ./out } }
`,
  );
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /rivet_no_such_table/);
  assert.match(r.stderr, /does not exist/);
  assertNoSecret(r.stderr + r.stdout);
  assert.deepEqual(await filesUnder(dir), []);
});

Deno.test("rivet run to an unwritable destination fails clearly and leaves no partial file", async () => {
  await pgExec("SELECT 1");
  const { dir, cfg } = await setup(
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: a, query: "SELECT 1 AS x", format: parquet, destination: { type: local, path: ./blocker/sub } }
`,
  );
  await Deno.writeTextFile(path.join(dir, "blocker"), "a file where a directory should be");
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /blocker/);
  assertNoStack(r.stderr);
  assert.deepEqual((await filesUnder(dir)).map((f) => path.basename(f)), ["blocker"]);
});

Deno.test("rivet run --export with an unknown name lists the known exports", async () => {
  const { dir, cfg } = await setup(
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: alpha, query: "SELECT 1 AS x", format: csv, destination: { type: stdout } }
`,
  );
  const r = await runRivet(["run", "-c", cfg, "-e", "alpah"], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /export 'alpah' not found in config/);
  assert.match(r.stderr, /alpha/);
});
