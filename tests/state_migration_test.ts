// Older state files migrate forward and keep their rows; files that are not ours give a clean error.
import assert from "node:assert/strict";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SqliteStateStore } from "../src/state/sqlite_state_store.ts";
import { StateError } from "../src/state/state_store.ts";
import { SQLITE_MIGRATIONS } from "../src/state/sqlite_migrations.ts";

async function tempDb(): Promise<string> {
  return path.join(await Deno.makeTempDir({ prefix: "rivet_state_mig_" }), ".rivet_state.db");
}

function raw(file: string, sql: string): void {
  const db = new DatabaseSync(file);
  db.exec(sql);
  db.close();
}

function tables(file: string): string[] {
  const db = new DatabaseSync(file);
  const out = (db.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all())
    .map((r) => String(r.name));
  db.close();
  return out;
}

function versionRows(file: string): number[] {
  const db = new DatabaseSync(file);
  const out = db.prepare("SELECT version FROM schema_version").all().map((r) => Number(r.version));
  db.close();
  return out;
}

Deno.test("a new state file is created at schema v8 with every table", async () => {
  const file = await tempDb();
  const s = await SqliteStateStore.open(file);
  await s.close();
  assert.deepEqual(versionRows(file), [8]);
  for (
    const t of [
      "chunk_run",
      "chunk_task",
      "export_metrics",
      "export_progression",
      "export_schema",
      "export_shape",
      "export_state",
      "file_log",
      "run_aggregate",
      "run_journal",
    ]
  ) assert.ok(tables(file).includes(t), t);
  assert.ok(!tables(file).includes("file_manifest"));
});

Deno.test("reopening a v8 state file is idempotent", async () => {
  const file = await tempDb();
  await (await SqliteStateStore.open(file)).close();
  const s = await SqliteStateStore.open(file);
  await s.setCursor("orders", "7", "2026-01-01T00:00:00Z");
  await s.close();
  const again = await SqliteStateStore.open(file);
  assert.equal((await again.getCursor("orders"))?.last_cursor_value, "7");
  await again.close();
  assert.deepEqual(versionRows(file), [8]);
});

Deno.test("a v1 state file migrates to v8 and keeps cursors, metrics and the file manifest", async () => {
  const file = await tempDb();
  const v1 = SQLITE_MIGRATIONS[0]![1];
  raw(
    file,
    `CREATE TABLE schema_version (version INTEGER NOT NULL);
     ${v1}
     INSERT INTO schema_version VALUES (1);
     INSERT INTO export_state VALUES ('orders', '2025-12-31', '2026-01-01T00:00:00Z');
     INSERT INTO export_metrics (export_name, run_at, duration_ms, total_rows, status, run_id)
       VALUES ('orders', '2026-01-01T00:00:00Z', 5, 42, 'success', 'old_run');
     INSERT INTO file_manifest (run_id, export_name, file_name, row_count, bytes, format,
       compression, created_at)
       VALUES ('old_run', 'orders', 'orders_old.parquet', 42, 1000, 'parquet', 'zstd',
       '2026-01-01T00:00:00Z');`,
  );
  const s = await SqliteStateStore.open(file);
  try {
    assert.equal(s.schemaVersion(), 8);
    assert.equal((await s.getCursor("orders"))?.last_cursor_value, "2025-12-31");
    const [m] = await s.listMetrics({ limit: 5 });
    assert.equal(m?.total_rows, 42);
    assert.equal(m?.files_produced, 0);
    const files = await s.listFiles({ limit: 5 });
    assert.deepEqual(files.map((f) => f.file_name), ["orders_old.parquet"]);
    await s.recordFile({ ...files[0]!, file_name: "orders_new.parquet" });
    assert.equal((await s.listFiles({ limit: 5 }))[0]?.file_name, "orders_new.parquet");
  } finally {
    await s.close();
  }
  assert.deepEqual(versionRows(file), [8]);
  assert.ok(!tables(file).includes("file_manifest"));
});

Deno.test("a pre-versioning state file gets the missing metric columns and keeps its rows", async () => {
  const file = await tempDb();
  raw(
    file,
    `CREATE TABLE export_state (export_name TEXT PRIMARY KEY, last_cursor_value TEXT,
       last_run_at TEXT);
     CREATE TABLE export_metrics (id INTEGER PRIMARY KEY AUTOINCREMENT,
       export_name TEXT NOT NULL, run_at TEXT NOT NULL, duration_ms INTEGER NOT NULL,
       total_rows INTEGER NOT NULL, peak_rss_mb INTEGER, status TEXT NOT NULL,
       error_message TEXT, tuning_profile TEXT, format TEXT, mode TEXT);
     INSERT INTO export_state VALUES ('users', '99', '2025-06-01T00:00:00Z');
     INSERT INTO export_metrics (export_name, run_at, duration_ms, total_rows, status)
       VALUES ('users', '2025-06-01T00:00:00Z', 10, 7, 'failed');`,
  );
  const s = await SqliteStateStore.open(file);
  try {
    assert.equal((await s.getCursor("users"))?.last_cursor_value, "99");
    await s.recordMetric({
      export_name: "users",
      run_at: "2026-01-01T00:00:00Z",
      duration_ms: 1,
      total_rows: 1,
      peak_rss_mb: null,
      status: "success",
      error_message: null,
      tuning_profile: null,
      format: null,
      mode: null,
      files_produced: 3,
      bytes_written: 9,
      retries: 1,
      validated: true,
      schema_changed: false,
      run_id: "new",
    });
    const rows = await s.listMetrics({ limit: 5 });
    assert.deepEqual(rows.map((r) => [r.status, r.files_produced, r.run_id, r.validated]), [
      ["success", 3, "new", true],
      ["failed", 0, null, null],
    ]);
  } finally {
    await s.close();
  }
  assert.deepEqual(versionRows(file), [8]);
});

Deno.test("a v8 state file with a dropped table gets it back", async () => {
  const file = await tempDb();
  await (await SqliteStateStore.open(file)).close();
  raw(file, "DROP TABLE run_journal;");
  const s = await SqliteStateStore.open(file);
  assert.deepEqual(await s.listJournals("orders", 5), []);
  await s.close();
});

async function openError(file: string): Promise<StateError> {
  try {
    await (await SqliteStateStore.open(file)).close();
  } catch (err) {
    assert.ok(err instanceof StateError, `expected StateError, got ${err}`);
    return err;
  }
  throw new Error("open succeeded");
}

Deno.test("a garbage state file gives a clean 'not a Rivet state database' error", async () => {
  const file = await tempDb();
  await Deno.writeTextFile(file, "this is not sqlite at all\n".repeat(200));
  const err = await openError(file);
  assert.match(err.message, /is not a Rivet state database/);
  assert.match(err.hint ?? "", /move it aside|--state/);
  assert.equal(err.exitClass, "config");
});

Deno.test("a truncated state file gives a clean error", async () => {
  const file = await tempDb();
  const s = await SqliteStateStore.open(file);
  for (let i = 0; i < 200; i++) await s.setCursor(`e${i}`, "x".repeat(200), "t");
  await s.close();
  const bytes = await Deno.readFile(file);
  await Deno.writeFile(file, bytes.subarray(0, 1500));
  await Deno.remove(file + "-wal").catch(() => {});
  await Deno.remove(file + "-shm").catch(() => {});
  const err = await openError(file);
  assert.match(err.message, /state database/);
});

Deno.test("a SQLite file of another application is refused, not altered", async () => {
  const file = await tempDb();
  raw(file, "CREATE TABLE invoices (id INTEGER);");
  const err = await openError(file);
  assert.match(err.message, /not a Rivet state database: it holds other tables \(invoices\)/);
  assert.deepEqual(tables(file), ["invoices"]);
});

Deno.test("a state file from a newer Rivet is refused with a clear message", async () => {
  const file = await tempDb();
  await (await SqliteStateStore.open(file)).close();
  raw(file, "INSERT INTO schema_version VALUES (9);");
  const err = await openError(file);
  assert.match(err.message, /schema v9, newer than this Rivet understands \(v8\)/);
});

Deno.test("a state path in a missing directory gives a clean error", async () => {
  const dir = await Deno.makeTempDir();
  const err = await openError(path.join(dir, "nope", "x.db"));
  assert.match(err.message, /Cannot open state database/);
});
