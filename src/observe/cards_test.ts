// Tests of the cards and the IPC events: golden card text, printing once without a terminal, redraws on one, event parsing and the child's reporters (observability layer tests).
import assert from "node:assert/strict";
import {
  CardBoard,
  emitIpcEvent,
  finishedEvent,
  ipcChunkProgress,
  type IpcEvent,
  ipcEventsEnabled,
  ipcRowsProgress,
  parseIpcEvent,
  startedEvent,
} from "./cards.ts";

const started = (name: string, mode: string): IpcEvent => ({
  type: "started",
  export_name: name,
  run_id: `${name}_20240101T000000`,
  mode,
  tuning_profile: "balanced (default)",
  batch_size: 10_000,
});

/** A board on a fake clock that records what it writes. */
function board(interactive: boolean, names = ["orders", "users"]) {
  let now = 0;
  const writes: string[] = [];
  const b = new CardBoard(names, {
    interactive,
    write: (t) => writes.push(t),
    now: () => now,
    minRedrawMs: 100,
  });
  return { b, writes, at: (ms: number) => void (now = ms) };
}

Deno.test("without a terminal each card is printed once, when its export finishes (golden)", () => {
  const { b, writes, at } = board(false);
  b.apply(started("orders", "chunked"));
  b.apply({ type: "progress_init", export_name: "orders", total_chunks: 4 });
  b.apply(started("users", "full"));
  at(1000);
  b.apply({ type: "progress", export_name: "orders", chunks_done: 2, rows: 50_000 });
  assert.deepEqual(writes, []);
  at(4000);
  b.apply({
    type: "finished",
    export_name: "users",
    run_id: "users_20240101T000000",
    status: "failed",
    total_rows: 0,
    files_produced: 0,
    bytes_written: 0,
    duration_ms: 3_500,
    peak_rss_mb: 0,
    error_message: 'source refused:\n  relation "users" does not exist',
  });
  b.apply({
    type: "finished",
    export_name: "orders",
    run_id: "orders_20240101T000000",
    status: "success",
    total_rows: 123_456,
    files_produced: 4,
    bytes_written: 5_452_595,
    duration_ms: 4_000,
    peak_rss_mb: 212,
    error_message: null,
  });
  b.apply({ type: "progress", export_name: "orders", chunks_done: 4, rows: 999 });
  b.close();
  assert.deepEqual(writes, [
    "── users ──────────────────────────────────────────── failed\n" +
    "  run_id:   users_20240101T000000\n" +
    "  mode:     full · profile=balanced (default) · batch_size=10,000\n" +
    "  rows:     0 rows · 0 rows/s\n" +
    "  files:    0 files · 0 B · 3.5s\n" +
    '  error:    source refused: relation "users" does not exist\n',
    "── orders ────────────────────────────────────────── success\n" +
    "  run_id:   orders_20240101T000000\n" +
    "  mode:     chunked · profile=balanced (default) · batch_size=10,000\n" +
    "  rows:     123,456 rows · 30,864 rows/s · chunks 4/4\n" +
    "  files:    4 files · 5.2 MB · 4.0s · peak RSS 212 MB\n",
  ]);
});

Deno.test("without a terminal close prints the cards of exports that never finished", () => {
  const { b, writes, at } = board(false);
  b.apply(started("orders", "full"));
  at(2000);
  b.apply({ type: "progress", export_name: "orders", chunks_done: 0, rows: 10 });
  b.close();
  b.close();
  assert.deepEqual(writes, [
    "── orders ────────────────────────────────────────── running\n" +
    "  run_id:   orders_20240101T000000\n" +
    "  mode:     full · profile=balanced (default) · batch_size=10,000\n" +
    "  rows:     10 rows · 5 rows/s\n" +
    "  elapsed:  2.0s\n",
    "── users ─────────────────────────────────────────── waiting\n" +
    "  status:   starting\n",
  ]);
});

Deno.test("on a terminal the board redraws all cards in place, at most every minRedrawMs", () => {
  const { b, writes, at } = board(true);
  b.apply(started("orders", "full")); // status change: drawn at once
  assert.equal(writes.length, 1);
  assert.ok(!writes[0]!.includes("\x1b["), "the first draw moves the cursor");
  const lines = writes[0]!.split("\n").length - 1;
  assert.equal(lines, 5 + 2); // running card: 5 lines, waiting card: 2
  at(50);
  b.apply({ type: "progress", export_name: "orders", chunks_done: 0, rows: 5 }); // throttled
  assert.equal(writes.length, 1);
  at(150);
  b.apply({ type: "progress", export_name: "orders", chunks_done: 0, rows: 7 });
  assert.equal(writes.length, 2);
  assert.ok(writes[1]!.startsWith(`\x1b[${lines}A\r\x1b[0J── orders `));
  assert.match(writes[1]!, /rows: {5}7 rows/);
  b.close();
  assert.equal(writes.length, 3);
});

Deno.test("a card with an unknown chunk total counts chunks without a total", () => {
  const { b, writes } = board(false, ["pages"]);
  b.apply(started("pages", "keyset"));
  b.apply({ type: "progress_init", export_name: "pages", total_chunks: 0 });
  b.apply({ type: "progress", export_name: "pages", chunks_done: 3, rows: 30 });
  b.close();
  assert.match(writes[0]!, /rows: {5}30 rows · 0 rows\/s · chunks 3\n/);
});

Deno.test("parseIpcEvent reads the four event types and rejects anything else", () => {
  const events: IpcEvent[] = [
    started("orders", "chunked"),
    { type: "progress_init", export_name: "orders", total_chunks: 3 },
    { type: "progress", export_name: "orders", chunks_done: 1, rows: 10 },
    finishedEvent({
      name: "orders",
      runId: "r1",
      status: "success",
      rows: 10,
      parts: [{}, {}],
      bytes: 99,
      durationMs: 5,
      peakRssMb: 1,
      error: null,
    }),
  ];
  for (const e of events) assert.deepEqual(parseIpcEvent(JSON.stringify(e)), e);
  assert.equal((events[3] as { files_produced: number }).files_produced, 2);
  for (
    const bad of [
      "not json",
      "null",
      "[]",
      '{"type":"started","export_name":"x"}',
      '{"type":"progress","export_name":"x","chunks_done":"1","rows":2}',
      '{"type":"nope","export_name":"x"}',
      '{"type":"progress_init","total_chunks":1}',
    ]
  ) {
    assert.equal(parseIpcEvent(bad), null, bad);
  }
});

Deno.test("emitIpcEvent writes one redacted JSON line only in child mode", () => {
  const lines: string[] = [];
  const e = finishedEvent({
    name: "o",
    runId: "r",
    status: "failed",
    rows: 0,
    parts: [],
    bytes: 0,
    durationMs: 1,
    peakRssMb: 0,
    error: "cannot connect to postgres://bob:hunter2@db/app",
  });
  assert.equal(emitIpcEvent(e, (l) => lines.push(l), false), false);
  assert.equal(lines.length, 0);
  assert.equal(emitIpcEvent(e, (l) => lines.push(l), true), true);
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith("}\n"));
  assert.ok(!lines[0]!.includes("hunter2"));
  assert.equal(parseIpcEvent(lines[0]!)?.type, "finished");
  assert.equal(ipcEventsEnabled((k) => (k === "RIVET_IPC_EVENTS" ? "1" : undefined)), true);
  assert.equal(ipcEventsEnabled(() => undefined), false);
});

Deno.test("startedEvent takes the label and batch size of the plan's tuning", () => {
  assert.deepEqual(
    startedEvent({
      name: "o",
      runId: "o_1",
      mode: "full",
      tuning: { label: "safe", batchSize: 2000 },
    }),
    {
      type: "started",
      export_name: "o",
      run_id: "o_1",
      mode: "full",
      tuning_profile: "safe",
      batch_size: 2000,
    },
  );
});

Deno.test("the child's chunk reporter sends progress_init, every chunk, and throttled rows", () => {
  let now = 0;
  const sent: IpcEvent[] = [];
  const p = ipcChunkProgress("o", 3, {
    intervalMs: 500,
    now: () => now,
    emit: (e) => sent.push(e),
  });
  p.rows(10); // first update goes out
  now = 100;
  p.rows(5); // throttled
  p.chunkDone(); // always sent
  now = 200;
  p.rows(-2); // throttled; flushed by done()
  p.done();
  assert.deepEqual(sent, [
    { type: "progress_init", export_name: "o", total_chunks: 3 },
    { type: "progress", export_name: "o", chunks_done: 0, rows: 10 },
    { type: "progress", export_name: "o", chunks_done: 1, rows: 15 },
    { type: "progress", export_name: "o", chunks_done: 1, rows: 13 },
  ]);
});

Deno.test("the child's row reporter throttles running totals and sends the last one on done", () => {
  let now = 0;
  const sent: IpcEvent[] = [];
  const p = ipcRowsProgress("o", { intervalMs: 500, now: () => now, emit: (e) => sent.push(e) });
  p.rows(100);
  now = 10;
  p.rows(200);
  now = 600;
  p.rows(300);
  p.rows(400);
  p.done();
  p.done();
  assert.deepEqual(sent.map((e) => (e as { rows: number }).rows), [100, 300, 400]);
});
