// Tests of the RSS guard with a fake RSS reader and a fake clock: when it waits, how long, what it logs (observability layer tests).
import assert from "node:assert/strict";
import { chunkWaitPolicy, waitBelow, type WaitBelowOptions } from "./rss_guard.ts";

const MIB = 1024 * 1024;

/** A reader returning the given MiB values in turn (the last one repeats), a fake sleep and a log. */
function fakes(readingsMb: readonly number[]) {
  let i = 0;
  const sleeps: number[] = [];
  const lines: string[] = [];
  const ticks: number[] = [];
  const opts: WaitBelowOptions = {
    readRssBytes: () => readingsMb[Math.min(i++, readingsMb.length - 1)]! * MIB,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    logger: { warn: (m) => lines.push(`warn: ${m}`), info: (m) => lines.push(`info: ${m}`) },
    onWait: (t) => ticks.push(t.rssMb),
    label: "export 'orders' chunk 3",
  };
  return { opts, sleeps, lines, ticks, reads: () => i };
}

Deno.test("waitBelow returns at once without logging when RSS is under the threshold", async () => {
  const f = fakes([1000]);
  const r = await waitBelow(2048, { ...f.opts, pollMs: 2000 });
  assert.deepEqual(r, { waited: false, waitedMs: 0, rssMb: 1000, reason: "below" });
  assert.deepEqual(f.sleeps, []);
  assert.deepEqual(f.lines, []);
});

Deno.test("waitBelow with threshold 0 is off and does not even read RSS", async () => {
  const f = fakes([99_999]);
  const r = await waitBelow(0, f.opts);
  assert.equal(r.reason, "off");
  assert.equal(f.reads(), 0);
});

Deno.test("waitBelow polls until RSS drops, logging once when it pauses and once when it resumes", async () => {
  const f = fakes([3000, 2900, 2500, 2048]);
  const r = await waitBelow(2048, { ...f.opts, pollMs: 2000 });
  assert.deepEqual(r, { waited: true, waitedMs: 6000, rssMb: 2048, reason: "below" });
  assert.deepEqual(f.sleeps, [2000, 2000, 2000]);
  assert.deepEqual(f.ticks, [3000, 2900, 2500]);
  assert.deepEqual(f.lines, [
    "warn: export 'orders' chunk 3: process RSS 3000 MB is above memory_threshold_mb=2048 MB; " +
    "pausing until it drops (checked every 2s)",
    "info: export 'orders' chunk 3: process RSS 2048 MB is back under 2048 MB after 6s; resuming",
  ]);
});

Deno.test("waitBelow gives up after maxWaitMs and says it resumes anyway", async () => {
  const f = fakes([5000]);
  const r = await waitBelow(4096, { ...f.opts, pollMs: 2000, maxWaitMs: 5000 });
  assert.deepEqual(r, { waited: true, waitedMs: 5000, rssMb: 5000, reason: "gave_up" });
  assert.deepEqual(f.sleeps, [2000, 2000, 1000]);
  assert.equal(f.lines.length, 2);
  assert.match(f.lines[0]!, /pausing up to 5s before continuing$/);
  assert.match(f.lines[1]!, /^warn: .*still above 4096 MB after 5s; resuming anyway$/);
});

Deno.test("waitBelow stops waiting when its signal is aborted", async () => {
  const f = fakes([5000]);
  const ac = new AbortController();
  const r = await waitBelow(4096, {
    ...f.opts,
    signal: ac.signal,
    sleep: (ms) => {
      f.sleeps.push(ms);
      ac.abort();
      return Promise.resolve();
    },
  });
  assert.equal(r.reason, "aborted");
  assert.deepEqual(f.sleeps, [2000]);
});

Deno.test("waitBelow with the real RSS reader and a huge threshold does not wait", async () => {
  const r = await waitBelow(1024 * 1024, { pollMs: 10, maxWaitMs: 10 });
  assert.equal(r.reason, "below");
  assert.ok(r.rssMb > 0);
});

Deno.test("chunkWaitPolicy follows spec 7.6 for sequential, parallel and parallel checkpoint runs", () => {
  assert.deepEqual(chunkWaitPolicy(1, false), { pollMs: 5000, maxWaitMs: 5000 });
  assert.deepEqual(chunkWaitPolicy(1, true), { pollMs: 5000, maxWaitMs: 5000 });
  assert.deepEqual(chunkWaitPolicy(4, false), { pollMs: 2000, maxWaitMs: Infinity });
  assert.deepEqual(chunkWaitPolicy(4, true), { pollMs: 2000, maxWaitMs: 2000 });
});
