// The main-thread side of a file encoded in a pooled encode worker: batches out as Arrow IPC, file bytes and their digest back (execution layer).
//
// Each batch crosses as Arrow IPC bytes whose buffer is transferred; the worker hands the buffer
// back with its ack and the next batch is serialized into it (see IpcBufferPool), so steady state
// allocates no per-batch ArrayBuffers on either side of the channel; at most MAX_IN_FLIGHT
// batches are not yet inside the worker's encoder (backpressure), which keeps the worker fed
// while the read loop decodes the next batches. The worker fingerprints the bytes it produces,
// so the main thread never hashes them. Every file is encoded in a worker, small ones too: the
// main thread never loads an encoder (parquet-wasm alone costs ~28 MiB per isolate that loads it).
import * as arrow from "apache-arrow";
import { RivetError } from "../errors.ts";
import type { EncodeJob, EncoderModule, FromWorker } from "../pipeline/encode_worker.ts";
import {
  type EncodeWorkerLease,
  leaseEncodeWorker,
  warmEncodeWorker,
} from "../pipeline/encode_worker_pool.ts";
import type { FileDigest } from "./content_digest.ts";
import type { FormatEncoder } from "./format.ts";

/** Batches handed to the worker but not yet inside its encoder. */
export const MAX_IN_FLIGHT = 3;

/**
 * ArrayBuffers that carried a batch to a worker and came back with its ack. Garbage ArrayBuffers
 * are freed only when V8 collects (it lets about 64 MiB of them pile up per isolate first), so
 * reusing them keeps peak RSS down; a few more than MAX_IN_FLIGHT are kept, the largest first.
 */
export class IpcBufferPool {
  readonly #free: ArrayBuffer[] = [];
  constructor(readonly keep: number) {}

  /** A buffer of at least `bytes`: the smallest free one that fits, else a new one with headroom. */
  take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const n = this.#free[i]!.byteLength;
      if (n >= bytes && (best < 0 || n < this.#free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return this.#free.splice(best, 1)[0]!;
    // Batch sizes wander a little: round up so the next slightly larger batch still fits.
    return new ArrayBuffer(Math.ceil((bytes * 1.25) / 65536) * 65536);
  }

  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0) return; // detached
    this.#free.push(buffer);
    if (this.#free.length > this.keep) {
      this.#free.sort((a, b) => b.byteLength - a.byteLength);
      this.#free.length = this.keep;
    }
  }
}

const ipcBuffers = new IpcBufferPool(MAX_IN_FLIGHT + 2);

/** Collects the chunks Arrow's IPC writer produces (views of the batch's own buffers). */
class ChunkQueue extends arrow.AsyncByteQueue {
  chunks: Uint8Array[] = [];
  bytes = 0;
  override write(value: ArrayBufferView | Uint8Array): void {
    const u = value instanceof Uint8Array
      ? value
      : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (u.byteLength === 0) return;
    this.chunks.push(u);
    this.bytes += u.byteLength;
  }
}

/** `batch` as an Arrow IPC stream, written into a pooled buffer (one copy, no per-batch allocation). */
export function ipcStreamOf(
  batch: arrow.RecordBatch,
  pool: IpcBufferPool = ipcBuffers,
): Uint8Array {
  const sink = new ChunkQueue();
  const writer = new arrow.RecordBatchStreamWriter();
  writer.reset(sink as unknown as arrow.AsyncByteQueue, batch.schema);
  writer.write(batch);
  writer.finish();
  const out = new Uint8Array(pool.take(sink.bytes), 0, sink.bytes);
  let o = 0;
  for (const c of sink.chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** A batch of no rows in `schema`. */
export function emptyBatchOf(schema: arrow.Schema): arrow.RecordBatch {
  const children = schema.fields.map((f) => arrow.makeBuilder({ type: f.type }).finish().flush());
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: 0,
    nullCount: 0,
    children,
  });
  return new arrow.RecordBatch(schema, data);
}

export interface WorkerEncoderSpec {
  /** The encoder the worker will need (loaded while the first batch is read). */
  readonly module: EncoderModule;
  /** The job of a file whose first batch is `first`. */
  job(first: arrow.RecordBatch): EncodeJob;
  /** The batch as the file stores it (checks its columns against the file's schema). */
  conform(batch: arrow.RecordBatch): arrow.RecordBatch;
  /** The file's schema (a file without rows is encoded from an empty batch of it). */
  readonly schema: arrow.Schema;
  /** Wraps a failure of the encoder. */
  error(cause: unknown): RivetError;
}

export function workerEncoder(spec: WorkerEncoderSpec): FormatEncoder {
  warmEncodeWorker(spec.module);
  let lease: EncodeWorkerLease | null = null;
  let out: ReadableStreamDefaultController<Uint8Array> | null = null;
  let failure: Error | null = null;
  let inFlight = 0;
  let wake: (() => void) | null = null;
  let finished: (() => void) | null = null;
  let result: FileDigest | null = null;
  let settle!: { resolve: (d: FileDigest) => void; reject: (e: Error) => void };
  const digest = new Promise<FileDigest>((resolve, reject) => (settle = { resolve, reject }));
  digest.catch(() => {}); // observed by whoever asks for it
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const fail = (err: Error) => {
    if (failure) return;
    failure = err;
    lease?.discard();
    lease = null;
    try {
      out?.error(err);
    } catch { /* already closed */ }
    settle.reject(err);
    notify();
    finished?.();
  };
  const onMessage = (msg: FromWorker) => {
    if (msg.kind === "ack") {
      ipcBuffers.give(msg.ipc.buffer as ArrayBuffer);
      inFlight--;
      notify();
    } else if (msg.kind === "bytes") out?.enqueue(msg.chunk);
    else if (msg.kind === "done") {
      result = msg.digest;
      lease?.release();
      lease = null;
      out?.close();
      settle.resolve(result);
      finished?.();
    } else fail(spec.error(new Error(msg.message)));
  };
  const post = async (batch: arrow.RecordBatch) => {
    if (!lease) {
      lease = leaseEncodeWorker(onMessage, (m) => fail(spec.error(new Error(m))));
      lease.send({ kind: "start", job: spec.job(batch) });
    }
    while (inFlight >= MAX_IN_FLIGHT && !failure) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
    const ipc = ipcStreamOf(batch);
    inFlight++;
    lease!.send({ kind: "batch", ipc }, [ipc.buffer as ArrayBuffer]);
  };
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      out = controller;
    },
    cancel() {
      fail(new RivetError("encoded output cancelled", { exitClass: "internal" }));
    },
  }, { highWaterMark: 0 });
  let wroteBatch = false;
  const writable = new WritableStream<arrow.RecordBatch>({
    async write(batch) {
      if (batch.numRows === 0 && wroteBatch) return;
      wroteBatch = true;
      await post(spec.conform(batch));
    },
    async close() {
      if (!wroteBatch) await post(emptyBatchOf(spec.schema));
      if (failure) throw failure;
      const done = new Promise<void>((r) => (finished = r));
      lease!.send({ kind: "end" });
      await done;
      if (failure) throw failure;
    },
    abort(reason) {
      fail(reason instanceof Error ? reason : new Error(String(reason)));
    },
  }, { highWaterMark: 1 });
  return {
    stream: { writable, readable } as TransformStream<arrow.RecordBatch, Uint8Array>,
    digest: () => digest,
  };
}
