// End-to-end tests of `rivet plan` and `rivet apply` against the real PostgreSQL: artifacts, staleness, drift and execution.
import assert from "node:assert/strict";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { PG_URL, pgExec } from "./helpers/db.ts";
import { duckRows } from "./helpers/duck.ts";
import { buildArtifact, planCommand, registerPlan } from "../src/cli/plan_cli.ts";
import { applyCommand, registerApply } from "../src/cli/apply_cli.ts";
import { runCommand } from "../src/pipeline/run.ts";
import type { PlanArtifact } from "../src/plan/plan_artifact.ts";

/** The test URL with a password in it (the test server trusts local connections). */
function urlWithPassword(): { url: string; secret: string } {
  const u = new URL(PG_URL);
  if (u.password === "") u.password = "pA55-w0rd-never-in-plans";
  return { url: u.toString(), secret: decodeURIComponent(u.password) };
}
const { url: SOURCE_URL, secret: SECRET } = urlWithPassword();

async function setup(yaml: (dir: string) => string): Promise<{ dir: string; cfg: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_pa_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(cfg, yaml(dir));
  return { dir, cfg };
}

async function dataFiles(dir: string, ext = "parquet"): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir)))
      .map((e) => e.name)
      .filter((n) => n.endsWith(`.${ext}`))
      .map((n) => path.join(dir, n));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

async function rowCount(files: readonly string[]): Promise<number> {
  if (files.length === 0) return 0;
  const [r] = await duckRows(
    `SELECT count(*) AS n FROM read_parquet([${files.map((f) => `'${f}'`).join(", ")}])`,
  );
  return Number(r!.n);
}

async function planTo(cfg: string, file: string, extra: { exportName?: string } = {}) {
  const code = await planCommand({
    configPath: cfg,
    params: {},
    format: "json",
    output: file,
    ...extra,
  });
  assert.equal(code, 0);
  return JSON.parse(await Deno.readTextFile(file)) as PlanArtifact;
}

const apply = (planFile: string, force = false) => applyCommand({ planFile, force, params: {} });

function fullYaml(table: string) {
  return (dir: string) =>
    `source: { type: postgres, url: "${SOURCE_URL}" }
exports:
  - name: pa_full
    table: ${table}
    format: parquet
    destination: { type: local, path: "${path.join(dir, "out", "full")}" }
`;
}

Deno.test("plan then apply runs a full export, and the artifact holds no credential", async () => {
  const table = "rivet_pa_full";
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, note text)`,
    `INSERT INTO ${table} SELECT g, 'n' || g FROM generate_series(1, 250) g`,
  );
  const { dir, cfg } = await setup(fullYaml(table));
  const planFile = path.join(dir, "plan.json");
  const a = await planTo(cfg, planFile);
  const text = await Deno.readTextFile(planFile);
  assert.ok(!text.includes(SECRET), "the password is not in the plan file");
  assert.ok(!text.includes(encodeURIComponent(SECRET)), "nor URL-encoded");
  assert.equal(a.artifact, "rivet-plan");
  assert.match(a.plan_id, /^[0-9a-f]{32}$/);
  assert.match(a.config_fingerprint, /^[0-9a-f]{16}$/);
  assert.equal(a.config_path, path.resolve(cfg));
  assert.equal(
    Date.parse(a.expires_at) - Date.parse(a.created_at),
    24 * 3_600_000,
    "expires 24 h after creation",
  );
  assert.match(a.source.url, /REDACTED@/);
  assert.equal(a.exports.length, 1);
  assert.equal(a.exports[0]!.strategy, "full");
  assert.equal(
    await rowCount(await dataFiles(path.join(dir, "out", "full"))),
    0,
    "plan writes nothing",
  );

  assert.equal(await apply(planFile), 0);
  assert.equal(await rowCount(await dataFiles(path.join(dir, "out", "full"))), 250);
});

Deno.test("one plan artifact holds every selected export, and apply runs the chunked one with its planned chunks", async () => {
  const table = "rivet_pa_chunk";
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, note text)`,
    `INSERT INTO ${table} SELECT g, 'n' || g FROM generate_series(1, 1000) g`,
  );
  const { dir, cfg } = await setup((dir) =>
    `source: { type: postgres, url: "${SOURCE_URL}" }
exports:
  - name: pa_chunked
    table: ${table}
    mode: chunked
    chunk_column: id
    chunk_size: 300
    chunk_checkpoint: true
    format: parquet
    destination: { type: local, path: "${path.join(dir, "out", "chunked")}" }
  - name: pa_whole
    query: "SELECT id FROM ${table} WHERE id <= 10"
    format: parquet
    destination: { type: local, path: "${path.join(dir, "out", "whole")}" }
`
  );
  const planFile = path.join(dir, "plan.json");
  const a = await planTo(cfg, planFile);
  assert.deepEqual(a.exports.map((e) => e.export_name), ["pa_chunked", "pa_whole"]);
  const c = a.exports[0]!;
  assert.equal(c.strategy, "chunked");
  assert.match(c.plan_fingerprint, /^[0-9a-f]{16}$/);
  assert.deepEqual(c.computed.chunk_ranges, [["1", "300"], ["301", "600"], ["601", "900"], [
    "901",
    "1000",
  ]]);
  assert.equal(c.computed.chunk_count, 4);
  assert.equal(c.computed.chunk_column, "id");
  assert.equal(c.computed.row_estimate, 1000);

  const pretty: string[] = [];
  await planCommand({
    configPath: cfg,
    params: {},
    format: "pretty",
    out: (t) => Promise.resolve(void pretty.push(t)),
  });
  const shown = pretty.join("\n");
  assert.match(shown, /Strategy\s+: chunked/);
  assert.match(shown, /Chunks\s+: 4 on 'id' \[1\.\.1000\]/);
  assert.match(shown, /Export\s+: pa_whole/);
  assert.ok(!shown.includes(SECRET));

  assert.equal(await apply(planFile), 0);
  const chunkFiles = await dataFiles(path.join(dir, "out", "chunked"));
  assert.equal(chunkFiles.filter((f) => /_chunk\d+_[0-9a-f]{16}\.parquet$/.test(f)).length, 4);
  assert.equal(await rowCount(chunkFiles), 1000);
  assert.equal(await rowCount(await dataFiles(path.join(dir, "out", "whole"))), 10);
});

Deno.test("apply refuses a missing plan file and a file that is not a Rivet plan, even with --force", async () => {
  const { dir } = await setup(() => "");
  await assert.rejects(apply(path.join(dir, "nope.json")), /cannot read plan file/);
  const junk = path.join(dir, "junk.json");
  await Deno.writeTextFile(junk, JSON.stringify({ hello: 1 }));
  await assert.rejects(apply(junk), /not a valid Rivet plan artifact/);
  await Deno.writeTextFile(junk, "{ not json");
  await assert.rejects(apply(junk, true), /not a valid Rivet plan artifact: not JSON/);
});

Deno.test("apply refuses a chunked plan whose auto-resolved chunk column changed since planning", async () => {
  const table = "rivet_pa_pk";
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, k int not null)`,
    `INSERT INTO ${table} SELECT g, 1000 - g FROM generate_series(1, 50) g`,
  );
  const { dir, cfg } = await setup((dir) =>
    `source: { type: postgres, url: "${SOURCE_URL}" }
exports:
  - name: pa_pk
    table: ${table}
    mode: chunked
    chunk_size: 20
    format: parquet
    destination: { type: local, path: "${path.join(dir, "out")}" }
`
  );
  const planFile = path.join(dir, "plan.json");
  const a = await planTo(cfg, planFile);
  assert.equal(a.exports[0]!.computed.chunk_column, "id");
  await pgExec(
    `ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey`,
    `ALTER TABLE ${table} ADD PRIMARY KEY (k)`,
  );
  await assert.rejects(apply(planFile), /chunk plan fingerprint mismatch for export 'pa_pk'/);
  assert.equal(await rowCount(await dataFiles(path.join(dir, "out"))), 0);
});

Deno.test("apply refuses a stale plan unless --force, and warns between 1 and 24 hours", async () => {
  const table = "rivet_pa_stale";
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key)`,
    `INSERT INTO ${table} SELECT g FROM generate_series(1, 5) g`,
  );
  const { dir, cfg } = await setup(fullYaml(table));
  const planFile = path.join(dir, "plan.json");
  const a = await planTo(cfg, planFile);
  const age = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
  await Deno.writeTextFile(planFile, JSON.stringify({ ...a, created_at: age(30) }));
  await assert.rejects(apply(planFile), /the plan is 30 hours old/);
  await Deno.writeTextFile(planFile, JSON.stringify({ ...a, created_at: age(80) }));
  await assert.rejects(apply(planFile), /3 days old \(created \d{4}-\d{2}-\d{2}\)/);
  assert.equal(
    await rowCount(await dataFiles(path.join(dir, "out", "full"))),
    0,
    "refused: nothing ran",
  );
  assert.equal(await apply(planFile, true), 0);
  await Deno.writeTextFile(planFile, JSON.stringify({ ...a, created_at: age(5) }));
  assert.equal(await apply(planFile), 0, "5 hours old only warns");
  assert.equal(await rowCount(await dataFiles(path.join(dir, "out", "full"))), 10);
});

Deno.test("apply refuses a plan whose config changed since, unless --force", async () => {
  const table = "rivet_pa_drift";
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key)`,
    `INSERT INTO ${table} SELECT g FROM generate_series(1, 7) g`,
  );
  const { dir, cfg } = await setup(fullYaml(table));
  const planFile = path.join(dir, "plan.json");
  await planTo(cfg, planFile);
  await Deno.writeTextFile(
    cfg,
    (await Deno.readTextFile(cfg)).replace(
      "format: parquet",
      "format: parquet\n    skip_empty: true",
    ),
  );
  await assert.rejects(apply(planFile), /the config has drifted since plan/);
  assert.equal(await rowCount(await dataFiles(path.join(dir, "out", "full"))), 0);
  assert.equal(await apply(planFile, true), 0);
  assert.equal(await rowCount(await dataFiles(path.join(dir, "out", "full"))), 7);
});

Deno.test("apply refuses a plan when the incremental cursor moved after planning, unless --force", async () => {
  const table = "rivet_pa_incr";
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, updated_at timestamptz not null)`,
    `INSERT INTO ${table} SELECT g, '2024-01-01'::timestamptz + g * interval '1 hour'
       FROM generate_series(1, 20) g`,
  );
  const { dir, cfg } = await setup((dir) =>
    `source: { type: postgres, url: "${SOURCE_URL}" }
exports:
  - name: pa_incr
    table: ${table}
    mode: incremental
    cursor_column: updated_at
    format: parquet
    destination: { type: local, path: "${path.join(dir, "out", "incr")}" }
`
  );
  const run = () =>
    runCommand({
      configPath: cfg,
      params: {},
      validate: false,
      reconcile: false,
      resume: false,
      force: false,
      parallelExports: false,
      parallelExportProcesses: false,
      json: false,
    });
  assert.equal(await run(), 0);
  const planFile = path.join(dir, "plan.json");
  const a = await planTo(cfg, planFile);
  const snapshot = a.exports[0]!.computed.cursor_snapshot;
  assert.ok(snapshot !== null && snapshot.startsWith("2024-01-01"), `snapshot ${snapshot}`);

  await pgExec(
    `INSERT INTO ${table} SELECT g, '2024-02-01'::timestamptz + g * interval '1 hour'
       FROM generate_series(21, 25) g`,
  );
  assert.equal(await run(), 0, "a second run moves the cursor");
  await assert.rejects(apply(planFile), /cursor has drifted for export 'pa_incr'/);
  const before = await rowCount(await dataFiles(path.join(dir, "out", "incr")));
  assert.equal(before, 25);
  assert.equal(await apply(planFile, true), 0);
  // Forced: re-read from the planned cursor, so the 5 newer rows come again (at-least-once).
  assert.equal(await rowCount(await dataFiles(path.join(dir, "out", "incr"))), 30);
});

Deno.test("rivet plan rejects -o without --format json, and an unknown --format is a usage error", async () => {
  const { dir, cfg } = await setup(fullYaml("rivet_pa_full"));
  await assert.rejects(
    planCommand({ configPath: cfg, params: {}, format: "pretty", output: path.join(dir, "p") }),
    /--output requires --format json/,
  );
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  let pending: Promise<number> | null = null;
  registerPlan(program, (p) => (pending = p));
  registerApply(program, (p) => (pending = p));
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {} }));
  await assert.rejects(
    program.parseAsync(["plan", "-c", cfg, "--format", "yaml"], { from: "user" }),
    (err: unknown) => err instanceof CommanderError && err.code === "commander.invalidArgument",
  );
  await assert.rejects(
    program.parseAsync(["apply"], { from: "user" }),
    (err: unknown) => err instanceof CommanderError && err.code === "commander.missingArgument",
  );
  assert.equal(pending, null);
});

Deno.test("a plan rejected for one export fails as a whole, naming the export", async () => {
  const { cfg } = await setup((dir) =>
    `source: { type: postgres, url: "${SOURCE_URL}" }
exports:
  - name: pa_bad
    table: rivet_pa_full
    mode: chunked
    chunk_by_key: id
    chunk_size_memory_mb: 10
    format: parquet
    destination: { type: local, path: "${path.join(dir, "out")}" }
`
  );
  await assert.rejects(
    buildArtifact({ configPath: cfg, params: {}, format: "json" }),
    /plan rejected: export 'pa_bad': chunk_size_memory_mb/,
  );
});
