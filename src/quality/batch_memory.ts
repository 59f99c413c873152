// Caps the memory of one Arrow batch (`max_batch_memory_mb`: warn | fail | auto_shrink, spec 7.6) (execution layer).
//
// Batch bytes are the bytes of the buffers the batch's arrays use. A slice shares its parent's
// buffers, and Arrow JS keeps the whole values buffer of a string/binary column and the whole
// child of a list column in a slice, so the bytes are counted over the slice's own range:
// otherwise a half would weigh as much as the whole and auto_shrink could never make it fit.
import type * as arrow from "apache-arrow";
import type { BatchMemoryPolicy } from "../config/config_types.ts";
import { RivetError } from "../errors.ts";
import { log } from "../observe/log.ts";

const MIB = 1024 * 1024;
/** Arrow type ids (`arrow.Type`) this module treats specially. */
const TYPE_BOOL = 6;

/** The bytes of the buffers one array uses for its own rows (see the module comment). */
export function dataBytes(data: arrow.Data): number {
  const length = data.length;
  let bytes = 0;
  if (data.nullBitmap && data.nullBitmap.byteLength > 0) bytes += Math.ceil(length / 8);
  if (data.typeIds && data.typeIds.byteLength > 0) bytes += length * data.typeIds.BYTES_PER_ELEMENT;
  const offsets = data.valueOffsets as ArrayLike<number | bigint> & { BYTES_PER_ELEMENT: number };
  if (offsets && offsets.length > 0) {
    // Variable width (strings, binary, lists): the offsets are sliced, the values are not.
    bytes += (length + 1) * offsets.BYTES_PER_ELEMENT;
    const first = Number(offsets[0] ?? 0);
    const last = Number(offsets[length] ?? first);
    if (data.values && data.values.byteLength > 0) {
      bytes += (last - first) * data.values.BYTES_PER_ELEMENT;
    }
    for (const child of data.children) bytes += dataBytes(child.slice(first, last - first));
  } else {
    if (data.values && data.values.byteLength > 0) {
      bytes += data.typeId === TYPE_BOOL
        ? Math.ceil(length / 8)
        : length * data.stride * data.values.BYTES_PER_ELEMENT;
    }
    // Struct and fixed-size-list children are sliced together with their parent.
    for (const child of data.children) bytes += dataBytes(child);
  }
  if (data.dictionary) {
    for (const d of data.dictionary.data) bytes += dataBytes(d);
  }
  return bytes;
}

/** Batch bytes of spec 7.6: the sum over the batch's columns. */
export function batchBytes(batch: arrow.RecordBatch): number {
  let bytes = 0;
  for (const child of batch.data.children) bytes += dataBytes(child);
  return bytes;
}

/** The `batch_size` that would fit: rows · limit / bytes, at least 1. */
export function suggestedBatchSize(rows: number, bytes: number, limitBytes: number): number {
  if (bytes <= 0) return Math.max(1, rows);
  return Math.max(1, Math.floor((rows * limitBytes) / bytes));
}

/** The warning of spec 7.6, e.g. `batch memory 12.3 MB exceeds max_batch_memory_mb=8 MB ...`. */
export function batchMemoryMessage(rows: number, bytes: number, limitMb: number): string {
  return `batch memory ${(bytes / MIB).toFixed(1)} MB exceeds max_batch_memory_mb=${limitMb} MB ` +
    `(${rows} rows). Consider lowering batch_size to ~${
      suggestedBatchSize(rows, bytes, limitMb * MIB)
    }.`;
}

export interface BatchMemoryOptions {
  /** For messages: `export 'orders': ...`. */
  readonly exportName: string;
  /** `max_batch_memory_mb`, > 0. */
  readonly maxBatchMemoryMb: number;
  /** `on_batch_memory_exceeded`. */
  readonly policy: BatchMemoryPolicy;
  /** With `warn`: log the 1st batch over the cap, then every `warnEvery`-th one. Default 100. */
  readonly warnEvery?: number;
  /** Where warnings go; default `log.warn`. */
  readonly warn?: (message: string) => void;
}

/** What the stream saw, for tests and the run report. */
export interface BatchMemoryStats {
  /** Input batches over the cap. */
  readonly batchesOver: number;
  /** Output batches produced by auto_shrink splits (0 without splits). */
  readonly piecesWritten: number;
  /** 1-row batches that still exceed the cap and were passed on (auto_shrink). */
  readonly oversizedRows: number;
  /** The largest input batch, in bytes. */
  readonly maxBatchBytes: number;
}

/**
 * Passes batches on unchanged while they fit `max_batch_memory_mb`. Over the cap: `warn` logs
 * (rate-limited) and passes the batch on, `fail` errors the stream, `auto_shrink` splits the
 * batch into halves until each fits. Rows and their order are never changed.
 */
export class BatchMemoryStream extends TransformStream<arrow.RecordBatch, arrow.RecordBatch> {
  readonly #counts: {
    batchesOver: number;
    pieces: number;
    oversizedRows: number;
    maxBytes: number;
  };

  constructor(options: BatchMemoryOptions) {
    const { exportName, maxBatchMemoryMb, policy } = options;
    if (!Number.isFinite(maxBatchMemoryMb) || maxBatchMemoryMb <= 0) {
      throw new RangeError(`maxBatchMemoryMb must be a positive number, got ${maxBatchMemoryMb}`);
    }
    const warnEvery = options.warnEvery ?? 100;
    if (!Number.isInteger(warnEvery) || warnEvery < 1) {
      throw new RangeError(`warnEvery must be a positive integer, got ${warnEvery}`);
    }
    const warn = options.warn ?? log.warn;
    const limit = maxBatchMemoryMb * MIB;
    const prefix = `export '${exportName}': `;
    const counts = { batchesOver: 0, pieces: 0, oversizedRows: 0, maxBytes: 0 };

    // Split into halves recursively; the pieces come out in row order.
    const shrink = (
      batch: arrow.RecordBatch,
      controller: TransformStreamDefaultController<arrow.RecordBatch>,
    ) => {
      const bytes = batchBytes(batch);
      if (bytes <= limit) {
        controller.enqueue(batch);
        counts.pieces++;
        return;
      }
      if (batch.numRows <= 1) {
        counts.oversizedRows++;
        warn(
          `${prefix}a single row takes ${(bytes / MIB).toFixed(1)} MB, above ` +
            `max_batch_memory_mb=${maxBatchMemoryMb} MB; auto_shrink cannot split it and writes it as is`,
        );
        controller.enqueue(batch);
        counts.pieces++;
        return;
      }
      const half = Math.ceil(batch.numRows / 2);
      shrink(batch.slice(0, half), controller);
      shrink(batch.slice(half, batch.numRows), controller);
    };

    super({
      transform: (batch, controller) => {
        const bytes = batchBytes(batch);
        if (bytes > counts.maxBytes) counts.maxBytes = bytes;
        if (bytes <= limit) {
          controller.enqueue(batch);
          return;
        }
        counts.batchesOver++;
        const message = batchMemoryMessage(batch.numRows, bytes, maxBatchMemoryMb);
        switch (policy) {
          case "warn":
            if ((counts.batchesOver - 1) % warnEvery === 0) {
              const seen = counts.batchesOver > 1
                ? ` (${counts.batchesOver} batches over the cap so far)`
                : "";
              warn(`${prefix}${message}${seen}`);
            }
            controller.enqueue(batch);
            return;
          case "fail":
            throw new RivetError(`${prefix}${message}`, {
              exitClass: "source",
              hint:
                "lower tuning.batch_size, or set tuning.on_batch_memory_exceeded: auto_shrink " +
                "to split such batches instead of failing",
            });
          case "auto_shrink":
            shrink(batch, controller);
            return;
        }
      },
    });
    this.#counts = counts;
  }

  get stats(): BatchMemoryStats {
    const c = this.#counts;
    return {
      batchesOver: c.batchesOver,
      piecesWritten: c.pieces,
      oversizedRows: c.oversizedRows,
      maxBatchBytes: c.maxBytes,
    };
  }
}
