// Parquet output: streams Arrow record batches through parquet-wasm's writer into file bytes (execution layer).
import * as arrow from "apache-arrow";
import * as pq from "parquet-wasm";
import { ConfigError, DataIntegrityError, RivetError } from "../../errors.ts";
import type { Format, FormatEncoder } from "../format.ts";
import { DEFAULT_ROW_GROUP_ROWS } from "./row_group_rows.ts";

export { rowGroupRowsFor } from "./row_group_rows.ts";
export type { RowGroupOptions } from "./row_group_rows.ts";

export type ParquetCodec = "zstd" | "snappy" | "gzip" | "lz4" | "none";

export interface ParquetFormatOptions {
  readonly codec: ParquetCodec;
  /**
   * Requested codec level. parquet-wasm 0.8 has no way to set it (its `Compression` enum carries
   * no level and `WriterPropertiesBuilder` has no level setter), so it is accepted and ignored:
   * pages use the writer's built-in default level for the codec.
   */
  readonly level?: number;
  /** Rows per row group (see `rowGroupRowsFor`); default 1 048 576. */
  readonly rowGroupRows?: number;
}

const CODECS: Readonly<Record<ParquetCodec, pq.Compression>> = {
  zstd: pq.Compression.ZSTD,
  snappy: pq.Compression.SNAPPY,
  gzip: pq.Compression.GZIP,
  lz4: pq.Compression.LZ4_RAW, // raw LZ4 (the framed `LZ4` codec is deprecated by Parquet)
  none: pq.Compression.UNCOMPRESSED,
};

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

export class ParquetFormat implements Format {
  readonly extension = "parquet" as const;
  readonly codec: ParquetCodec;
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
    this.rowGroupRows = rows;
  }

  encoder(schema: arrow.Schema): Promise<FormatEncoder> {
    try {
      for (const field of schema.fields) checkWritable(field.name, field.type);
      return Promise.resolve({ stream: this.#stream(schema) });
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

  #stream(schema: arrow.Schema): TransformStream<arrow.RecordBatch, Uint8Array> {
    const props = new pq.WriterPropertiesBuilder()
      .setCompression(CODECS[this.codec])
      .setCreatedBy("rivet")
      .setMaxRowGroupSize(this.rowGroupRows)
      .build();
    let wroteBatch = false;
    // Arrow JS batch -> wasm batch, one at a time, so only the writer's open row group is buffered.
    const toWasm = new TransformStream<arrow.RecordBatch, pq.RecordBatch>({
      transform(batch, controller) {
        if (batch.numRows === 0 && wroteBatch) return;
        for (const w of toWasmBatches(conform(batch, schema))) controller.enqueue(w);
        wroteBatch = true;
      },
      flush(controller) {
        // The writer needs at least one batch to learn the schema; an empty file is still valid.
        if (!wroteBatch) {
          for (const w of toWasmBatches(emptyBatch(schema))) controller.enqueue(w);
        }
      },
    });
    // transformParquetStream resolves at once (it only wires the streams); bytes are pulled lazily.
    const written = pq.transformParquetStream(toWasm.readable, props) as Promise<
      ReadableStream<Uint8Array>
    >;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const readable = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          reader ??= (await written).getReader();
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(
            err instanceof RivetError ? err : new RivetError("Parquet writer failed", {
              exitClass: "internal",
              cause: err,
            }),
          );
        }
      },
      async cancel(reason) {
        reader ??= (await written).getReader();
        await reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return { writable: toWasm.writable, readable } as TransformStream<
      arrow.RecordBatch,
      Uint8Array
    >;
  }
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

/** Hands one Arrow JS batch to wasm memory through an IPC stream (the only import path in 0.8). */
function toWasmBatches(batch: arrow.RecordBatch): pq.RecordBatch[] {
  const table = pq.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table([batch]), "stream"));
  try {
    return table.recordBatches();
  } finally {
    table.free();
  }
}

function emptyBatch(schema: arrow.Schema): arrow.RecordBatch {
  const children = schema.fields.map((f) => arrow.makeVector(emptyData(f.type)).data[0]!);
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: 0,
    nullCount: 0,
    children,
  });
  return new arrow.RecordBatch(schema, data);
}

function emptyData(type: arrow.DataType): arrow.Data {
  return arrow.makeBuilder({ type }).finish().flush();
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
