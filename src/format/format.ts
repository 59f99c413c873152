// The contract of an output format: Arrow record batches in, file bytes out (execution layer).
import type * as arrow from "apache-arrow";

export interface FormatEncoder {
  /** Batches in, encoded bytes out; closing the writable side finishes the file (footer). */
  readonly stream: TransformStream<arrow.RecordBatch, Uint8Array>;
}

export interface Format {
  /** File extension without a dot: `parquet` or `csv`. */
  readonly extension: "parquet" | "csv";
  /**
   * A new encoder for one file whose batches all have `schema`. Rejects (naming the column)
   * when the format cannot represent a column of the schema.
   */
  encoder(schema: arrow.Schema): Promise<FormatEncoder>;
  /** Counts the data rows in a complete file's bytes (used by `--validate`). */
  countRows(bytes: Uint8Array): Promise<number>;
}
