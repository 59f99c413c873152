// End-to-end tests of the memory controls and the PostgreSQL state flag through `rivet run`.
import assert from "node:assert/strict";
import * as path from "node:path";
import { runRivet } from "./helpers/cli.ts";
import { PG_URL, pgExec } from "./helpers/db.ts";

const T = "rivet_mem_src";

async function seed(): Promise<void> {
  await pgExec(
    `DROP TABLE IF EXISTS ${T}`,
    `CREATE TABLE ${T} (id int, body text)`,
    // ~20 KB per row: a 500-row batch is ~10 MB, over a 2 MB cap.
    `INSERT INTO ${T} SELECT g, repeat(md5(g::text), 640) FROM generate_series(1, 600) g`,
  );
}

async function exportWith(
  policy: string,
  extra = "",
): Promise<{ code: number; stderr: string; csv: string | null; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_mem_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    cfg,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: m
    query: "SELECT * FROM ${T} ORDER BY id"
    format: csv
    tuning: { batch_size: 500, max_batch_memory_mb: 2, on_batch_memory_exceeded: ${policy}${extra} }
    destination: { type: local, path: ./out }
`,
  );
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  let csv: string | null = null;
  try {
    const files = (await Array.fromAsync(Deno.readDir(path.join(dir, "out"))))
      .filter((e) => e.name.endsWith(".csv"));
    if (files.length === 1) csv = await Deno.readTextFile(path.join(dir, "out", files[0]!.name));
  } catch { /* no output directory */ }
  return { code: r.code, stderr: r.stderr, csv, dir };
}

Deno.test("max_batch_memory_mb: warn and auto_shrink write identical rows; fail exits 1 with no file", async () => {
  await seed();
  const warn = await exportWith("warn");
  assert.equal(warn.code, 0, warn.stderr);
  assert.match(warn.stderr, /exceeds max_batch_memory_mb=2 MB/);
  const shrink = await exportWith("auto_shrink");
  assert.equal(shrink.code, 0, shrink.stderr);
  assert.ok(warn.csv !== null && warn.csv.split("\n").length === 602);
  assert.equal(shrink.csv, warn.csv, "auto_shrink changes batch sizes, never rows or order");
  const fail = await exportWith("fail");
  assert.equal(fail.code, 1);
  assert.match(fail.stderr, /auto_shrink/);
  assert.equal(fail.csv, null, "nothing published");
});

Deno.test("batch_size_memory_mb caps batches by bytes and the export stays exact", async () => {
  await seed();
  const r = await exportWith("warn", ", batch_size_memory_mb: 1");
  assert.equal(r.code, 1, "batch_size and batch_size_memory_mb together are refused");
  assert.match(r.stderr, /mutually exclusive/);
  const dir = await Deno.makeTempDir({ prefix: "rivet_mem_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    cfg,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: m
    query: "SELECT * FROM ${T} ORDER BY id"
    format: csv
    tuning: { batch_size_memory_mb: 1, max_batch_memory_mb: 2, on_batch_memory_exceeded: fail }
    destination: { type: local, path: ./out }
`,
  );
  // With ~1 MB batches no batch reaches the 2 MB cap, so the fail policy never fires.
  const ok = await runRivet(["run", "-c", cfg, "--json"], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).total_rows, 600);
});

Deno.test("--state-url keeps the state in PostgreSQL and writes no state file", async () => {
  await seed();
  const schema = `rivet_state_flag_${crypto.randomUUID().slice(0, 8)}`;
  const dir = await Deno.makeTempDir({ prefix: "rivet_mem_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    cfg,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: s, table: ${T}, mode: incremental, cursor_column: id, format: csv, destination: { type: local, path: ./out } }
`,
  );
  try {
    const r = await runRivet(["run", "-c", cfg, "--state-url", PG_URL], {
      cwd: dir,
      env: { RIVET_STATE_SCHEMA: schema },
    });
    assert.equal(r.code, 0, r.stderr);
    await assert.rejects(() => Deno.stat(path.join(dir, ".rivet_state.db")), Deno.errors.NotFound);
    const rows = await pgExec(
      `SELECT last_cursor_value FROM ${schema}.export_state WHERE export_name = 's'`,
    );
    assert.deepEqual(rows, [{ last_cursor_value: "600" }]);
  } finally {
    await pgExec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
});

Deno.test("batch_size_memory_mb also bounds MySQL batches of wide rows", async () => {
  const { MYSQL_URL, mysqlExec } = await import("./helpers/db.ts");
  await mysqlExec(
    "DROP TABLE IF EXISTS rivet_mem_my",
    "CREATE TABLE rivet_mem_my (id INT PRIMARY KEY, body MEDIUMTEXT)",
    "INSERT INTO rivet_mem_my SELECT seq, REPEAT(MD5(seq), 640) FROM seq_1_to_600",
  );
  const dir = await Deno.makeTempDir({ prefix: "rivet_mem_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    cfg,
    `source: { type: mysql, url: "${MYSQL_URL}" }
exports:
  - name: my
    table: rivet_mem_my
    format: csv
    tuning: { batch_size_memory_mb: 1, max_batch_memory_mb: 2, on_batch_memory_exceeded: fail }
    destination: { type: local, path: ./out }
`,
  );
  const r = await runRivet(["run", "-c", cfg, "--json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).total_rows, 600);
});
