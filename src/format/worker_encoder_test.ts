// Tests of files encoded in the pooled encode worker: same bytes as on the main thread, digests of exactly those bytes (execution layer tests).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as arrow from "apache-arrow";
import { createXXHash3 } from "hash-wasm";
import { BatchBuilder } from "../source/batch_builder.ts";
import { CsvEncoderStream, CsvFormat } from "./csv/csv_format.ts";
import { ParquetFormat, plainColumnsOf } from "./parquet/parquet_format.ts";
import type { FileDigest, Format } from "./format.ts";
import { IpcBufferPool, ipcStreamOf } from "./worker_encoder.ts";

function batch(from: number, rows: number): arrow.RecordBatch {
  const b = new BatchBuilder([
    { name: "id", type: { kind: "int64" }, nativeType: "bigint", fidelity: "exact" },
    { name: "label", type: { kind: "string" }, nativeType: "text", fidelity: "exact" },
    { name: "flag", type: { kind: "bool" }, nativeType: "boolean", fidelity: "exact" },
  ]);
  for (let i = from; i < from + rows; i++) {
    b.columns[0]!.append(BigInt(i));
    b.columns[1]!.append(i % 7 === 0 ? null : `row "${i}", ok`);
    b.columns[2]!.append(i % 3 === 0);
    b.endRow();
  }
  return b.finish();
}

async function encode(format: Format, batches: arrow.RecordBatch[]) {
  const enc = await format.encoder(batches[0]?.schema ?? batch(0, 1).schema);
  const writing = (async () => {
    const w = enc.stream.writable.getWriter();
    for (const b of batches) await w.write(b);
    await w.close();
  })();
  const bytes = new Uint8Array(await new Response(enc.stream.readable).arrayBuffer());
  await writing;
  return { bytes, digest: await enc.digest!() };
}

async function digestOf(bytes: Uint8Array): Promise<FileDigest> {
  const x = await createXXHash3();
  x.init();
  x.update(bytes);
  return {
    fingerprint: `xxh3:${x.digest("hex")}`,
    md5: createHash("md5").update(bytes).digest("base64"),
    bytes: bytes.length,
  };
}

const BATCHES = [batch(0, 3000), batch(3000, 10), batch(3010, 4000)];

Deno.test("CSV encoded in the worker is byte-identical to the main-thread encoder, with its digest", async () => {
  const { bytes, digest } = await encode(new CsvFormat(), BATCHES);
  const here = new Uint8Array(
    await new Response(
      ReadableStream.from(BATCHES).pipeThrough(new CsvEncoderStream(BATCHES[0]!.schema)),
    )
      .arrayBuffer(),
  );
  assert.deepEqual(bytes, here);
  assert.deepEqual(digest, await digestOf(bytes));
});

Deno.test("the pooled worker encodes one file after another, each with its own digest", async () => {
  const format = new ParquetFormat({ codec: "zstd" });
  const first = await encode(format, BATCHES);
  const csv = await encode(new CsvFormat(), BATCHES.slice(0, 2));
  const second = await encode(format, BATCHES.slice(1));
  for (const f of [first, csv, second]) assert.deepEqual(f.digest, await digestOf(f.bytes));
  assert.equal(await format.countRows(first.bytes), 7010);
  assert.equal(await format.countRows(second.bytes), 4010);
  assert.equal(await new CsvFormat().countRows(csv.bytes), 3010);
});

Deno.test("a one-batch file and a file without batches are encoded in the worker with their digest", async () => {
  const one = await encode(new CsvFormat(), [batch(0, 5)]);
  assert.deepEqual(one.digest, await digestOf(one.bytes));
  const none = await encode(new CsvFormat(), []);
  assert.equal(new TextDecoder().decode(none.bytes), "id,label,flag\n");
  assert.deepEqual(none.digest, await digestOf(none.bytes));
});

Deno.test("plainColumnsOf skips the dictionary for near-unique columns only", () => {
  assert.deepEqual(plainColumnsOf(batch(0, 3000)), ["id", "label"]);
  assert.deepEqual(plainColumnsOf(batch(0, 10)), [], "too few rows to judge");
});

Deno.test("ipcStreamOf writes the same bytes as tableToIPC and reuses a returned buffer", () => {
  const pool = new IpcBufferPool(2);
  const b = batch(0, 500);
  const first = ipcStreamOf(b, pool);
  assert.deepEqual(first, arrow.tableToIPC(new arrow.Table([b]), "stream"));
  pool.give(first.buffer as ArrayBuffer);
  const second = ipcStreamOf(batch(0, 400), pool);
  assert.equal(second.buffer, first.buffer);
  assert.deepEqual(second, arrow.tableToIPC(new arrow.Table([batch(0, 400)]), "stream"));
});
