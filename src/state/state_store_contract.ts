// The behaviour every StateStore backend must show, as a reusable Deno test suite (persistence layer, test support).
import assert from "node:assert/strict";
import type { RunJournal } from "./journal_types.ts";
import type { MetricRecord, StateStore } from "./state_store.ts";

const T0 = "2026-01-01T12:00:00.000Z";
const T1 = "2026-01-01T12:00:01.000Z";
const T2 = "2026-01-01T12:00:02.000Z";

export function sampleMetric(over: Partial<MetricRecord> = {}): MetricRecord {
  return {
    export_name: "orders",
    run_at: T0,
    duration_ms: 1200,
    total_rows: 1000,
    peak_rss_mb: 45,
    status: "success",
    error_message: null,
    tuning_profile: "balanced",
    format: "parquet",
    mode: "full",
    files_produced: 1,
    bytes_written: 1_048_576,
    retries: 0,
    validated: null,
    schema_changed: null,
    run_id: "orders_20260101T120000.000",
    ...over,
  };
}

export function sampleJournal(runId: string, exportName = "orders"): RunJournal {
  return {
    run_id: runId,
    export_name: exportName,
    entries: [
      {
        recorded_at: T0,
        event: {
          kind: "PlanResolved",
          export_name: exportName,
          base_query: "SELECT * FROM orders",
          strategy: "full",
          format: "parquet",
          compression: "zstd",
          destination_type: "local",
          tuning_profile: "balanced",
          batch_size: 10000,
          validate: false,
          reconcile: false,
          resume: false,
        },
      },
      {
        recorded_at: T1,
        event: {
          kind: "FileWritten",
          file_name: "a.parquet",
          rows: 10,
          bytes: 2048,
          part_index: 0,
        },
      },
      {
        recorded_at: T1,
        event: {
          kind: "SchemaChanged",
          added: ["note (Utf8)"],
          removed: [],
          type_changed: [["amount", "Int32", "Int64"]],
        },
      },
      {
        recorded_at: T2,
        event: { kind: "RunCompleted", status: "success", error_message: null, duration_ms: 2000 },
      },
    ],
  };
}

const bounds = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => ({ start_key: String(i * 100), end_key: String(i * 100 + 99) }),
  );

/**
 * Registers the StateStore contract tests for one backend. `open` must return a fresh, empty
 * store each time; the suite closes it.
 */
export function stateStoreContract(name: string, open: () => Promise<StateStore>): void {
  const test = (title: string, fn: (s: StateStore) => Promise<void>) =>
    Deno.test(`${name} ${title}`, async () => {
      const s = await open();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    });

  // ── cursors (invariants: absent until written, last write wins, no monotonic check) ──
  test("has no cursor for an export until one is written", async (s) => {
    assert.equal(await s.getCursor("orders"), null);
    assert.deepEqual(await s.listCursors(), []);
  });

  test("keeps the last cursor written, even when it is lower", async (s) => {
    await s.setCursor("orders", "2026-01-05", T0);
    await s.setCursor("orders", "2026-01-03", T1);
    assert.deepEqual(await s.getCursor("orders"), {
      export_name: "orders",
      last_cursor_value: "2026-01-03",
      last_run_at: T1,
    });
  });

  test("deletes a cursor and reports whether one existed", async (s) => {
    await s.setCursor("orders", "5", T0);
    await s.setCursor("users", "9", T0);
    assert.equal(await s.deleteCursor("orders"), true);
    assert.equal(await s.deleteCursor("orders"), false);
    assert.equal(await s.getCursor("orders"), null);
    assert.deepEqual((await s.listCursors()).map((c) => c.export_name), ["users"]);
  });

  test("keeps boundary row hashes with the cursor value they belong to", async (s) => {
    await s.setCursor("orders", "2026-01-05", T0, ["aa", "bb"]);
    assert.deepEqual(await s.getCursorBoundary("orders", "2026-01-05"), ["aa", "bb"]);
    assert.deepEqual(await s.getCursorBoundary("orders", "2026-01-06"), []);
    await s.setCursor("orders", "2026-01-06", T1);
    assert.deepEqual(await s.getCursorBoundary("orders", "2026-01-06"), []);
    await s.setCursor("orders", "2026-01-07", T1, ["cc"]);
    assert.equal(await s.deleteCursor("orders"), true);
    assert.deepEqual(await s.getCursorBoundary("orders", "2026-01-07"), []);
  });

  test("lists cursors ordered by export name", async (s) => {
    for (const n of ["zeta", "alpha", "mid"]) await s.setCursor(n, "1", T0);
    assert.deepEqual((await s.listCursors()).map((c) => c.export_name), ["alpha", "mid", "zeta"]);
  });

  // ── metrics ──
  test("records metrics with their terminal status and lists them newest first", async (s) => {
    await s.recordMetric(sampleMetric({ run_id: "r1" }));
    await s.recordMetric(
      sampleMetric({
        run_id: "r2",
        status: "failed",
        error_message: "boom",
        validated: false,
        schema_changed: true,
        retries: 2,
      }),
    );
    await s.recordMetric(sampleMetric({ run_id: "r3", export_name: "users", status: "skipped" }));
    const all = await s.listMetrics({ limit: 10 });
    assert.deepEqual(all.map((m) => m.run_id), ["r3", "r2", "r1"]);
    assert.deepEqual(all.map((m) => m.status), ["skipped", "failed", "success"]);
    const r2 = all[1]!;
    assert.equal(r2.error_message, "boom");
    assert.equal(r2.validated, false);
    assert.equal(r2.schema_changed, true);
    assert.equal(r2.retries, 2);
    assert.equal(all[2]!.validated, null);
    const orders = await s.listMetrics({ exportName: "orders", limit: 1 });
    assert.deepEqual(orders.map((m) => m.run_id), ["r2"]);
  });

  // ── file_log (invariant: rows distinct and persistent, never deduplicated) ──
  test("appends every file record, even an identical one, newest first", async (s) => {
    const f = {
      run_id: "r1",
      export_name: "orders",
      file_name: "orders_1.parquet",
      row_count: 10,
      bytes: 100,
      format: "parquet",
      compression: "zstd",
      created_at: T0,
    };
    await s.recordFile(f);
    await s.recordFile(f);
    await s.recordFile({ ...f, export_name: "users", file_name: "users_1.csv" });
    const all = await s.listFiles({ limit: 50 });
    assert.equal(all.length, 3);
    assert.equal(new Set(all.map((r) => r.id)).size, 3);
    assert.ok(all[0]!.id > all[1]!.id && all[1]!.id > all[2]!.id);
    assert.equal(all[0]!.file_name, "users_1.csv");
    assert.equal((await s.listFiles({ exportName: "orders", limit: 50 })).length, 2);
    assert.equal((await s.listFiles({ limit: 1 })).length, 1);
  });

  // ── schema snapshot ──
  test("stores the last accepted schema snapshot per export", async (s) => {
    assert.equal(await s.getSchema("orders"), null);
    await s.putSchema("orders", [{ name: "id", type: "Int64" }], T0);
    await s.putSchema("orders", [{ name: "id", type: "Int64" }, { name: "n", type: "Utf8" }], T1);
    assert.deepEqual(await s.getSchema("orders"), {
      export_name: "orders",
      columns: [{ name: "id", type: "Int64" }, { name: "n", type: "Utf8" }],
      updated_at: T1,
    });
  });

  // ── shape ──
  test("only raises the stored maximum byte length of a column", async (s) => {
    await s.raiseShape("orders", { note: 10, code: 4 }, T0);
    await s.raiseShape("orders", { note: 7, code: 9 }, T1);
    await s.raiseShape("users", { note: 99 }, T1);
    assert.deepEqual(await s.getShape("orders"), { code: 9, note: 10 });
    assert.deepEqual(await s.getShape("nothing"), {});
  });

  // ── journal ──
  test("saves a journal and reads back every typed event", async (s) => {
    const j = sampleJournal("r1");
    await s.saveJournal(j, T2);
    const got = await s.getJournal("r1");
    assert.deepEqual(got, { run_id: "r1", export_name: "orders", finished_at: T2, journal: j });
    assert.equal(await s.getJournal("missing"), null);
  });

  test("replaces a journal saved twice under one run id", async (s) => {
    await s.saveJournal(sampleJournal("r1"), T0);
    await s.saveJournal({ run_id: "r1", export_name: "orders", entries: [] }, T1);
    const got = await s.listJournals("orders", 10);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.journal.entries.length, 0);
  });

  test("lists the journals of one export newest first", async (s) => {
    await s.saveJournal(sampleJournal("r1"), T0);
    await s.saveJournal(sampleJournal("r3"), T2);
    await s.saveJournal(sampleJournal("r2"), T1);
    await s.saveJournal(sampleJournal("u1", "users"), T2);
    assert.deepEqual((await s.listJournals("orders", 10)).map((j) => j.run_id), ["r3", "r2", "r1"]);
    assert.deepEqual((await s.listJournals("orders", 2)).map((j) => j.run_id), ["r3", "r2"]);
  });

  // ── progression ──
  test("keeps the greatest committed incremental cursor by text comparison", async (s) => {
    await s.recordCommitted("orders", {
      strategy: "incremental",
      cursor: "2026-01-05",
      run_id: "r1",
    }, T0);
    await s.recordCommitted("orders", {
      strategy: "incremental",
      cursor: "2026-01-03",
      run_id: "r2",
    }, T1);
    const [p] = await s.listProgression("orders");
    assert.equal(p?.last_committed_cursor, "2026-01-05");
    assert.equal(p?.last_committed_run_id, "r2");
    assert.equal(p?.last_committed_chunk_index, null);
    assert.equal(p?.last_verified_strategy, null);
  });

  test("records committed and verified chunk boundaries independently", async (s) => {
    await s.recordCommitted("orders", { strategy: "chunked", chunk_index: 7, run_id: "r1" }, T0);
    await s.recordVerified("orders", { strategy: "chunked", chunk_index: 5, run_id: "r1" }, T1);
    await s.recordCommitted("users", { strategy: "incremental", cursor: "9", run_id: "u" }, T1);
    const rows = await s.listProgression();
    assert.deepEqual(rows.map((r) => r.export_name), ["orders", "users"]);
    assert.equal(rows[0]!.last_committed_strategy, "chunked");
    assert.equal(rows[0]!.last_committed_chunk_index, 7);
    assert.equal(rows[0]!.last_committed_cursor, null);
    assert.equal(rows[0]!.last_verified_chunk_index, 5);
    assert.equal(rows[0]!.last_verified_at, T1);
  });

  // ── run aggregate ──
  test("inserts a run aggregate once per id", async (s) => {
    const a = {
      run_aggregate_id: "agg1",
      started_at: T0,
      finished_at: T1,
      duration_ms: 1000,
      config_path: "rivet.yaml",
      parallel_mode: "sequential",
      total_exports: 2,
      success_count: 1,
      failed_count: 1,
      skipped_count: 0,
      total_rows: 10,
      total_files: 1,
      total_bytes: 100,
      details: [{ export_name: "orders" }],
    };
    await s.insertRunAggregate(a);
    await assert.rejects(() => s.insertRunAggregate(a));
  });

  // ── chunk checkpoints ──
  test("creates a chunk run with pending tasks indexed in order", async (s) => {
    const r = await s.createChunkRun(
      {
        run_id: "c1",
        export_name: "orders",
        plan_hash: "h",
        max_chunk_attempts: 3,
        tasks: bounds(3),
      },
      T0,
    );
    assert.deepEqual(r, { created: true });
    const tasks = await s.listChunkTasks("c1");
    assert.deepEqual(tasks.map((t) => [t.chunk_index, t.status, t.attempts, t.start_key]), [
      [0, "pending", 0, "0"],
      [1, "pending", 0, "100"],
      [2, "pending", 0, "200"],
    ]);
    const run = await s.findInProgressChunkRun("orders");
    assert.equal(run?.run_id, "c1");
    assert.equal(run?.status, "in_progress");
    assert.equal(run?.max_chunk_attempts, 3);
  });

  test("refuses a second chunk run while one of the same export is in progress", async (s) => {
    const base = { export_name: "orders", plan_hash: "h", max_chunk_attempts: 3, tasks: bounds(1) };
    await s.createChunkRun({ ...base, run_id: "c1" }, T0);
    assert.deepEqual(await s.createChunkRun({ ...base, run_id: "c2" }, T1), {
      created: false,
      in_progress_run_id: "c1",
    });
    assert.deepEqual(await s.listChunkTasks("c2"), []);
    assert.deepEqual(
      await s.createChunkRun({ ...base, run_id: "u1", export_name: "users" }, T1),
      { created: true },
    );
  });

  test("claims the lowest pending chunk and never re-claims a completed one", async (s) => {
    await s.createChunkRun(
      {
        run_id: "c1",
        export_name: "orders",
        plan_hash: "h",
        max_chunk_attempts: 3,
        tasks: bounds(3),
      },
      T0,
    );
    const seen: number[] = [];
    for (
      let t = await s.claimChunkTask("c1", T1);
      t !== null;
      t = await s.claimChunkTask("c1", T1)
    ) {
      assert.equal(t.status, "running");
      assert.equal(t.attempts, 1);
      seen.push(t.chunk_index);
      assert.equal(
        await s.completeChunkTask("c1", t.chunk_index, {
          rows_written: 5,
          file_name: `f${t.chunk_index}`,
        }, T2),
        true,
      );
    }
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(await s.claimChunkTask("c1", T2), null);
    const tasks = await s.listChunkTasks("c1");
    assert.ok(tasks.every((t) => t.status === "completed" && t.rows_written === 5));
    assert.equal(
      await s.completeChunkTask("c1", 0, { rows_written: 1, file_name: null }, T2),
      false,
    );
  });

  test("re-claims a failed chunk only while its attempts are below the maximum", async (s) => {
    await s.createChunkRun(
      {
        run_id: "c1",
        export_name: "orders",
        plan_hash: "h",
        max_chunk_attempts: 2,
        tasks: bounds(1),
      },
      T0,
    );
    const a = await s.claimChunkTask("c1", T1);
    assert.equal(a?.attempts, 1);
    assert.equal(await s.failChunkTask("c1", 0, "timeout", T1), true);
    const b = await s.claimChunkTask("c1", T1);
    assert.equal(b?.chunk_index, 0);
    assert.equal(b?.attempts, 2);
    assert.equal(b?.last_error, "timeout");
    await s.failChunkTask("c1", 0, "timeout again", T2);
    assert.equal(await s.claimChunkTask("c1", T2), null);
    const [t] = await s.listChunkTasks("c1");
    assert.equal(t?.status, "failed");
    assert.equal(t?.attempts, 2);
    assert.equal(t?.last_error, "timeout again");
  });

  test("resets running chunks to pending on resume and keeps completed ones", async (s) => {
    await s.createChunkRun(
      {
        run_id: "c1",
        export_name: "orders",
        plan_hash: "h",
        max_chunk_attempts: 3,
        tasks: bounds(3),
      },
      T0,
    );
    const first = await s.claimChunkTask("c1", T1);
    await s.completeChunkTask("c1", first!.chunk_index, { rows_written: 1, file_name: "f" }, T1);
    await s.claimChunkTask("c1", T1); // chunk 1 left running by a "crash"
    assert.equal(await s.resetRunningChunkTasks("c1", T2), 1);
    const statuses = (await s.listChunkTasks("c1")).map((t) => t.status);
    assert.deepEqual(statuses, ["completed", "pending", "pending"]);
    assert.equal((await s.claimChunkTask("c1", T2))?.chunk_index, 1);
  });

  test("marks a chunk run completed only when every task is completed", async (s) => {
    await s.createChunkRun(
      {
        run_id: "c1",
        export_name: "orders",
        plan_hash: "h",
        max_chunk_attempts: 3,
        tasks: bounds(2),
      },
      T0,
    );
    const t0 = await s.claimChunkTask("c1", T1);
    await s.completeChunkTask("c1", t0!.chunk_index, { rows_written: 1, file_name: "f" }, T1);
    assert.deepEqual(await s.finishChunkRun("c1", T1), { completed: false, not_completed: 1 });
    assert.equal((await s.findInProgressChunkRun("orders"))?.run_id, "c1");
    const t1 = await s.claimChunkTask("c1", T2);
    await s.completeChunkTask("c1", t1!.chunk_index, { rows_written: 0, file_name: null }, T2);
    assert.deepEqual(await s.finishChunkRun("c1", T2), { completed: true, finished_now: true });
    assert.equal(await s.findInProgressChunkRun("orders"), null);
    assert.equal((await s.latestChunkRun("orders"))?.status, "completed");
    assert.equal(await s.claimChunkTask("c1", T2), null);
  });

  test("requeues a completed chunk with attempts, file and rows cleared", async (s) => {
    await s.createChunkRun(
      {
        run_id: "c1",
        export_name: "orders",
        plan_hash: "h",
        max_chunk_attempts: 3,
        tasks: bounds(1),
      },
      T0,
    );
    await s.claimChunkTask("c1", T1);
    await s.completeChunkTask("c1", 0, { rows_written: 3, file_name: "f0" }, T1);
    assert.equal(await s.requeueChunkTask("c1", 0, "part missing at destination", T2), true);
    const [t] = await s.listChunkTasks("c1");
    assert.deepEqual(
      [t?.status, t?.attempts, t?.file_name, t?.rows_written, t?.last_error],
      ["pending", 0, null, null, "part missing at destination"],
    );
  });

  test("deletes every chunk run and task of one export only", async (s) => {
    const base = { plan_hash: "h", max_chunk_attempts: 3, tasks: bounds(2) };
    await s.createChunkRun({ ...base, run_id: "c1", export_name: "orders" }, T0);
    await s.claimChunkTask("c1", T0);
    await s.completeChunkTask("c1", 0, { rows_written: 1, file_name: "f" }, T0);
    await s.claimChunkTask("c1", T0);
    await s.completeChunkTask("c1", 1, { rows_written: 1, file_name: "f" }, T0);
    await s.finishChunkRun("c1", T0);
    await s.createChunkRun({ ...base, run_id: "c2", export_name: "orders" }, T1);
    await s.createChunkRun({ ...base, run_id: "u1", export_name: "users" }, T1);
    assert.deepEqual(await s.deleteChunkRuns("orders"), { runs: 2, tasks: 4 });
    assert.equal(await s.latestChunkRun("orders"), null);
    assert.equal((await s.listChunkTasks("u1")).length, 2);
  });

  test("reports the most recently updated chunk run of an export", async (s) => {
    const base = { export_name: "orders", plan_hash: "h", max_chunk_attempts: 3, tasks: bounds(1) };
    await s.createChunkRun({ ...base, run_id: "c1" }, T0);
    await s.claimChunkTask("c1", T0);
    await s.completeChunkTask("c1", 0, { rows_written: 1, file_name: "f" }, T0);
    await s.finishChunkRun("c1", T0);
    await s.createChunkRun({ ...base, run_id: "c2" }, T1);
    assert.equal((await s.latestChunkRun("orders"))?.run_id, "c2");
  });

  // ── scale-out: leased claims shared by many workers ──
  const T3 = "2026-01-01T12:00:03.000Z";
  const T9 = "2026-01-01T12:00:09.000Z";
  const run = (tasks: number, max = 3) => ({
    run_id: "c1",
    export_name: "orders",
    plan_hash: "h",
    max_chunk_attempts: max,
    tasks: bounds(tasks),
  });
  const wA = (until: string) => ({ worker_id: "host-a:1:aa", lease_until: until });
  const wB = (until: string) => ({ worker_id: "host-b:2:bb", lease_until: until });

  test("records the claiming worker and its lease with a token unique per claim", async (s) => {
    await s.createChunkRun(run(2), T0);
    const a = await s.claimChunkTaskLeased("c1", wA(T3), T0);
    const b = await s.claimChunkTaskLeased("c1", wB(T3), T0);
    assert.deepEqual([a?.chunk_index, a?.status, a?.attempts, a?.worker_id], [
      0,
      "running",
      1,
      "host-a:1:aa",
    ]);
    assert.equal(b?.chunk_index, 1);
    assert.ok(a!.token.length >= 16 && a!.token !== b!.token);
    assert.deepEqual(
      (await s.listChunkLeases("c1")).map((l) => [l.chunk_index, l.worker_id, l.lease_until]),
      [[0, "host-a:1:aa", T3], [1, "host-b:2:bb", T3]],
    );
    assert.equal(await s.claimChunkTaskLeased("c1", wB(T3), T1), null);
  });

  test("takes over a running chunk only after its lease lapsed, and fences the old claim", async (s) => {
    await s.createChunkRun(run(1), T0);
    const a = await s.claimChunkTaskLeased("c1", wA(T2), T0);
    assert.equal(await s.claimChunkTaskLeased("c1", wB(T9), T1), null, "lease still held");
    const b = await s.claimChunkTaskLeased("c1", wB(T9), T3);
    assert.deepEqual([b?.chunk_index, b?.attempts, b?.worker_id], [0, 2, "host-b:2:bb"]);
    // The worker that lost its lease can neither renew, complete, fail nor release the chunk.
    assert.equal(await s.renewChunkLease("c1", 0, a!.token, T9, T3), false);
    assert.equal(
      await s.completeChunkTask("c1", 0, { rows_written: 9, file_name: "a" }, T3, a!.token),
      false,
    );
    assert.equal(await s.failChunkTask("c1", 0, "late", T3, a!.token), false);
    assert.equal(await s.releaseChunkTask("c1", 0, a!.token, T3), false);
    assert.equal(
      await s.completeChunkTask("c1", 0, { rows_written: 5, file_name: "b" }, T3, b!.token),
      true,
    );
    const [t] = await s.listChunkTasks("c1");
    assert.deepEqual([t?.status, t?.rows_written, t?.file_name], ["completed", 5, "b"]);
    assert.equal((await s.listChunkLeases("c1"))[0]?.worker_id, "host-b:2:bb");
    assert.equal(await s.claimChunkTaskLeased("c1", wA(T9), T9), null, "completed stays done");
  });

  test("a renewed lease keeps the chunk from being taken over", async (s) => {
    await s.createChunkRun(run(1), T0);
    const a = await s.claimChunkTaskLeased("c1", wA(T2), T0);
    assert.equal(await s.renewChunkLease("c1", 0, a!.token, T9, T1), true);
    assert.equal(await s.claimChunkTaskLeased("c1", wB(T9), T3), null);
    assert.equal((await s.listChunkLeases("c1"))[0]?.lease_until, T9);
  });

  test("does not take over a lapsed chunk whose attempts are used up", async (s) => {
    await s.createChunkRun(run(1, 2), T0);
    await s.claimChunkTaskLeased("c1", wA(T1), T0);
    assert.equal((await s.claimChunkTaskLeased("c1", wB(T3), T2))?.attempts, 2);
    assert.equal(await s.claimChunkTaskLeased("c1", wA(T9), T9), null);
    assert.equal((await s.listChunkTasks("c1"))[0]?.attempts, 2);
  });

  test("never takes over a running chunk claimed without a lease", async (s) => {
    await s.createChunkRun(run(1), T0);
    await s.claimChunkTask("c1", T0);
    assert.equal(await s.claimChunkTaskLeased("c1", wB(T9), T9), null);
    assert.deepEqual(await s.listChunkLeases("c1"), []);
  });

  test("a released chunk is pending again at once, this attempt not counted", async (s) => {
    await s.createChunkRun(run(1), T0);
    const a = await s.claimChunkTaskLeased("c1", wA(T9), T0);
    assert.equal(await s.releaseChunkTask("c1", 0, a!.token, T1), true);
    const [t] = await s.listChunkTasks("c1");
    assert.deepEqual([t?.status, t?.attempts], ["pending", 0]);
    assert.deepEqual(await s.listChunkLeases("c1"), []);
    assert.equal((await s.claimChunkTaskLeased("c1", wB(T9), T1))?.worker_id, "host-b:2:bb");
  });

  test("a failed leased chunk is re-claimed by any worker while attempts remain", async (s) => {
    await s.createChunkRun(run(1, 2), T0);
    const a = await s.claimChunkTaskLeased("c1", wA(T9), T0);
    assert.equal(await s.failChunkTask("c1", 0, "boom", T1, a!.token), true);
    const b = await s.claimChunkTaskLeased("c1", wB(T9), T1);
    assert.deepEqual([b?.attempts, b?.worker_id], [2, "host-b:2:bb"]);
    assert.equal(await s.failChunkTask("c1", 0, "boom again", T2, b!.token), true);
    assert.equal(await s.claimChunkTaskLeased("c1", wA(T9), T2), null);
  });

  test("resume, requeue and reset-chunks drop the leases they make stale", async (s) => {
    await s.createChunkRun(run(2), T0);
    const a = await s.claimChunkTaskLeased("c1", wA(T9), T0);
    const b = await s.claimChunkTaskLeased("c1", wB(T9), T0);
    await s.completeChunkTask("c1", 1, { rows_written: 1, file_name: "f" }, T1, b!.token);
    assert.equal(await s.resetRunningChunkTasks("c1", T1), 1);
    assert.deepEqual((await s.listChunkLeases("c1")).map((l) => l.chunk_index), [1]);
    assert.equal(
      await s.completeChunkTask("c1", 0, { rows_written: 1, file_name: "a" }, T1, a!.token),
      false,
      "the reset fenced the old claim",
    );
    assert.equal(await s.requeueChunkTask("c1", 1, "missing", T2), true);
    assert.deepEqual(await s.listChunkLeases("c1"), []);
    await s.claimChunkTaskLeased("c1", wA(T9), T2);
    assert.deepEqual(await s.deleteChunkRuns("orders"), { runs: 1, tasks: 2 });
    assert.deepEqual(await s.listChunkLeases("c1"), []);
  });

  test("exactly one of several finish calls flips the run to completed", async (s) => {
    await s.createChunkRun(run(1), T0);
    const a = await s.claimChunkTaskLeased("c1", wA(T9), T0);
    await s.completeChunkTask("c1", 0, { rows_written: 1, file_name: "f" }, T1, a!.token);
    const results = await Promise.all([1, 2, 3].map(() => s.finishChunkRun("c1", T2)));
    assert.deepEqual(
      results.map((r) => r.completed && r.finished_now).filter((x) => x),
      [true],
    );
    assert.equal((await s.getChunkRun("c1"))?.status, "completed");
    assert.equal(await s.getChunkRun("nope"), null);
  });

  // ── run groups: exactly one worker publishes a completed run ──
  const completedRun = async (s: StateStore) => {
    await s.createChunkRun(run(1), T0);
    const a = await s.claimChunkTaskLeased("c1", wA(T9), T0);
    await s.completeChunkTask("c1", 0, { rows_written: 1, file_name: "f" }, T1, a!.token);
    await s.finishChunkRun("c1", T1);
  };

  test("refuses to claim the publication of a run that is not completed", async (s) => {
    assert.deepEqual(await s.claimChunkRunPublish("c1", wA(T9), T0), {
      claimed: false,
      reason: "not_completed",
    });
    await s.createChunkRun(run(1), T0);
    assert.deepEqual(await s.claimChunkRunPublish("c1", wA(T9), T0), {
      claimed: false,
      reason: "not_completed",
    });
    assert.equal(await s.getChunkRunPublish("c1"), null);
  });

  test("exactly one of several concurrent claims gets a completed run's publication", async (s) => {
    await completedRun(s);
    const results = await Promise.all(
      [wA, wB, wA, wB].map((w) => s.claimChunkRunPublish("c1", w(T9), T2)),
    );
    const won = results.filter((r) => r.claimed);
    assert.equal(won.length, 1);
    for (const r of results.filter((r) => !r.claimed)) {
      assert.equal(r.claimed === false && r.reason, "held");
    }
    const token = (won[0] as { token: string }).token;
    assert.equal(await s.finishChunkRunPublish("c1", token, T3), true);
    assert.equal(await s.finishChunkRunPublish("c1", token, T3), false, "published only once");
    const after = await s.claimChunkRunPublish("c1", wB(T9), T9);
    assert.deepEqual(after.claimed === false && after.reason, "published");
    const row = await s.getChunkRunPublish("c1");
    assert.equal(row?.published_at, T3);
  });

  test("a lapsed unpublished publication claim is taken over and fences the old holder", async (s) => {
    await completedRun(s);
    const a = await s.claimChunkRunPublish("c1", wA(T2), T1);
    assert.ok(a.claimed);
    const held = await s.claimChunkRunPublish("c1", wB(T9), T2);
    assert.deepEqual(held, {
      claimed: false,
      reason: "held",
      worker_id: "host-a:1:aa",
      lease_until: T2,
    });
    const b = await s.claimChunkRunPublish("c1", wB(T9), T3);
    assert.ok(b.claimed);
    assert.equal(await s.renewChunkRunPublish("c1", a.token, T9), false);
    assert.equal(await s.finishChunkRunPublish("c1", a.token, T3), false);
    assert.equal(await s.releaseChunkRunPublish("c1", a.token), false);
    assert.equal(await s.renewChunkRunPublish("c1", b.token, T9), true);
    assert.equal(await s.finishChunkRunPublish("c1", b.token, T9), true);
    assert.equal((await s.getChunkRunPublish("c1"))?.worker_id, "host-b:2:bb");
  });

  test("a released publication claim can be taken again at once", async (s) => {
    await completedRun(s);
    const a = await s.claimChunkRunPublish("c1", wA(T9), T1);
    assert.ok(a.claimed);
    assert.equal(await s.releaseChunkRunPublish("c1", a.token), true);
    assert.equal(await s.getChunkRunPublish("c1"), null);
    assert.ok((await s.claimChunkRunPublish("c1", wB(T9), T1)).claimed);
  });

  test("reset-chunks drops the publication, and a reused run id is published again", async (s) => {
    await completedRun(s);
    const a = await s.claimChunkRunPublish("c1", wA(T9), T1);
    assert.ok(a.claimed);
    await s.finishChunkRunPublish("c1", a.token, T2);
    await s.deleteChunkRuns("orders");
    assert.equal(await s.getChunkRunPublish("c1"), null);
    // The same run id again (a run group run after reset-chunks), created later.
    await s.createChunkRun(run(1), T3);
    const t = await s.claimChunkTaskLeased("c1", wA(T9), T3);
    await s.completeChunkTask("c1", 0, { rows_written: 1, file_name: "f" }, T3, t!.token);
    await s.finishChunkRun("c1", T3);
    assert.ok((await s.claimChunkRunPublish("c1", wB(T9), T3)).claimed);
  });
}
