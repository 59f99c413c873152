// Appends the `_rivet_exported_at` and `_rivet_row_hash` meta columns to every record batch (execution layer).
//
// `_rivet_row_hash` is xxh3-128 of the row's canonical bytes, low 64 bits as a signed Int64. The
// canonical bytes visit the data columns in order; each contributes its cell rendering from
// `canonical_bytes.ts` (`0x00` for NULL, else `0x01` + type tag + value bytes) followed by the
// unit separator `0x1F`. The rendering is injective for a given schema, independent of batch
// boundaries, and identical across runs for identical values; NULL differs from "".
import * as arrow from "apache-arrow";
import { createXXHash128 } from "hash-wasm";
import type { MetaColumnsConfig } from "../config/config_types.ts";
import { ByteSink, type CellWriter, cellWriter } from "./canonical_bytes.ts";

export const EXPORTED_AT_COLUMN = "_rivet_exported_at";
export const ROW_HASH_COLUMN = "_rivet_row_hash";
export const META_COLUMN_NAMES: readonly string[] = [EXPORTED_AT_COLUMN, ROW_HASH_COLUMN];

const UNIT_SEPARATOR = 0x1f;

/** Which meta columns to append (the keys of `exports[].meta_columns`). */
export interface MetaColumnsOptions {
  readonly exported_at?: boolean;
  readonly row_hash?: boolean;
}

/** True when the config asks for at least one meta column. */
export function wantsMetaColumns(meta: MetaColumnsConfig | undefined): boolean {
  return meta?.exported_at === true || meta?.row_hash === true;
}

/** The schema of the written file: the data columns, then the requested meta columns. */
export function fileSchemaOf(
  schema: arrow.Schema,
  meta: MetaColumnsOptions | undefined,
): arrow.Schema {
  if (!wantsMetaColumns(meta)) return schema;
  const fields = [...schema.fields];
  if (meta?.exported_at) {
    fields.push(new arrow.Field(EXPORTED_AT_COLUMN, new arrow.TimestampMicrosecond("UTC"), false));
  }
  if (meta?.row_hash) fields.push(new arrow.Field(ROW_HASH_COLUMN, new arrow.Int64(), false));
  return new arrow.Schema(fields, schema.metadata);
}

/** Microseconds since the Unix epoch of a `Date` (for `exportedAtMicros`). */
export function epochMicros(at: Date): bigint {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("exported_at time is not a valid date");
  return BigInt(ms) * 1000n;
}

/** Computes row hashes; one instance per stream (holds a wasm hasher and a scratch buffer). */
export class RowHasher {
  readonly #hash: Awaited<ReturnType<typeof createXXHash128>>;
  readonly #sink = new ByteSink();

  private constructor(hash: Awaited<ReturnType<typeof createXXHash128>>) {
    this.#hash = hash;
  }

  static async create(): Promise<RowHasher> {
    return new RowHasher(await createXXHash128());
  }

  /** The row hashes of `batch` as signed 64-bit integers (row i at index i). */
  hashBatch(batch: arrow.RecordBatch): BigInt64Array {
    const n = batch.numRows;
    const out = new BigInt64Array(n);
    // Written as two little-endian 32-bit halves to avoid a BigInt per row.
    const words = new Uint32Array(out.buffer);
    const writers: CellWriter[] = batch.schema.fields.map((f, i) =>
      cellWriter(batch.data.children[i]!, f.name)
    );
    const sink = this.#sink;
    const hash = this.#hash;
    for (let row = 0; row < n; row++) {
      sink.reset();
      for (const write of writers) {
        write(row, sink);
        sink.byte(UNIT_SEPARATOR);
      }
      // Canonical xxh3-128 digest is big-endian: bytes 8..15 are the low 64 bits.
      const d = hash.init().update(sink.view()).digest("binary");
      words[2 * row] = ((d[12]! << 24) | (d[13]! << 16) | (d[14]! << 8) | d[15]!) >>> 0;
      words[2 * row + 1] = ((d[8]! << 24) | (d[9]! << 16) | (d[10]! << 8) | d[11]!) >>> 0;
    }
    return out;
  }
}

export interface MetaColumnsStreamOptions extends MetaColumnsOptions {
  /** `_rivet_exported_at` value in microseconds since the epoch (UTC); required with exported_at. */
  readonly exportedAtMicros?: bigint;
}

/**
 * Pass-through stage that appends the meta columns after the data columns of every batch.
 * Create one per sink (file); all batches get the same `_rivet_exported_at`.
 */
export class MetaColumnsStream extends TransformStream<arrow.RecordBatch, arrow.RecordBatch> {
  constructor(options: MetaColumnsStreamOptions) {
    if (options.exported_at && options.exportedAtMicros === undefined) {
      throw new TypeError("MetaColumnsStream: exportedAtMicros is required with exported_at");
    }
    let hasher: RowHasher | undefined;
    let lastIn: arrow.Schema | undefined;
    let lastOut: arrow.Schema | undefined;
    super({
      start: async () => {
        if (options.row_hash) hasher = await RowHasher.create();
      },
      transform: (batch, controller) => {
        if (batch.schema !== lastIn) {
          lastIn = batch.schema;
          lastOut = fileSchemaOf(batch.schema, options);
        }
        const at = options.exported_at ? options.exportedAtMicros : undefined;
        controller.enqueue(appendMeta(batch, lastOut!, at, hasher));
      },
    });
  }
}

function appendMeta(
  batch: arrow.RecordBatch,
  schema: arrow.Schema,
  exportedAt: bigint | undefined,
  hasher: RowHasher | undefined,
): arrow.RecordBatch {
  const n = batch.numRows;
  const children: arrow.Data[] = [...batch.data.children];
  if (exportedAt !== undefined) {
    children.push(arrow.makeData({
      type: new arrow.TimestampMicrosecond("UTC"),
      length: n,
      nullCount: 0,
      data: new BigInt64Array(n).fill(exportedAt),
    }));
  }
  if (hasher) {
    children.push(arrow.makeData({
      type: new arrow.Int64(),
      length: n,
      nullCount: 0,
      data: hasher.hashBatch(batch),
    }));
  }
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: n,
    nullCount: 0,
    children,
  });
  return new arrow.RecordBatch(schema, data);
}
