// Web Worker that runs parquet-wasm for one Parquet file: Arrow IPC batches in, file bytes out, off the read loop (execution layer).
//
// Protocol (main → worker): `{ kind: "start", codec, rowGroupRows }` once, then
// `{ kind: "batch", ipc }` per batch (the IPC stream bytes are transferred, not copied), then
// `{ kind: "end" }`. Worker → main: `{ kind: "ack" }` once a batch is inside the writer,
// `{ kind: "bytes", chunk }` (transferred) as the writer produces them, `{ kind: "done" }` after
// the footer, or `{ kind: "error", message }`. The main side bounds batches in flight with the acks.
import * as pq from "parquet-wasm";

export type EncodeCodec = "zstd" | "snappy" | "gzip" | "lz4" | "none";

export type ToWorker =
  | { readonly kind: "start"; readonly codec: EncodeCodec; readonly rowGroupRows: number }
  | { readonly kind: "batch"; readonly ipc: Uint8Array }
  | { readonly kind: "end" };

export type FromWorker =
  | { readonly kind: "ack" }
  | { readonly kind: "bytes"; readonly chunk: Uint8Array }
  | { readonly kind: "done" }
  | { readonly kind: "error"; readonly message: string };

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
}

const CODECS: Readonly<Record<EncodeCodec, pq.Compression>> = {
  zstd: pq.Compression.ZSTD,
  snappy: pq.Compression.SNAPPY,
  gzip: pq.Compression.GZIP,
  lz4: pq.Compression.LZ4_RAW, // raw LZ4 (the framed `LZ4` codec is deprecated by Parquet)
  none: pq.Compression.UNCOMPRESSED,
};

const scope = globalThis as unknown as WorkerScope;
let writer: WritableStreamDefaultWriter<pq.RecordBatch> | null = null;
let drained: Promise<void> | null = null;
let failed = false;

function fail(err: unknown): void {
  if (failed) return;
  failed = true;
  scope.postMessage({ kind: "error", message: err instanceof Error ? err.message : String(err) });
}

function start(codec: EncodeCodec, rowGroupRows: number): void {
  const props = new pq.WriterPropertiesBuilder()
    .setCompression(CODECS[codec])
    .setCreatedBy("rivet")
    .setMaxRowGroupSize(rowGroupRows)
    .build();
  const input = new TransformStream<pq.RecordBatch, pq.RecordBatch>(undefined, undefined, {
    highWaterMark: 1,
  });
  writer = input.writable.getWriter();
  const out = pq.transformParquetStream(input.readable, props) as Promise<
    ReadableStream<Uint8Array>
  >;
  drained = (async () => {
    const reader = (await out).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      // Copy out of wasm-backed memory only when needed; transfer the copy's buffer.
      const chunk = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength
        ? value
        : value.slice();
      scope.postMessage({ kind: "bytes", chunk }, [chunk.buffer as ArrayBuffer]);
    }
  })();
  drained.catch(fail);
}

let chain: Promise<void> = Promise.resolve();

scope.onmessage = (e) => {
  const msg = e.data;
  chain = chain.then(async () => {
    if (failed) return;
    try {
      if (msg.kind === "start") start(msg.codec, msg.rowGroupRows);
      else if (msg.kind === "batch") {
        const table = pq.Table.fromIPCStream(msg.ipc);
        try {
          for (const b of table.recordBatches()) await writer!.write(b);
        } finally {
          table.free();
        }
        scope.postMessage({ kind: "ack" });
      } else {
        await writer!.close();
        await drained;
        scope.postMessage({ kind: "done" });
      }
    } catch (err) {
      fail(err);
    }
  });
};
