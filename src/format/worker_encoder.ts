// The main-thread side of a file encoded in a pooled encode worker: batches out as Arrow IPC, file bytes and their digest back (execution layer).
//
// Each batch crosses as Arrow IPC bytes whose buffer is transferred; at most MAX_IN_FLIGHT
// batches are not yet inside the worker's encoder (backpressure), which keeps the worker fed
// while the read loop decodes the next batches. The worker fingerprints the bytes it produces,
// so the main thread never hashes them. A file of a single batch (small exports) is encoded on
// this thread instead, which avoids the message round trips.
import * as arrow from "apache-arrow";
import { RivetError } from "../errors.ts";
import type { EncodeJob, FromWorker } from "../pipeline/encode_worker.ts";
import {
  type EncodeWorkerLease,
  leaseEncodeWorker,
  warmEncodeWorker,
} from "../pipeline/encode_worker_pool.ts";
import { ContentDigest, type FileDigest } from "./content_digest.ts";
import type { FormatEncoder } from "./format.ts";

/** Batches handed to the worker but not yet inside its encoder. */
export const MAX_IN_FLIGHT = 3;

export interface WorkerEncoderSpec {
  readonly format: EncodeJob["format"];
  /** The job of a file whose first batch is `first`. */
  job(first: arrow.RecordBatch): EncodeJob;
  /** The batch as the file stores it (checks its columns against the file's schema). */
  conform(batch: arrow.RecordBatch): arrow.RecordBatch;
  /** Encodes a whole file of exactly `batch` (null: no batch at all) on this thread. */
  encodeHere(batch: arrow.RecordBatch | null, emit: (chunk: Uint8Array) => void): Promise<void>;
  /** Wraps a failure of the encoder. */
  error(cause: unknown): RivetError;
}

export function workerEncoder(spec: WorkerEncoderSpec): FormatEncoder {
  warmEncodeWorker(spec.format);
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
    const ipc = arrow.tableToIPC(new arrow.Table([batch]), "stream");
    inFlight++;
    lease!.send({ kind: "batch", ipc }, [ipc.buffer as ArrayBuffer]);
  };
  const encodeHere = async (batch: arrow.RecordBatch | null) => {
    const d = await ContentDigest.create();
    try {
      await spec.encodeHere(batch, (chunk) => {
        d.update(chunk);
        out?.enqueue(chunk);
      });
    } catch (err) {
      throw spec.error(err);
    }
    out?.close();
    settle.resolve(d.finish());
  };
  // The first batch is held back: a file of one batch is encoded right here; a second batch
  // starts the worker with both.
  let held: arrow.RecordBatch | null = null;
  let wroteBatch = false;
  let started = false;
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      out = controller;
    },
    cancel() {
      fail(new RivetError("encoded output cancelled", { exitClass: "internal" }));
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<arrow.RecordBatch>({
    async write(batch) {
      if (batch.numRows === 0 && wroteBatch) return;
      const b = spec.conform(batch);
      wroteBatch = true;
      if (!started && held === null) {
        held = b;
        return;
      }
      started = true;
      if (held !== null) {
        const first = held;
        held = null;
        await post(first);
      }
      await post(b);
    },
    async close() {
      if (!started) {
        const only = held;
        held = null;
        await encodeHere(only);
        return;
      }
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
