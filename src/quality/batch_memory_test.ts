// Tests of the batch memory cap: byte counting of batches and slices, and the warn / fail / auto_shrink policies (execution layer tests).
import assert from "node:assert/strict";
import type * as arrow from "apache-arrow";
import type { BatchMemoryPolicy } from "../config/config_types.ts";
import { RivetError } from "../errors.ts";
import { BatchBuilder } from "../source/batch_builder.ts";
import type { ColumnSpec, RivetType } from "../source/rivet_types.ts";
import { allTypesBatch } from "../format/all_types_fixture.ts";
import {
  batchBytes,
  batchMemoryMessage,
  BatchMemoryStream,
  suggestedBatchSize,
} from "./batch_memory.ts";

const MIB = 1024 * 1024;

const spec = (name: string, type: RivetType): ColumnSpec => ({
  name,
  type,
  nativeType: "x",
  fidelity: "exact",
});
const SPECS = [spec("id", { kind: "int64" }), spec("s", { kind: "string" })];

/** `rows` rows of (id, text of `width` characters), ids counting from `from`. */
function wideBatch(rows: number, width: number, from = 0): arrow.RecordBatch {
  const b = new BatchBuilder(SPECS);
  for (let i = 0; i < rows; i++) {
    b.columns[0]!.append(BigInt(from + i));
    b.columns[1]!.append(String(from + i).padEnd(width, "x"));
    b.endRow();
  }
  return b.finish();
}

async function run(
  batches: readonly arrow.RecordBatch[],
  policy: BatchMemoryPolicy,
  maxBatchMemoryMb: number,
  warnEvery?: number,
) {
  const warnings: string[] = [];
  const stream = new BatchMemoryStream({
    exportName: "orders",
    maxBatchMemoryMb,
    policy,
    warn: (m) => warnings.push(m),
    ...(warnEvery === undefined ? {} : { warnEvery }),
  });
  const out: arrow.RecordBatch[] = [];
  await ReadableStream.from(batches).pipeThrough(stream).pipeTo(
    new WritableStream({ write: (b) => void out.push(b) }),
  );
  return { out, warnings, stats: stream.stats };
}

/** Every row of the batches as [id, s], in order. */
function rowsOf(batches: readonly arrow.RecordBatch[]): [bigint, string][] {
  const rows: [bigint, string][] = [];
  for (const b of batches) {
    const id = b.getChildAt(0)!;
    const s = b.getChildAt(1)!;
    for (let i = 0; i < b.numRows; i++) rows.push([id.get(i) as bigint, s.get(i) as string]);
  }
  return rows;
}

Deno.test("batchBytes counts the value, offset and validity buffers of every column", () => {
  // 1 000 rows: int64 8 000 B; utf8 4 004 B of offsets + 4 000 B of text; no nulls, no bitmap.
  assert.equal(batchBytes(wideBatch(1000, 4, 1000)), 8_000 + 4_004 + 4_000);
  const withNulls = new BatchBuilder(SPECS);
  for (let i = 0; i < 10; i++) {
    withNulls.columns[0]!.append(i % 2 === 0 ? null : BigInt(i));
    withNulls.columns[1]!.append(i % 2 === 0 ? null : "ab");
    withNulls.endRow();
  }
  // bitmaps of 2 B each; int64 80 B; utf8 44 B of offsets + 10 B of text.
  assert.equal(batchBytes(withNulls.finish()), 2 + 80 + 2 + 44 + 10);
});

Deno.test("batchBytes of a slice counts only the slice's rows, also for strings and lists", () => {
  const whole = wideBatch(1000, 100);
  const first = batchBytes(whole.slice(0, 500));
  const second = batchBytes(whole.slice(500, 1000));
  // Each half has its own n+1 offsets, hence the 4 extra bytes.
  assert.equal(first + second, batchBytes(whole) + 4);
  assert.ok(first < batchBytes(whole) * 0.51, `${first} is not about half`);

  const all = allTypesBatch();
  const total = batchBytes(all);
  const parts = Array.from({ length: all.numRows }, (_, i) => batchBytes(all.slice(i, i + 1)));
  assert.ok(parts.every((p) => p < total), `a 1-row slice weighs as much as the batch: ${parts}`);
});

Deno.test("suggestedBatchSize is rows times limit over bytes, and at least 1", () => {
  assert.equal(suggestedBatchSize(10_000, 12.5 * MIB, 8 * MIB), 6_400);
  assert.equal(suggestedBatchSize(1, 100 * MIB, 8 * MIB), 1);
  assert.equal(
    batchMemoryMessage(10_000, 12.5 * MIB, 8),
    "batch memory 12.5 MB exceeds max_batch_memory_mb=8 MB (10000 rows). Consider lowering batch_size to ~6400.",
  );
});

Deno.test("BatchMemoryStream passes batches under the cap on untouched and silently", async () => {
  const input = [wideBatch(100, 10), wideBatch(100, 10, 100)];
  for (const policy of ["warn", "fail", "auto_shrink"] as const) {
    const { out, warnings, stats } = await run(input, policy, 1);
    assert.deepEqual(warnings, []);
    assert.equal(out.length, 2);
    assert.ok(out[0] === input[0] && out[1] === input[1], `${policy} replaced a batch`);
    assert.equal(stats.batchesOver, 0);
  }
});

Deno.test("warn logs the spec message with the suggested batch size and passes the batch on", async () => {
  const batch = wideBatch(1024, 1000); // ≈ 0.97 MiB
  const bytes = batchBytes(batch);
  const { out, warnings } = await run([batch], "warn", 0.25);
  assert.deepEqual(out, [batch]);
  assert.deepEqual(warnings, [
    `export 'orders': batch memory ${(bytes / MIB).toFixed(1)} MB exceeds ` +
    `max_batch_memory_mb=0.25 MB (1024 rows). Consider lowering batch_size to ~${
      Math.floor((1024 * 0.25 * MIB) / bytes)
    }.`,
  ]);
});

Deno.test("warn logs the first batch over the cap and then once every warnEvery batches", async () => {
  const input = Array.from({ length: 5 }, (_, i) => wideBatch(300, 1000, i * 300));
  const { out, warnings, stats } = await run(input, "warn", 0.25, 2);
  assert.equal(out.length, 5);
  assert.equal(stats.batchesOver, 5);
  assert.equal(warnings.length, 3);
  assert.match(warnings[1]!, /\(3 batches over the cap so far\)$/);
  assert.match(warnings[2]!, /\(5 batches over the cap so far\)$/);
});

Deno.test("fail errors the stream with the numbers and suggests auto_shrink", async () => {
  const batch = wideBatch(1024, 1000);
  await assert.rejects(run([batch], "fail", 0.25), (err: unknown) => {
    assert.ok(err instanceof RivetError);
    assert.match(
      err.message,
      /^export 'orders': batch memory 1\.0 MB exceeds max_batch_memory_mb=0\.25 MB \(1024 rows\)\. Consider lowering batch_size to ~\d+\.$/,
    );
    assert.match(err.hint ?? "", /on_batch_memory_exceeded: auto_shrink/);
    assert.equal(err.retryable, false);
    return true;
  });
});

Deno.test("auto_shrink halves a batch recursively until every piece fits", async () => {
  // 1 001 rows of ≈ 1 012 B: halves of 501/500 are still over 0.25 MiB, quarters fit.
  const { out, warnings, stats } = await run([wideBatch(1001, 1000)], "auto_shrink", 0.25);
  assert.deepEqual(out.map((b) => b.numRows), [251, 250, 250, 250]);
  assert.ok(out.every((b) => batchBytes(b) <= 0.25 * MIB));
  assert.deepEqual(warnings, []);
  assert.equal(stats.batchesOver, 1);
  assert.equal(stats.piecesWritten, 4);
});

Deno.test("auto_shrink passes a single row that still exceeds the cap on, with a warning", async () => {
  const rows = [wideBatch(1, 10), wideBatch(1, 400_000, 1), wideBatch(1, 10, 2)];
  const b = new BatchBuilder(SPECS);
  // One batch: a small row, a 400 kB row, a small row; the cap is 0.25 MiB.
  for (const r of rowsOf(rows)) {
    b.columns[0]!.append(r[0]);
    b.columns[1]!.append(r[1]);
    b.endRow();
  }
  const { out, warnings, stats } = await run([b.finish()], "auto_shrink", 0.25);
  assert.deepEqual(out.map((x) => x.numRows), [1, 1, 1]);
  assert.deepEqual(rowsOf(out), rowsOf(rows));
  assert.equal(stats.oversizedRows, 1);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /^export 'orders': a single row takes 0\.4 MB, above max_batch_memory_mb=0\.25 MB/,
  );
});

Deno.test("warn and auto_shrink write the same rows in the same order", async () => {
  const input = [wideBatch(700, 900, 0), wideBatch(3, 10, 700), wideBatch(1500, 400, 703)];
  const warned = await run(input, "warn", 0.25);
  const shrunk = await run(input, "auto_shrink", 0.25);
  assert.ok(shrunk.out.length > warned.out.length, "auto_shrink did not split anything");
  assert.deepEqual(rowsOf(shrunk.out), rowsOf(warned.out));
  assert.equal(rowsOf(shrunk.out).length, 2203);
  assert.ok(shrunk.out.every((b) => String(b.schema) === String(input[0]!.schema)));
});

Deno.test("BatchMemoryStream rejects a cap that is not a positive number", () => {
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(
      () => new BatchMemoryStream({ exportName: "x", maxBatchMemoryMb: bad, policy: "warn" }),
      RangeError,
    );
  }
});
