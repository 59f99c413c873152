// Long-lived Web Worker that encodes data files (Parquet, or CSV) and fingerprints their bytes, off the read loop (execution layer).
//
// One worker encodes one file at a time and is reused for the next (see encode_worker_pool.ts),
// so a chunked run pays the module load and wasm instantiation once per stream, not per file.
// Parquet is written by Rivet's own writer (parquet_writer.ts, native zstd/gzip) when it handles
// the schema and codec, else by parquet-wasm (lists of lists, snappy, lz4).
// Protocol (main → worker): optionally `{ kind: "warm", module }` to load an encoder early;
// per file `{ kind: "start", job }`, then `{ kind: "batch", ipc }` per batch (Arrow IPC stream
// bytes, transferred), then `{ kind: "end" }`. Worker → main: `{ kind: "ack", ipc }` once a batch
// is inside the encoder, handing the batch's buffer back (transferred) so the main side reuses it
// for a later batch instead of allocating one per batch (each would be garbage in both isolates), `{ kind: "bytes", chunk }` (transferred) as file bytes are produced,
// `{ kind: "done", digest }` after the last byte (xxh3 + MD5 + length of exactly the bytes sent),
// or `{ kind: "error", message }`, after which the main side terminates the worker.
import type * as pq from "parquet-wasm";
import { ContentDigest, type FileDigest } from "../format/content_digest.ts";
import { CREATED_BY } from "../format/parquet/created_by.ts";

export type EncodeCodec = "zstd" | "snappy" | "gzip" | "lz4" | "none";

/** What one file is. */
export type EncodeJob =
  | {
    readonly format: "parquet";
    /** `native`: Rivet's writer (zstd/gzip/none, flat types); `wasm`: parquet-wasm. */
    readonly engine: "native" | "wasm";
    readonly codec: EncodeCodec;
    /** Codec level (native engine only; parquet-wasm has no level setting). */
    readonly level?: number;
    readonly rowGroupRows: number;
    /** Columns written without dictionary encoding (their values are nearly all distinct). */
    readonly plainColumns: readonly string[];
  }
  | { readonly format: "csv" };

/** The encoder code a job needs loaded in the worker. */
export type EncoderModule = "parquet-native" | "parquet-wasm" | "csv";

export function encoderModuleOf(job: EncodeJob): EncoderModule {
  if (job.format === "csv") return "csv";
  return job.engine === "native" ? "parquet-native" : "parquet-wasm";
}

export type ToWorker =
  | { readonly kind: "warm"; readonly module: EncoderModule }
  | { readonly kind: "start"; readonly job: EncodeJob }
  | { readonly kind: "batch"; readonly ipc: Uint8Array }
  | { readonly kind: "end" };

export type FromWorker =
  | { readonly kind: "ack"; readonly ipc: Uint8Array }
  | { readonly kind: "bytes"; readonly chunk: Uint8Array }
  | { readonly kind: "done"; readonly digest: FileDigest }
  | { readonly kind: "error"; readonly message: string };

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
}

/** The encoder of the file being written. */
interface FileEncoder {
  batch(ipc: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

const scope = globalThis as unknown as WorkerScope;
let file: FileEncoder | null = null;
let digest: ContentDigest | null = null;
let failed = false;

const parquetModule = () => import("parquet-wasm");
const nativeParquetModules = () =>
  Promise.all([import("apache-arrow"), import("../format/parquet/parquet_writer.ts")]);
const csvModules = () =>
  Promise.all([import("apache-arrow"), import("../format/csv/csv_format.ts")]);
const loaders: Readonly<Record<EncoderModule, () => Promise<unknown>>> = {
  "parquet-native": nativeParquetModules,
  "parquet-wasm": parquetModule,
  csv: csvModules,
};

function fail(err: unknown): void {
  if (failed) return;
  failed = true;
  scope.postMessage({ kind: "error", message: err instanceof Error ? err.message : String(err) });
}

/** Fingerprints `chunk` and hands it to the main side (its buffer is transferred). */
function send(chunk: Uint8Array): void {
  digest!.update(chunk);
  scope.postMessage({ kind: "bytes", chunk }, [chunk.buffer as ArrayBuffer]);
}

async function parquetFile(job: Extract<EncodeJob, { format: "parquet" }>): Promise<FileEncoder> {
  const wasm = await parquetModule();
  const codecs: Readonly<Record<EncodeCodec, pq.Compression>> = {
    zstd: wasm.Compression.ZSTD,
    snappy: wasm.Compression.SNAPPY,
    gzip: wasm.Compression.GZIP,
    lz4: wasm.Compression.LZ4_RAW, // raw LZ4 (the framed `LZ4` codec is deprecated by Parquet)
    none: wasm.Compression.UNCOMPRESSED,
  };
  let builder = new wasm.WriterPropertiesBuilder()
    .setCompression(codecs[job.codec])
    .setCreatedBy(CREATED_BY)
    .setMaxRowGroupSize(job.rowGroupRows);
  for (const c of job.plainColumns) builder = builder.setColumnDictionaryEnabled(c, false);
  const input = new TransformStream<pq.RecordBatch, pq.RecordBatch>(undefined, undefined, {
    highWaterMark: 1,
  });
  const writer = input.writable.getWriter();
  const out = wasm.transformParquetStream(input.readable, builder.build()) as Promise<
    ReadableStream<Uint8Array>
  >;
  const drained = (async () => {
    const reader = (await out).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      // Copy out of wasm-backed memory only when needed; transfer the copy's buffer.
      send(
        value.byteOffset === 0 && value.byteLength === value.buffer.byteLength
          ? value
          : value.slice(),
      );
    }
  })();
  drained.catch(fail);
  return {
    async batch(ipc) {
      const table = wasm.Table.fromIPCStream(ipc);
      try {
        for (const b of table.recordBatches()) await writer.write(b);
      } finally {
        table.free();
      }
    },
    async end() {
      await writer.close();
      await drained;
    },
  };
}

async function nativeParquetFile(
  job: Extract<EncodeJob, { format: "parquet" }>,
): Promise<FileEncoder> {
  const [arrow, { ParquetWriter }] = await nativeParquetModules();
  const options = {
    codec: job.codec as "zstd" | "gzip" | "none",
    ...(job.level === undefined ? {} : { level: job.level }),
    rowGroupRows: job.rowGroupRows,
    plainColumns: job.plainColumns,
  };
  let writer: InstanceType<typeof ParquetWriter> | null = null;
  return {
    batch(ipc) {
      // The writer copies what it keeps, so the IPC buffer can go back to the main thread.
      const table = arrow.tableFromIPC(ipc);
      writer ??= new ParquetWriter(table.schema, options, send);
      for (const b of table.batches) writer.write(b);
      return Promise.resolve();
    },
    end() {
      writer?.finish();
      return Promise.resolve();
    },
  };
}

async function csvFile(): Promise<FileEncoder> {
  const [arrow, { CsvBatchEncoder }] = await csvModules();
  let enc: InstanceType<typeof CsvBatchEncoder> | null = null;
  return {
    batch(ipc) {
      const table = arrow.tableFromIPC(ipc);
      enc ??= new CsvBatchEncoder(table.schema);
      for (const b of table.batches) enc.encode(b, send);
      return Promise.resolve();
    },
    end() {
      enc?.finish(send);
      return Promise.resolve();
    },
  };
}

let chain: Promise<void> = Promise.resolve();

scope.onmessage = (e) => {
  const msg = e.data;
  chain = chain.then(async () => {
    if (failed) return;
    try {
      switch (msg.kind) {
        case "warm":
          await loaders[msg.module]();
          return;
        case "start":
          digest = await ContentDigest.create();
          file = msg.job.format === "csv"
            ? await csvFile()
            : msg.job.engine === "native"
            ? await nativeParquetFile(msg.job)
            : await parquetFile(msg.job);
          return;
        case "batch":
          await file!.batch(msg.ipc);
          scope.postMessage({ kind: "ack", ipc: msg.ipc }, [msg.ipc.buffer as ArrayBuffer]);
          return;
        case "end": {
          await file!.end();
          const result = digest!.finish();
          file = null;
          digest = null;
          scope.postMessage({ kind: "done", digest: result });
          return;
        }
      }
    } catch (err) {
      fail(err);
    }
  });
};
