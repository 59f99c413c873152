// Parquet output: streams Arrow record batches through a Parquet writer into file bytes (execution layer).
//
// Encoding runs in a pooled Web Worker (src/format/worker_encoder.ts,
// src/pipeline/encode_worker.ts) so the source's decoding and the Parquet encoding use two cores,
// and the worker fingerprints the file bytes. The writer is Rivet's own (parquet_writer.ts:
// native zstd/gzip, honours compression_level) whenever it handles the schema and codec, else
// parquet-wasm (lists of lists, snappy, lz4; no level setting). parquet-wasm is
// loaded on the main thread only for `countRows`. Columns that are nearly unique in the first
// batch are written without a dictionary (see `plainColumnsOf`).
import * as arrow from "apache-arrow";
import type * as pq from "parquet-wasm";
import { ConfigError, DataIntegrityError, RivetError } from "../../errors.ts";
import type { Format, FormatEncoder } from "../format.ts";
import { workerEncoder } from "../worker_encoder.ts";
import { DEFAULT_ROW_GROUP_ROWS } from "./row_group_rows.ts";
import { nativeUnsupported } from "./parquet_writer.ts";

export { rowGroupRowsFor } from "./row_group_rows.ts";
export type { RowGroupOptions } from "./row_group_rows.ts";

export type ParquetCodec = "zstd" | "snappy" | "gzip" | "lz4" | "none";

export interface ParquetFormatOptions {
  readonly codec: ParquetCodec;
  /**
   * Codec level (zstd 1..22, default 1; gzip 0..10, default 6, 10 written as zlib's 9). Files
   * that need parquet-wasm ignore it: parquet-wasm 0.8 has no level setting (it uses zstd 1).
   */
  readonly level?: number;
  /** Rows per row group (see `rowGroupRowsFor`); default 1 048 576. */
  readonly rowGroupRows?: number;
}

const CODECS: Readonly<Record<ParquetCodec, true>> = {
  zstd: true,
  snappy: true,
  gzip: true,
  lz4: true, // raw LZ4 (the framed `LZ4` codec is deprecated by Parquet)
  none: true,
};

/**
 * Arrow bytes one row group may hold: the writer keeps a whole open row group in memory, so
 * wide rows get fewer rows per group (never more than the configured row group size).
 */
const ROW_GROUP_BYTES = 8 * 1024 * 1024;

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

export class ParquetFormat implements Format {
  readonly extension = "parquet" as const;
  readonly codec: ParquetCodec;
  readonly level: number | undefined;
  readonly rowGroupRows: number;

  constructor(options: ParquetFormatOptions) {
    if (!(options.codec in CODECS)) {
      throw new ConfigError(`Unknown Parquet compression '${String(options.codec)}'`, {
        hint: "use one of zstd, snappy, gzip, lz4, none",
      });
    }
    const rows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    if (!Number.isSafeInteger(rows) || rows < 1) {
      throw new ConfigError(`Parquet row group size must be a positive integer, got ${rows}`);
    }
    this.codec = options.codec;
    this.level = options.level;
    this.rowGroupRows = rows;
  }

  encoder(schema: arrow.Schema): Promise<FormatEncoder> {
    try {
      for (const field of schema.fields) checkWritable(field.name, field.type);
      return Promise.resolve(this.#stream(schema));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async countRows(bytes: Uint8Array): Promise<number> {
    const n = bytes.length;
    const hasMagic = n >= 12 &&
      MAGIC.every((b, i) => bytes[i] === b && bytes[n - 4 + i] === b);
    if (!hasMagic) {
      throw new DataIntegrityError(
        `Not a Parquet file (${n} bytes without PAR1 magic at both ends)`,
      );
    }
    let file: pq.ParquetFile | undefined;
    try {
      const pq = await import("parquet-wasm");
      // Reads only the footer through Blob slices.
      file = await pq.ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
      const meta = file.metadata();
      return meta.fileMetadata().numRows();
    } catch (err) {
      throw new DataIntegrityError("Cannot read the Parquet footer", { cause: err });
    } finally {
      file?.free();
    }
  }

  #stream(schema: arrow.Schema): FormatEncoder {
    const codec = this.codec;
    const configuredRows = this.rowGroupRows;
    const engine = nativeUnsupported(schema, codec) === null ? "native" : "wasm";
    const level = engine === "native" ? levelFor(codec, this.level) : undefined;
    return workerEncoder({
      module: engine === "native" ? "parquet-native" : "parquet-wasm",
      job: (first) => ({
        format: "parquet",
        engine,
        codec,
        ...(level === undefined ? {} : { level }),
        rowGroupRows: rowGroupRowsOf(first, configuredRows),
        plainColumns: plainColumnsOf(first),
      }),
      conform: (batch) => conform(batch, schema),
      error: writerError,
      schema,
    });
  }
}

/**
 * The level the native writer uses. zstd defaults to 1, not the original's 3: measured on the
 * bench tables, level 3 costs 1.5-1.7x the compression time for files 0-3% smaller (the wide
 * table's came out larger), and parquet-wasm always wrote level 1. `compression_level: 3` or
 * `compression_profile: balanced` restore the original's level. zlib's gzip stops at 9.
 */
function levelFor(codec: ParquetCodec, level: number | undefined): number | undefined {
  if (codec === "zstd") return level ?? 1;
  if (codec === "gzip") return Math.min(level ?? 6, 9);
  return undefined;
}

/** Rows of the first batch looked at to tell near-unique columns. */
const DICTIONARY_SAMPLE_ROWS = 2048;
/** Share of distinct values in the sample above which a column skips dictionary encoding. */
const PLAIN_DISTINCT_SHARE = 0.5;

/**
 * Top-level columns whose values are nearly all distinct in `first` (ids, timestamps, hashes,
 * free text): a dictionary would not shrink them, and building one (until the writer gives up at
 * the dictionary page limit) costs a hash per value and often makes the file larger. Booleans
 * and nested columns keep the writer's default.
 */
export function plainColumnsOf(first: arrow.RecordBatch): string[] {
  const n = Math.min(first.numRows, DICTIONARY_SAMPLE_ROWS);
  if (n < 64) return [];
  const T = arrow.DataType;
  const out: string[] = [];
  first.schema.fields.forEach((f, c) => {
    const t = f.type;
    if (f.name.includes(".") || T.isBool(t) || T.isList(t) || T.isStruct(t)) return;
    const data = first.data.children[c];
    if (!data) return;
    const seen = new Set<unknown>();
    const vec = arrow.makeVector(data);
    let valid = 0;
    for (let i = 0; i < n; i++) {
      const v = vec.get(i);
      if (v === null || v === undefined) continue;
      valid++;
      seen.add(typeof v === "object" ? String(v) : v);
    }
    if (valid >= 64 && seen.size > PLAIN_DISTINCT_SHARE * valid) out.push(f.name);
  });
  return out;
}

/** The configured row group size, capped at ROW_GROUP_BYTES of rows as wide as `first`'s. */
function rowGroupRowsOf(first: arrow.RecordBatch, configured: number): number {
  const perRow = first.numRows > 0 ? Math.max(1, batchBytes(first) / first.numRows) : 1;
  return Math.min(configured, Math.max(1000, Math.floor(ROW_GROUP_BYTES / perRow)));
}

function writerError(cause: unknown): RivetError {
  return cause instanceof RivetError
    ? cause
    : new RivetError("Parquet writer failed", { exitClass: "internal", cause });
}

/** Bytes of the values of a batch's columns (not their capacity). */
function batchBytes(batch: arrow.RecordBatch): number {
  let n = 0;
  const add = (d: arrow.Data): void => {
    for (const b of [d.values, d.valueOffsets, d.nullBitmap]) if (b) n += b.byteLength;
    for (const c of d.children) add(c);
  };
  for (const c of batch.data.children) add(c);
  return n;
}

/** The batch with the encoder's schema (so field metadata is the same in every batch). */
function conform(batch: arrow.RecordBatch, schema: arrow.Schema): arrow.RecordBatch {
  if (batch.schema === schema) return batch;
  const a = batch.schema.fields;
  const b = schema.fields;
  const same = a.length === b.length &&
    a.every((f, i) => f.name === b[i]!.name && arrow.util.compareTypes(f.type, b[i]!.type));
  if (!same) {
    throw new RivetError(
      `Record batch schema (${a.map((f) => `${f.name}: ${f.type}`).join(", ")}) differs from the ` +
        `Parquet file's schema (${b.map((f) => `${f.name}: ${f.type}`).join(", ")})`,
      { exitClass: "internal" },
    );
  }
  return new arrow.RecordBatch(schema, batch.data);
}

/** Rejects Arrow types the Parquet writer cannot store, naming the column. */
function checkWritable(column: string, type: arrow.DataType): void {
  const T = arrow.DataType;
  if (T.isDecimal(type) && (type.scale < 0 || type.scale > type.precision)) {
    throw new ConfigError(
      `Parquet cannot store column '${column}' of type decimal(${type.precision},${type.scale}): ` +
        "the scale must be between 0 and the precision",
      {
        hint:
          `override the column type in rivet.yaml, e.g. columns: { ${column}: "decimal(${type.precision},0)" }`,
      },
    );
  }
  if (T.isList(type)) {
    const item = type.children[0];
    if (item) checkWritable(column, item.type);
    return;
  }
  const ok = T.isBool(type) || T.isInt(type) || T.isFloat(type) || T.isDecimal(type) ||
    T.isDate(type) || T.isTime(type) || T.isTimestamp(type) || T.isUtf8(type) ||
    T.isLargeUtf8(type) || T.isBinary(type) || T.isLargeBinary(type) || T.isFixedSizeBinary(type);
  if (!ok) {
    throw new ConfigError(`Parquet cannot store column '${column}' of Arrow type ${type}`, {
      hint: "cast the column in the query or add a column override in rivet.yaml",
    });
  }
}
