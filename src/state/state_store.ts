// The StateStore contract: durable state across runs, independent of the backend (persistence layer).
import { RivetError } from "../errors.ts";
import type { RunJournal } from "./journal_types.ts";

/*
 * Row types mirror the tables of spec 5.3 field for field (snake_case), so the SQLite and the
 * PostgreSQL backend map them 1:1 and `--json` output shows exactly what is stored.
 * Every timestamp is an RFC 3339 UTC string passed in by the caller: the store never reads the
 * clock, so tests are deterministic and a run uses one `now` for everything it records.
 */

/** `export_state`: the committed incremental cursor of one export. */
export interface CursorRow {
  readonly export_name: string;
  readonly last_cursor_value: string | null;
  readonly last_run_at: string | null;
}

export type MetricStatus = "success" | "failed" | "skipped";

/** `export_metrics`: one finished export job (without the row id). */
export interface MetricRecord {
  readonly export_name: string;
  readonly run_at: string;
  readonly duration_ms: number;
  readonly total_rows: number;
  readonly peak_rss_mb: number | null;
  readonly status: MetricStatus;
  readonly error_message: string | null;
  readonly tuning_profile: string | null;
  readonly format: string | null;
  /** full | incremental | chunked | keyset | timewindow */
  readonly mode: string | null;
  readonly files_produced: number;
  readonly bytes_written: number;
  readonly retries: number;
  readonly validated: boolean | null;
  readonly schema_changed: boolean | null;
  readonly run_id: string | null;
}

/** A stored metric; rows written by older versions may have null counters, read as 0. */
export interface MetricRow extends Omit<MetricRecord, "status"> {
  readonly id: number;
  /** As stored; normally a MetricStatus. */
  readonly status: string;
}

/** `file_log`: one committed part. */
export interface FileRecord {
  readonly run_id: string;
  readonly export_name: string;
  readonly file_name: string;
  readonly row_count: number;
  readonly bytes: number;
  readonly format: string;
  /** Codec label, even for CSV. */
  readonly compression: string | null;
  readonly created_at: string;
}

export interface FileRow extends FileRecord {
  readonly id: number;
}

/** One column of a destination schema snapshot; `type` is a canonical Arrow type string. */
export interface SchemaColumn {
  readonly name: string;
  readonly type: string;
}

/** `export_schema`: the last accepted destination schema of an export. */
export interface SchemaSnapshot {
  readonly export_name: string;
  readonly columns: readonly SchemaColumn[];
  readonly updated_at: string;
}

/** `run_journal` row, journal parsed. */
export interface StoredJournal {
  readonly run_id: string;
  readonly export_name: string;
  readonly finished_at: string;
  readonly journal: RunJournal;
}

/** A committed boundary (spec 5.3 `export_progression`). */
export type CommittedBoundary =
  | { readonly strategy: "incremental"; readonly cursor: string; readonly run_id: string }
  | { readonly strategy: "chunked"; readonly chunk_index: number; readonly run_id: string };

/** A verified boundary: `rivet reconcile` with no mismatch (chunked). */
export interface VerifiedBoundary {
  readonly strategy: "chunked";
  readonly chunk_index: number;
  readonly run_id: string;
}

export interface ProgressionRow {
  readonly export_name: string;
  readonly last_committed_strategy: string | null;
  readonly last_committed_cursor: string | null;
  readonly last_committed_chunk_index: number | null;
  readonly last_committed_run_id: string | null;
  readonly last_committed_at: string | null;
  readonly last_verified_strategy: string | null;
  readonly last_verified_cursor: string | null;
  readonly last_verified_chunk_index: number | null;
  readonly last_verified_run_id: string | null;
  readonly last_verified_at: string | null;
}

/** `run_aggregate`: the summary of a multi-export run. */
export interface RunAggregateRecord {
  readonly run_aggregate_id: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly duration_ms: number;
  readonly config_path: string | null;
  readonly parallel_mode: string;
  readonly total_exports: number;
  readonly success_count: number;
  readonly failed_count: number;
  readonly skipped_count: number;
  readonly total_rows: number;
  readonly total_files: number;
  readonly total_bytes: number;
  /** Per-export entries; stored as `details_json`. */
  readonly details: readonly unknown[];
}

export type ChunkRunStatus = "in_progress" | "completed";
export type ChunkTaskStatus = "pending" | "running" | "completed" | "failed";

/** `chunk_run`: one checkpointed chunked run. */
export interface ChunkRunRow {
  readonly run_id: string;
  readonly export_name: string;
  readonly plan_hash: string;
  /** As stored; normally a ChunkRunStatus. */
  readonly status: string;
  readonly max_chunk_attempts: number;
  readonly created_at: string;
  readonly updated_at: string;
}

/** `chunk_task`: one chunk of a checkpointed run. */
export interface ChunkTaskRow {
  readonly run_id: string;
  readonly chunk_index: number;
  readonly start_key: string;
  readonly end_key: string;
  /** As stored; normally a ChunkTaskStatus. */
  readonly status: string;
  readonly attempts: number;
  readonly last_error: string | null;
  readonly rows_written: number | null;
  readonly file_name: string | null;
  readonly updated_at: string;
}

export interface NewChunkRun {
  readonly run_id: string;
  readonly export_name: string;
  readonly plan_hash: string;
  readonly max_chunk_attempts: number;
  /** Chunk bounds as decimal (or key) text; indexes are assigned 0..n-1 in this order. */
  readonly tasks: readonly { readonly start_key: string; readonly end_key: string }[];
}

/** Result of `createChunkRun`: refused when the export already has a run in progress. */
export type CreateChunkRunResult =
  | { readonly created: true }
  | { readonly created: false; readonly in_progress_run_id: string };

/**
 * Result of `finishChunkRun`. `finished_now` is true for exactly one call per run: the one that
 * flipped it from `in_progress` to `completed` (that caller publishes the manifest).
 */
export type FinishChunkRunResult =
  | { readonly completed: true; readonly finished_now: boolean }
  | { readonly completed: false; readonly not_completed: number };

/**
 * A worker's claim on a chunk, kept in the additive table `rivet_chunk_lease` (one row per task,
 * the latest claim). The claim holds while `lease_until` is in the future; the worker renews it
 * while the chunk runs. After it lapses, any worker may claim the chunk again.
 */
export interface ChunkLeaseRow {
  readonly run_id: string;
  readonly chunk_index: number;
  /** `host:pid:random`, or RIVET_WORKER_ID. */
  readonly worker_id: string;
  readonly lease_until: string;
  readonly claimed_at: string;
}

/** Who claims, and until when the claim holds without a renewal. */
export interface ChunkLeaseRequest {
  readonly worker_id: string;
  readonly lease_until: string;
}

/** A task taken by `claimChunkTaskLeased`: `token` fences every later write of this claim. */
export interface LeasedChunkTask extends ChunkTaskRow {
  readonly worker_id: string;
  readonly lease_until: string;
  /** Unique per claim; `completeChunkTask`/`failChunkTask`/`renewChunkLease` must present it. */
  readonly token: string;
}

/**
 * Who publishes a completed chunk run's `manifest.json` and `_SUCCESS`, kept in the additive table
 * `rivet_chunk_publish` (one row per run). The claim holds while `lease_until` is in the future;
 * `published_at` is set once, by the holder, after both files were written.
 */
export interface ChunkPublishRow {
  readonly run_id: string;
  readonly worker_id: string;
  readonly lease_until: string;
  readonly claimed_at: string;
  readonly published_at: string | null;
}

/**
 * Result of `claimChunkRunPublish`: `claimed` for exactly one caller at a time; `published` once
 * the holder marked the run published; `held` while another live claim exists; `not_completed`
 * when the run is missing or still in progress.
 */
export type ClaimChunkPublishResult =
  | { readonly claimed: true; readonly token: string }
  | { readonly claimed: false; readonly reason: "not_completed" }
  | {
    readonly claimed: false;
    readonly reason: "published";
    readonly worker_id: string;
    readonly published_at: string;
  }
  | {
    readonly claimed: false;
    readonly reason: "held";
    readonly worker_id: string;
    readonly lease_until: string;
  };

/**
 * Durable state of Rivet: everything planning and execution read or write between runs.
 *
 * Implementations: `SqliteStateStore` (default, `.rivet_state.db`) and `PostgresStateStore`
 * (`RIVET_STATE_URL`). Every method is atomic on its own; `createChunkRun`, the claims, the
 * lease writes and `finishChunkRun` are atomic even when several processes share the store. The store decides nothing about *when* to write.
 */
export interface StateStore {
  /** Where the state lives, for messages (a file path; never a URL with a password). */
  readonly location: string;
  close(): Promise<void>;

  // export_state: incremental cursors
  /** null until a cursor was written for the export. */
  getCursor(exportName: string): Promise<CursorRow | null>;
  /**
   * Upsert; last write wins (no monotonic check: the caller owns ordering). `boundaryHashes` are
   * the row hashes exported at exactly `value`, stored with it in the same transaction.
   */
  setCursor(
    exportName: string,
    value: string,
    at: string,
    boundaryHashes?: readonly string[],
  ): Promise<void>;
  /** The boundary row hashes stored with the cursor, when it still holds `value`; else []. */
  getCursorBoundary(exportName: string, value: string): Promise<string[]>;
  /** Returns whether a row existed. */
  deleteCursor(exportName: string): Promise<boolean>;
  /** Every cursor, ordered by export name. */
  listCursors(): Promise<CursorRow[]>;

  // export_metrics
  recordMetric(metric: MetricRecord): Promise<void>;
  /** Newest first (highest id first). */
  listMetrics(
    query: { readonly exportName?: string; readonly limit: number },
  ): Promise<MetricRow[]>;

  // file_log
  /** Appends a row; never deduplicates. */
  recordFile(file: FileRecord): Promise<void>;
  /** Newest first. */
  listFiles(query: { readonly exportName?: string; readonly limit: number }): Promise<FileRow[]>;

  // export_schema
  getSchema(exportName: string): Promise<SchemaSnapshot | null>;
  putSchema(exportName: string, columns: readonly SchemaColumn[], at: string): Promise<void>;

  // export_shape
  /** Max byte length per column name. */
  getShape(exportName: string): Promise<Record<string, number>>;
  /** Upsert per column keeping the larger of the stored and the given length. */
  raiseShape(
    exportName: string,
    maxima: Readonly<Record<string, number>>,
    at: string,
  ): Promise<void>;

  // run_journal
  /** Insert or replace by run id. */
  saveJournal(journal: RunJournal, finishedAt: string): Promise<void>;
  getJournal(runId: string): Promise<StoredJournal | null>;
  /** Newest first by finished_at. */
  listJournals(exportName: string, limit: number): Promise<StoredJournal[]>;

  // export_progression
  /** Incremental: the cursor kept is max(old, new) by text comparison. */
  recordCommitted(exportName: string, boundary: CommittedBoundary, at: string): Promise<void>;
  recordVerified(exportName: string, boundary: VerifiedBoundary, at: string): Promise<void>;
  /** Ordered by export name; one export when given. */
  listProgression(exportName?: string): Promise<ProgressionRow[]>;

  // run_aggregate
  insertRunAggregate(aggregate: RunAggregateRecord): Promise<void>;

  // chunk_run / chunk_task
  /**
   * Creates the run (`in_progress`) and its `pending` tasks in one transaction, unless the export
   * already has an `in_progress` run (checked inside the same transaction).
   */
  createChunkRun(run: NewChunkRun, at: string): Promise<CreateChunkRunResult>;
  /** The newest `in_progress` run of the export. */
  findInProgressChunkRun(exportName: string): Promise<ChunkRunRow | null>;
  /** The most recently updated run of the export, any status. */
  latestChunkRun(exportName: string): Promise<ChunkRunRow | null>;
  /**
   * Atomically takes the lowest-index claimable task of an `in_progress` run (pending, or failed
   * with attempts < max_chunk_attempts): status running, attempts + 1. null when none is left.
   */
  claimChunkTask(runId: string, at: string): Promise<ChunkTaskRow | null>;
  /**
   * Like `claimChunkTask`, for workers that share a run: also takes a `running` task whose lease
   * lapsed (`lease_until` < `at`) while its attempts are below the maximum, and records the
   * claimer's lease with a fresh token in the same transaction. A running task without a lease
   * (claimed by `claimChunkTask`) is never taken.
   */
  claimChunkTaskLeased(
    runId: string,
    lease: ChunkLeaseRequest,
    at: string,
  ): Promise<LeasedChunkTask | null>;
  /** Moves the lease of a running task on; false when the claim `token` no longer holds it. */
  renewChunkLease(
    runId: string,
    chunkIndex: number,
    token: string,
    leaseUntil: string,
    at: string,
  ): Promise<boolean>;
  /** The lease rows of a run (the latest claim of each task), ordered by chunk index. */
  listChunkLeases(runId: string): Promise<ChunkLeaseRow[]>;
  /**
   * running → completed (error cleared). Returns false when the task was not running, or, with a
   * `token`, when that claim no longer holds the task (another worker took it over).
   */
  completeChunkTask(
    runId: string,
    chunkIndex: number,
    result: { readonly rows_written: number; readonly file_name: string | null },
    at: string,
    token?: string,
  ): Promise<boolean>;
  /** running → failed with the (already redacted) error. False when not running / not held. */
  failChunkTask(
    runId: string,
    chunkIndex: number,
    error: string,
    at: string,
    token?: string,
  ): Promise<boolean>;
  /**
   * Gives a held task back: running → pending (this attempt not counted), lease dropped, so another worker
   * can take it at once (a worker stopped by SIGTERM). False when the token no longer holds it.
   */
  releaseChunkTask(runId: string, chunkIndex: number, token: string, at: string): Promise<boolean>;
  /** Resume: every running task of the run → pending, their leases dropped. Returns how many. */
  resetRunningChunkTasks(runId: string, at: string): Promise<number>;
  /** Destination reconciliation: a completed task → pending, attempts 0, file/rows cleared. */
  requeueChunkTask(runId: string, chunkIndex: number, reason: string, at: string): Promise<boolean>;
  /** Ordered by chunk index. */
  listChunkTasks(runId: string): Promise<ChunkTaskRow[]>;
  /** A run by id, any status. */
  getChunkRun(runId: string): Promise<ChunkRunRow | null>;
  /**
   * Marks the run completed only when every task is completed. Atomic: of several concurrent
   * callers exactly one gets `finished_now: true`.
   */
  finishChunkRun(runId: string, at: string): Promise<FinishChunkRunResult>;
  /**
   * Compare-and-set on a completed run's publication: takes it when nobody published it yet and
   * no other claim is live (an unpublished claim whose lease lapsed is taken over, with a fresh
   * token). A claim row left from an earlier run with the same id (other `created_at`) is ignored.
   */
  claimChunkRunPublish(
    runId: string,
    lease: ChunkLeaseRequest,
    at: string,
  ): Promise<ClaimChunkPublishResult>;
  /** Moves the publication lease on; false when `token` no longer holds it or it is published. */
  renewChunkRunPublish(runId: string, token: string, leaseUntil: string): Promise<boolean>;
  /** Marks the run published (once); false when `token` no longer holds the claim. */
  finishChunkRunPublish(runId: string, token: string, at: string): Promise<boolean>;
  /** Drops an unpublished claim held by `token` (publication failed), so another worker retries. */
  releaseChunkRunPublish(runId: string, token: string): Promise<boolean>;
  /** The publication row of a run, or null. */
  getChunkRunPublish(runId: string): Promise<ChunkPublishRow | null>;
  /** `state reset-chunks`: deletes the export's tasks (and their leases), then its runs. */
  deleteChunkRuns(exportName: string): Promise<{ readonly runs: number; readonly tasks: number }>;
}

/** A failure of the state store; `retryable` when another process held the lock too long. */
export class StateError extends RivetError {
  constructor(
    message: string,
    opts: {
      hint?: string;
      cause?: unknown;
      retryable?: boolean;
      exitClass?: "config" | "internal";
    } = {},
  ) {
    super(message, {
      exitClass: opts.exitClass ?? "internal",
      ...(opts.retryable === undefined ? {} : { retryable: opts.retryable }),
      ...(opts.hint === undefined ? {} : { hint: opts.hint }),
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    });
    this.name = "StateError";
  }
}
