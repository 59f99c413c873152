// Two rivet processes sharing one .rivet_state.db: no lost rows, no chunk claimed twice, no SQLITE_BUSY.
import assert from "node:assert/strict";
import * as path from "node:path";
import { repoRoot } from "./helpers/cli.ts";
import { SqliteStateStore } from "../src/state/sqlite_state_store.ts";

const WORKER = `
import { SqliteStateStore } from ${
  JSON.stringify(path.join(repoRoot, "src/state/sqlite_state_store.ts"))
};
const [file, worker] = Deno.args;
const store = await SqliteStateStore.open(file);
const at = () => new Date().toISOString();
const claimed = [];
let runId = null;
const claimSome = async (n) => {
  if (runId === null) runId = (await store.findInProgressChunkRun("orders"))?.run_id ?? null;
  if (runId === null) return false;
  for (let k = 0; k < n; k++) {
    const t = await store.claimChunkTask(runId, at());
    if (t === null) return true;
    claimed.push(t.chunk_index);
    await store.completeChunkTask(runId, t.chunk_index, { rows_written: 1, file_name: "w" + worker }, at());
  }
  return false;
};
for (let i = 0; i < 200; i++) {
  await store.recordMetric({
    export_name: "orders", run_at: at(), duration_ms: i, total_rows: i, peak_rss_mb: null,
    status: "success", error_message: null, tuning_profile: null, format: "csv", mode: "full",
    files_produced: 0, bytes_written: 0, retries: 0, validated: null, schema_changed: null,
    run_id: "w" + worker + "-" + i,
  });
  await store.recordFile({ run_id: "w" + worker, export_name: "orders", file_name: "f" + i,
    row_count: 1, bytes: 1, format: "csv", compression: "none", created_at: at() });
  await claimSome(1);
}
const deadline = Date.now() + 30000;
while (!(await claimSome(1000))) {
  if (Date.now() > deadline) throw new Error("no chunk run appeared");
  await new Promise((r) => setTimeout(r, 20));
}
await store.close();
console.log(JSON.stringify(claimed));
`;

Deno.test("two processes share one state file without losing rows or double-claiming chunks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rivet_state_mp_" });
  const file = path.join(dir, ".rivet_state.db");
  const script = path.join(dir, "worker.ts");
  await Deno.writeTextFile(script, WORKER);
  const spawn = (id: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", path.join(repoRoot, "deno.json"), script, file, id],
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  // Both processes (and this one) create and migrate the same fresh file at once.
  const outputs = Promise.all([spawn("a"), spawn("b")]);
  const store = await SqliteStateStore.open(file);
  try {
    const created = await store.createChunkRun({
      run_id: "c1",
      export_name: "orders",
      plan_hash: "h",
      max_chunk_attempts: 3,
      tasks: Array.from({ length: 150 }, (_, i) => ({ start_key: String(i), end_key: String(i) })),
    }, new Date().toISOString());
    assert.deepEqual(created, { created: true });
    const results = await outputs;
    const dec = new TextDecoder();
    const claimed: number[] = [];
    for (const r of results) {
      const stderr = dec.decode(r.stderr);
      assert.equal(r.code, 0, `worker failed: ${stderr}`);
      assert.doesNotMatch(stderr, /locked|BUSY/i);
      claimed.push(...JSON.parse(dec.decode(r.stdout).trim()) as number[]);
    }
    assert.equal(claimed.length, 150, "every chunk claimed exactly once in total");
    assert.equal(new Set(claimed).size, 150, "no chunk claimed twice");
    const metrics = await store.listMetrics({ limit: 10_000 });
    assert.equal(metrics.length, 400);
    assert.equal(new Set(metrics.map((m) => m.run_id)).size, 400);
    assert.equal((await store.listFiles({ limit: 10_000 })).length, 400);
    const tasks = await store.listChunkTasks("c1");
    assert.ok(tasks.every((t) => t.status === "completed" && t.attempts === 1));
    assert.equal(store.schemaVersion(), 8);
  } finally {
    await store.close();
  }
});
