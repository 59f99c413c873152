// The contract of an output format: Arrow record batches in, file bytes out (execution layer).
import type * as arrow from "apache-arrow";
import type { FileDigest } from "./content_digest.ts";

export type { FileDigest } from "./content_digest.ts";

export interface FormatEncoder {
  /** Batches in, encoded bytes out; closing the writable side finishes the file (footer). */
  readonly stream: TransformStream<arrow.RecordBatch, Uint8Array>;
  /**
   * xxh3 + MD5 + length of exactly the bytes the readable side produced, computed where they
   * were produced; resolves once the file is finished. Encoders without it are hashed by the
   * caller.
   */
  readonly digest?: () => Promise<FileDigest>;
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
