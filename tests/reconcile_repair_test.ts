// End-to-end tests of `rivet reconcile` and `rivet repair` on a checkpointed chunked export against the real PostgreSQL.
import assert from "node:assert/strict";
import * as path from "node:path";
import { PG_URL, pgExec } from "./helpers/db.ts";
import { duckRows } from "./helpers/duck.ts";
import { reconcileCommand } from "../src/cli/reconcile_cli.ts";
import { repairCommand } from "../src/cli/repair_cli.ts";
import { runCommand } from "../src/pipeline/run.ts";
import { openStateStore } from "../src/state/open_state_store.ts";
import type { ReconcileReport } from "../src/pipeline/reconcile.ts";
import type { RepairPlan, RepairReport } from "../src/pipeline/repair.ts";

const TABLE = "rivet_pa_rec";

async function setup(yaml: (out: string) => string) {
  const dir = await Deno.makeTempDir({ prefix: "rivet_pa_rec_" });
  const cfg = path.join(dir, "rivet.yaml");
  const out = path.join(dir, "out");
  await Deno.writeTextFile(cfg, yaml(out));
  return { dir, cfg, out };
}

const chunkedYaml = (table: string) => (out: string) =>
  `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: rec
    table: ${table}
    mode: chunked
    chunk_column: id
    chunk_size: 250
    chunk_checkpoint: true
    format: parquet
    destination: { type: local, path: "${out}" }
  - name: rec_full
    table: ${table}
    format: parquet
    destination: { type: local, path: "${out}_full" }
`;

function run(cfg: string) {
  return runCommand({
    configPath: cfg,
    exportName: "rec",
    params: {},
    validate: false,
    reconcile: false,
    resume: false,
    force: false,
    parallelExports: false,
    parallelExportProcesses: false,
    json: false,
  });
}

/** Runs a command with its output captured. */
async function captured<T extends { out?: (t: string) => Promise<void> }>(
  fn: (o: T) => Promise<number>,
  opts: Omit<T, "out">,
): Promise<{ code: number; text: string }> {
  const chunks: string[] = [];
  const code = await fn({ ...opts, out: (t: string) => Promise.resolve(void chunks.push(t)) } as T);
  return { code, text: chunks.join("\n") };
}

async function chunkFiles(out: string, index: number): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(out)))
    .map((e) => e.name)
    .filter((n) => new RegExp(`^rec_\\d{8}_\\d{6}_chunk${index}_[0-9a-f]{16}\\.parquet$`).test(n))
    .sort();
}

async function ids(file: string): Promise<number[]> {
  const rows = await duckRows(`SELECT id FROM read_parquet('${file}') ORDER BY id`);
  return rows.map((r) => Number(r.id));
}

Deno.test("reconcile, then repair after rows vanished from one chunk's range at the source", async () => {
  const table = TABLE;
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, note text)`,
    `INSERT INTO ${table} SELECT g, 'n' || g FROM generate_series(1, 1000) g`,
  );
  const { dir, cfg, out } = await setup(chunkedYaml(table));
  assert.equal(await run(cfg), 0);
  const base = { configPath: cfg, exportName: "rec", params: {} };

  // All match: pretty, JSON on stdout, JSON to -o; the verified boundary is recorded.
  const pretty = await captured(reconcileCommand, { ...base, format: "pretty" });
  assert.equal(pretty.code, 0);
  assert.match(pretty.text, /Partitions: 4 \(4 match, 0 mismatch, 0 unknown\)/);
  assert.match(pretty.text, /Rows {6}: source 1000 \/ exported 1000/);
  assert.match(pretty.text, /Status {4}: all partitions match/);
  const json = await captured(reconcileCommand, { ...base, format: "json" });
  assert.equal(json.code, 0);
  const clean = JSON.parse(json.text) as ReconcileReport;
  assert.equal(clean.export_name, "rec");
  assert.deepEqual(clean.partitions.map((p) => p.identifier), [
    "chunk 0 [1..250]",
    "chunk 1 [251..500]",
    "chunk 2 [501..750]",
    "chunk 3 [751..1000]",
  ]);
  assert.ok(clean.partitions.every((p) => p.status === "match" && !("note" in p)));
  const cleanFile = path.join(dir, "clean.json");
  assert.equal(
    await reconcileCommand({ ...base, format: "json", output: cleanFile }),
    0,
  );
  assert.deepEqual(
    (JSON.parse(await Deno.readTextFile(cleanFile)) as ReconcileReport).summary,
    {
      total_partitions: 4,
      matches: 4,
      mismatches: 0,
      unknown: 0,
      total_source_rows: 1000,
      total_exported_rows: 1000,
    },
  );
  const state = await openStateStore({ configPath: cfg });
  try {
    const [prog] = await state.listProgression("rec");
    assert.equal(prog?.last_verified_chunk_index, 3);
    assert.equal(prog?.last_verified_run_id, clean.run_id);
  } finally {
    await state.close();
  }

  // Rows 300..309 disappear at the source: chunk 1 disagrees, and only chunk 1.
  await pgExec(`DELETE FROM ${table} WHERE id BETWEEN 300 AND 309`);
  const reportFile = path.join(dir, "reconcile.json");
  assert.equal(await reconcileCommand({ ...base, format: "json", output: reportFile }), 1);
  const bad = JSON.parse(await Deno.readTextFile(reportFile)) as ReconcileReport;
  assert.equal(bad.summary.mismatches, 1);
  assert.equal(bad.summary.matches, 3);
  const mismatch = bad.partitions.find((p) => p.status === "mismatch")!;
  assert.deepEqual(mismatch, {
    kind: "chunk",
    identifier: "chunk 1 [251..500]",
    source_count: 240,
    exported_count: 250,
    status: "mismatch",
    note: "source=240, exported=250, diff=-10",
  });
  const badPretty = await captured(reconcileCommand, { ...base, format: "pretty" });
  assert.equal(badPretty.code, 1);
  assert.match(badPretty.text, /Repair candidates:\n {4}• chunk 1 \[251\.\.500\] — source=240/);

  // Dry run (computed in-process and from --report): one action, nothing written.
  const before = await Array.fromAsync(Deno.readDir(out));
  const dry = await captured(repairCommand, { ...base, format: "json", execute: false });
  assert.equal(dry.code, 0);
  const plan = JSON.parse(dry.text) as RepairPlan;
  assert.deepEqual(plan.actions, [{
    chunk_index: 1,
    start_key: "251",
    end_key: "500",
    reason: "source=240, exported=250, diff=-10",
  }]);
  assert.equal(plan.reconcile_run_id, bad.run_id);
  const dryPretty = await captured(repairCommand, {
    ...base,
    format: "pretty",
    execute: false,
    report: reportFile,
  });
  assert.match(dryPretty.text, /• chunk 1 \[251\.\.500\] — source=240, exported=250, diff=-10/);
  assert.equal(
    (await Array.fromAsync(Deno.readDir(out))).length,
    before.length,
    "dry run writes nothing",
  );

  // Execute: a new chunk-1 file with exactly the range's current rows; the original stays.
  const [original] = await chunkFiles(out, 1);
  assert.ok(original);
  const executed = await captured(repairCommand, {
    ...base,
    format: "json",
    execute: true,
    report: reportFile,
  });
  assert.equal(executed.code, 0);
  const result = JSON.parse(executed.text) as RepairReport;
  assert.deepEqual(result.summary, {
    planned: 1,
    executed: 1,
    skipped: 0,
    failed: 0,
    rows_written: 240,
  });
  assert.match(result.repair_run_id, /^repair-\d{8}T\d{6}$/);
  const after = await chunkFiles(out, 1);
  assert.equal(after.length, 2, `chunk 1 files: ${after.join(", ")}`);
  assert.ok(after.includes(original), "the original chunk file is kept");
  const fresh = after.find((f) => f !== original)!;
  const [res] = result.results;
  assert.deepEqual(res![1], { executed: { rows_written: 240, files: [fresh] } });
  const freshIds = await ids(path.join(out, fresh));
  assert.equal(freshIds.length, 240);
  assert.equal(freshIds[0], 251);
  assert.equal(freshIds.at(-1), 500);
  assert.ok(!freshIds.includes(305));
  assert.equal((await ids(path.join(out, original))).length, 250, "original untouched");
  for (const i of [0, 2, 3]) assert.equal((await chunkFiles(out, i)).length, 1, `chunk ${i}`);
  const st = await openStateStore({ configPath: cfg });
  try {
    const logged = await st.listFiles({ exportName: "rec", limit: 50 });
    const repairRows = logged.filter((f) => f.run_id === result.repair_run_id);
    assert.deepEqual(repairRows.map((f) => [f.file_name, f.row_count]), [[fresh, 240]]);
  } finally {
    await st.close();
  }
});

Deno.test("repair --execute attributes rows to each action and exits 1 when one fails", async () => {
  const table = `${TABLE}_multi`;
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, note text)`,
    `INSERT INTO ${table} SELECT g, 'n' || g FROM generate_series(1, 1000) g`,
  );
  const { dir, cfg } = await setup(chunkedYaml(table));
  assert.equal(await run(cfg), 0);
  await pgExec(`DELETE FROM ${table} WHERE id IN (10, 20, 900)`);
  const base = { configPath: cfg, exportName: "rec", params: {} };
  const reportFile = path.join(dir, "r.json");
  assert.equal(await reconcileCommand({ ...base, format: "json", output: reportFile }), 1);
  const ok = await captured(repairCommand, {
    ...base,
    format: "json",
    execute: true,
    report: reportFile,
  });
  assert.equal(ok.code, 0);
  const r = JSON.parse(ok.text) as RepairReport;
  assert.deepEqual(
    r.results.map((
      [a, res],
    ) => [a.chunk_index, "executed" in res ? res.executed.rows_written : -1]),
    [[0, 248], [3, 249]],
  );
  assert.equal(r.summary.rows_written, 497);

  // A report whose range keys the current config cannot turn into SQL fails that action only.
  const report = JSON.parse(await Deno.readTextFile(reportFile)) as ReconcileReport;
  const broken = {
    ...report,
    partitions: [
      ...report.partitions,
      { kind: "chunk", identifier: "chunk 9 [5..NULL]", status: "unknown" },
    ],
  };
  await Deno.writeTextFile(reportFile, JSON.stringify(broken));
  const failed = await captured(repairCommand, {
    ...base,
    format: "pretty",
    execute: true,
    report: reportFile,
  });
  assert.equal(failed.code, 1);
  assert.match(
    failed.text,
    /chunk 9 \[5\.\.NULL\] — FAILED: chunk keys '5'\.\.'NULL' are not integers/,
  );
  assert.match(failed.text, /Summary : planned 3 · executed 2 · skipped 0 · failed 1 · rows 497/);
});

Deno.test("reconcile and repair refuse exports that are not chunked, and reports about another export", async () => {
  const table = `${TABLE}_modes`;
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key)`,
    `INSERT INTO ${table} VALUES (1)`,
  );
  const { dir, cfg } = await setup(chunkedYaml(table));
  const full = { configPath: cfg, exportName: "rec_full", params: {}, format: "pretty" as const };
  await assert.rejects(
    reconcileCommand(full),
    /has no natural partitions — use rivet run --reconcile/,
  );
  await assert.rejects(
    repairCommand({ ...full, execute: false }),
    /only chunked exports are supported/,
  );
  const chunked = { ...full, exportName: "rec" };
  await assert.rejects(reconcileCommand(chunked), /no chunk run recorded for export 'rec'/);
  const other = path.join(dir, "other.json");
  await Deno.writeTextFile(
    other,
    JSON.stringify({ export_name: "someone_else", run_id: "x", partitions: [] }),
  );
  await assert.rejects(
    repairCommand({ ...chunked, execute: false, report: other }),
    /is about export 'someone_else', not 'rec'/,
  );
});
