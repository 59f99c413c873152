// The contract every database source implements: a query in, Arrow record batches out (execution layer).
import type * as arrow from "apache-arrow";
import type { ColumnSpec, RivetType } from "./rivet_types.ts";
import type { TlsConfig } from "../config/config_types.ts";

/** How to reach the database; `url` holds the secret and must never be printed unredacted. */
export interface SourceConnection {
  readonly type: "postgres" | "mysql";
  readonly url: string;
  readonly tls?: TlsConfig;
}

/** Everything a source needs to run one query. Resolved by planning; sources do not read config. */
export interface ReadRequest {
  /** The exact SQL to run. */
  readonly query: string;
  /** Upper bound of rows per record batch (and per FETCH on PostgreSQL). */
  readonly batchSize: number;
  /** 0 = no limit. PostgreSQL: SET LOCAL statement_timeout; MySQL: max_execution_time. */
  readonly statementTimeoutS: number;
  /** 0 = no limit. PostgreSQL only: SET LOCAL lock_timeout. */
  readonly lockTimeoutS: number;
  /** Sleep between batches, in milliseconds. */
  readonly throttleMs: number;
  /** Per-column type overrides from `exports[].columns` (already parsed). */
  readonly columnOverrides: Readonly<Record<string, RivetType>>;
  /** Per-cell ceiling for string/binary values in bytes; 0 disables. */
  readonly maxValueBytes: number;
  /**
   * Target bytes of Arrow data per batch (`batch_size_memory_mb`): batches are cut at the rows
   * that fill it, measured on the rows read so far. Default DEFAULT_BATCH_BYTES; `batchSize`
   * still caps rows.
   */
  readonly batchBytes?: number;
}

/**
 * Arrow bytes a batch aims at when `batch_size_memory_mb` is not set. Every stage between the
 * source and the encoder may hold a batch (stream queues, batches in flight to the encode worker,
 * pooled IPC buffers), so peak memory grows with this size: 2 MiB keeps wide tables near narrow
 * ones (measured: wide MySQL -> CSV 386 -> 284 MiB peak RSS against 8 MiB) at equal speed.
 */
export const DEFAULT_BATCH_BYTES = 2 * 1024 * 1024;

/** The result of starting a query: its columns (known before the first row) and a stream of batches. */
export interface QueryResult {
  readonly columns: readonly ColumnSpec[];
  readonly schema: arrow.Schema;
  /** Every batch has `schema`; empty batches are never emitted. Cancel it to stop the query early. */
  readonly batches: ReadableStream<arrow.RecordBatch>;
}

export interface Source {
  /**
   * Runs `req.query`. Rejects with a SourceError (retryable or not) when the query cannot start;
   * errors after the start surface through the batch stream. The stream closes the query's
   * transaction/cursor when it ends, errors or is cancelled.
   */
  query(req: ReadRequest, signal?: AbortSignal): Promise<QueryResult>;
  /** Runs a small scalar query (SELECT 1, COUNT(*), min/max) and returns the first cell as text. */
  scalar(sql: string): Promise<string | null>;
  close(): Promise<void>;
}
