// End-to-end tests of the memory controls on the data path: batches split by auto_shrink encode to the same Parquet and CSV as unsplit ones, read back by DuckDB (end-to-end tests).
import assert from "node:assert/strict";
import * as path from "node:path";
import type * as arrow from "apache-arrow";
import type { BatchMemoryPolicy } from "../src/config/config_types.ts";
import { CsvFormat } from "../src/format/csv/csv_format.ts";
import type { Format } from "../src/format/format.ts";
import { ParquetFormat } from "../src/format/parquet/parquet_format.ts";
import { waitBelow } from "../src/observe/rss_guard.ts";
import { batchBytes, BatchMemoryStream } from "../src/quality/batch_memory.ts";
import { BatchBuilder } from "../src/source/batch_builder.ts";
import type { ColumnSpec, RivetType } from "../src/source/rivet_types.ts";
import { duckRows } from "./helpers/duck.ts";

const col = (name: string, type: RivetType): ColumnSpec => ({
  name,
  type,
  nativeType: "x",
  fidelity: "exact",
});

const SPECS: readonly ColumnSpec[] = [
  col("id", { kind: "int64" }),
  col("ok", { kind: "bool" }),
  col("amount", { kind: "decimal", precision: 18, scale: 2 }),
  col("ts", { kind: "timestamp" }),
  col("note", { kind: "string" }),
  col("blob", { kind: "binary" }),
  col("tags", { kind: "list", item: { kind: "string" } }),
];

/** Rows of varying width with NULLs in every column, ids from `from`. */
function batchOf(from: number, rows: number): arrow.RecordBatch {
  const b = new BatchBuilder(SPECS);
  for (let i = from; i < from + rows; i++) {
    const nul = i % 7 === 0;
    const values = [
      BigInt(i),
      nul ? null : i % 2 === 0,
      nul ? null : BigInt(i * 101),
      nul ? null : BigInt(i) * 1_000_000n,
      nul ? null : `row ${i} `.repeat(1 + (i % 50)),
      nul ? null : new Uint8Array(i % 300).fill(i % 256),
      nul ? null : Array.from({ length: i % 4 }, (_, k) => (k === 1 ? null : `t${i}.${k}`)),
    ];
    values.forEach((v, c) => b.columns[c]!.append(v));
    b.endRow();
  }
  return b.finish();
}

const INPUT = [batchOf(0, 2500), batchOf(2500, 10), batchOf(2510, 4000)];

async function encode(format: Format, policy: BatchMemoryPolicy) {
  const warnings: string[] = [];
  const mem = new BatchMemoryStream({
    exportName: "orders",
    maxBatchMemoryMb: 0.125,
    policy,
    warn: (m) => warnings.push(m),
  });
  const encoder = await format.encoder(INPUT[0]!.schema);
  const chunks: Uint8Array[] = [];
  await ReadableStream.from(INPUT).pipeThrough(mem).pipeThrough(encoder.stream).pipeTo(
    new WritableStream({ write: (c) => void chunks.push(c) }),
  );
  const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, stats: mem.stats, warnings };
}

Deno.test("the test input is over the cap, so auto_shrink really splits it", () => {
  const over = INPUT.filter((b) => batchBytes(b) > 0.125 * 1024 * 1024);
  assert.equal(over.length, 2);
});

Deno.test("auto_shrink writes byte-identical CSV to warn for the same input", async () => {
  const warned = await encode(new CsvFormat(), "warn");
  const shrunk = await encode(new CsvFormat(), "auto_shrink");
  assert.equal(warned.warnings.length, 1, "warn logs the first batch over the cap");
  assert.ok(shrunk.stats.piecesWritten > 4, `only ${shrunk.stats.piecesWritten} pieces`);
  assert.deepEqual(shrunk.warnings, []);
  assert.equal(new TextDecoder().decode(shrunk.bytes), new TextDecoder().decode(warned.bytes));
});

Deno.test("auto_shrink Parquet reads back in DuckDB with the same rows as warn, in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rivet_mem_" });
  try {
    const files: string[] = [];
    for (const policy of ["warn", "auto_shrink"] as const) {
      const { bytes, stats } = await encode(new ParquetFormat({ codec: "zstd" }), policy);
      if (policy === "auto_shrink") assert.ok(stats.piecesWritten > 4);
      const file = path.join(dir, `${policy}.parquet`);
      await Deno.writeFile(file, bytes);
      files.push(file);
    }
    const cols = "id, ok, amount::VARCHAR AS amount, ts::VARCHAR AS ts, note, " +
      "hex(blob) AS blob, tags::VARCHAR AS tags";
    const [warned, shrunk] = await Promise.all(
      files.map((f) => duckRows(`SELECT ${cols} FROM read_parquet('${f}')`)),
    );
    assert.equal(shrunk!.length, 6510);
    assert.deepEqual(shrunk, warned);
    assert.deepEqual(shrunk!.map((r) => Number(r.id)), Array.from({ length: 6510 }, (_, i) => i));
    const row = shrunk![3]!;
    assert.deepEqual(row, {
      id: "3",
      ok: false,
      amount: "3.03",
      ts: "1970-01-01 00:00:03",
      note: "row 3 row 3 row 3 row 3 ",
      blob: "030303",
      tags: "[t3.0, NULL, t3.2]",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fail stops the data path at the first batch over the cap", async () => {
  await assert.rejects(
    encode(new CsvFormat(), "fail"),
    /batch memory 0\.\d MB exceeds max_batch_memory_mb=0\.125 MB \(2500 rows\)/,
  );
});

Deno.test("the RSS guard reads this process's real RSS and pauses while it is above", async () => {
  const slept: number[] = [];
  const r = await waitBelow(1, {
    pollMs: 1000,
    maxWaitMs: 2000,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    logger: { warn: () => {}, info: () => {} },
  });
  assert.equal(r.reason, "gave_up");
  assert.ok(r.rssMb > 1);
  assert.deepEqual(slept, [1000, 1000]);
});
