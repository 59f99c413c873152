// CSV output per spec 6.7 (with its recommended fixes): Arrow record batches in, UTF-8 CSV bytes out (execution layer).
//
// Dialect: UTF-8 without BOM, `,` delimiter, `\n` line ends, a header row always (its cells quoted
// like data cells, the 0.9.0 fix). A cell is quoted when it contains `,` `"` LF or CR (quoting a
// lone CR deviates from 0.9.0, whose unquoted CR breaks many readers); inner quotes are doubled.
// NULL is an empty cell. Lists are written as JSON array text (0.9.0 refused lists), Decimal256
// is written exactly (0.9.0 refused it). No compression (spec 6.6).
// Files of more than one batch are encoded in a pooled worker (src/format/worker_encoder.ts),
// which also fingerprints the bytes; `CsvEncoderStream` encodes on the calling thread.
import type * as arrow from "apache-arrow";
import { ConfigError, DataIntegrityError, RivetError } from "../../errors.ts";
import type { Format, FormatEncoder } from "../format.ts";
import { workerEncoder } from "../worker_encoder.ts";
import { ByteBuffer, type CellWriter, cellWriter, unsupportedReason } from "./csv_cells.ts";

/** Bytes buffered before a chunk is emitted mid-batch, so one huge batch does not pile up. */
const FLUSH_BYTES = 4 * 1024 * 1024;

export class CsvFormat implements Format {
  readonly extension = "csv" as const;

  encoder(schema: arrow.Schema): Promise<FormatEncoder> {
    for (const field of schema.fields) {
      const reason = unsupportedReason(field.type);
      if (reason !== undefined) {
        return Promise.reject(
          new ConfigError(
            `CSV cannot serialize column '${field.name}' (${field.type}): ${reason}`,
            {
              hint:
                "cast the column in the query, add a column override in rivet.yaml, or use format: parquet",
            },
          ),
        );
      }
    }
    return Promise.resolve(workerEncoder({
      module: "csv",
      job: () => ({ format: "csv" }),
      conform(batch) {
        if (batch.numCols !== schema.fields.length) {
          throw new DataIntegrityError(
            `CSV encoder got a batch with ${batch.numCols} columns, expected ${schema.fields.length}`,
          );
        }
        return batch;
      },
      error: (cause) =>
        cause instanceof RivetError
          ? cause
          : new RivetError("CSV encoder failed", { exitClass: "internal", cause }),
      schema,
    }));
  }

  /** Counts data records with a real CSV parse: newlines inside quoted cells do not count. */
  countRows(bytes: Uint8Array): Promise<number> {
    try {
      return Promise.resolve(Math.max(0, countCsvRecords(bytes) - 1));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/**
 * Encodes batches into CSV bytes with one reused output buffer; each emitted chunk is a fresh
 * copy of at most about FLUSH_BYTES (so it can be transferred or kept by the consumer).
 */
export class CsvBatchEncoder {
  readonly #schema: arrow.Schema;
  /** Sized so that a flush usually hands over a nearly full buffer rather than a copy. */
  readonly #out = new ByteBuffer(FLUSH_BYTES + (1 << 16));
  #headerDone = false;

  constructor(schema: arrow.Schema) {
    this.#schema = schema;
  }

  #header(): void {
    if (this.#headerDone) return;
    this.#headerDone = true;
    const out = this.#out;
    this.#schema.fields.forEach((f, c) => {
      if (c > 0) {
        out.ensure(1);
        out.buf[out.pos++] = 0x2c;
      }
      out.text(f.name);
    });
    out.ensure(1);
    out.buf[out.pos++] = 0x0a;
  }

  #emit(emit: (chunk: Uint8Array) => void): void {
    const out = this.#out;
    if (out.pos === 0) return;
    let chunk: Uint8Array;
    if (out.pos >= FLUSH_BYTES && out.pos >= out.buf.length - (out.buf.length >> 4)) {
      // A full buffer: hand it over as is and write on in a new one (no copy).
      chunk = out.buf.subarray(0, out.pos);
      out.buf = new Uint8Array(FLUSH_BYTES + (1 << 16));
    } else chunk = out.buf.slice(0, out.pos); // the buffer is reused: hand out a copy
    out.pos = 0;
    emit(chunk);
  }

  /** Encodes one batch (the header first, once). */
  encode(batch: arrow.RecordBatch, emit: (chunk: Uint8Array) => void): void {
    const fields = this.#schema.fields;
    if (batch.numCols !== fields.length) {
      throw new DataIntegrityError(
        `CSV encoder got a batch with ${batch.numCols} columns, expected ${fields.length}`,
      );
    }
    this.#header();
    const out = this.#out;
    const cols = fields.length;
    const writers: CellWriter[] = fields.map((f, c) => cellWriter(f, batch.data.children[c]!));
    const rows = batch.numRows;
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < cols; c++) {
        if (c > 0) {
          out.ensure(1);
          out.buf[out.pos++] = 0x2c;
        }
        writers[c]!(out, i);
      }
      out.ensure(1);
      out.buf[out.pos++] = 0x0a;
      if (out.pos >= FLUSH_BYTES) this.#emit(emit);
    }
    this.#emit(emit);
  }

  /** Ends the file: a file without batches still has its header. */
  finish(emit: (chunk: Uint8Array) => void): void {
    this.#header();
    this.#emit(emit);
  }
}

/** Encodes batches into CSV text on this thread; the header is emitted with the first chunk. */
export class CsvEncoderStream extends TransformStream<arrow.RecordBatch, Uint8Array> {
  constructor(schema: arrow.Schema) {
    const enc = new CsvBatchEncoder(schema);
    super({
      transform(batch, controller) {
        enc.encode(batch, (c) => controller.enqueue(c));
      },
      flush(controller) {
        enc.finish((c) => controller.enqueue(c));
      },
    });
  }
}

/**
 * Number of CSV records (header included) in `bytes`: records end at LF outside quotes; a last
 * record without a trailing LF counts. Throws when a quoted cell is never closed.
 */
export function countCsvRecords(bytes: Uint8Array): number {
  let records = 0;
  let inQuotes = false;
  let pending = false; // bytes seen since the last record end
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (inQuotes) {
      if (b === 0x22) inQuotes = false; // a doubled quote re-enters on the next byte
      continue;
    }
    if (b === 0x0a) {
      records++;
      pending = false;
    } else {
      pending = true;
      if (b === 0x22) inQuotes = true;
    }
  }
  if (inQuotes) {
    throw new DataIntegrityError(
      `CSV ends inside a quoted cell (${n} bytes, ${records} complete records)`,
    );
  }
  return pending ? records + 1 : records;
}
