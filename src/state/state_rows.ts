// Rows of the state tables as the StateStore interface returns them, whichever SQL backend read them (persistence layer).
import { journalFromJson, type RunJournal } from "./journal_types.ts";
import {
  type ChunkLeaseRow,
  type ChunkRunRow,
  type ChunkTaskRow,
  type CursorRow,
  type MetricRow,
  StateError,
  type StoredJournal,
} from "./state_store.ts";

type Row = Readonly<Record<string, unknown>>;

export function str(v: unknown): string {
  return v === null || v === undefined ? "" : String(v);
}
export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
export function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}
export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
/** A boolean as either driver returns it: true/false (PostgreSQL), "t"/"f", or 0/1 (SQLite). */
export function boolOrNull(v: unknown): boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v;
  if (v === "t" || v === "f") return v === "t";
  return Number(v) !== 0;
}

export function toCursor(r: Row): CursorRow {
  return {
    export_name: str(r.export_name),
    last_cursor_value: strOrNull(r.last_cursor_value),
    last_run_at: strOrNull(r.last_run_at),
  };
}

export function toMetric(r: Row): MetricRow {
  return {
    id: num(r.id),
    export_name: str(r.export_name),
    run_at: str(r.run_at),
    duration_ms: num(r.duration_ms),
    total_rows: num(r.total_rows),
    peak_rss_mb: numOrNull(r.peak_rss_mb),
    status: str(r.status),
    error_message: strOrNull(r.error_message),
    tuning_profile: strOrNull(r.tuning_profile),
    format: strOrNull(r.format),
    mode: strOrNull(r.mode),
    files_produced: num(r.files_produced),
    bytes_written: num(r.bytes_written),
    retries: num(r.retries),
    validated: boolOrNull(r.validated),
    schema_changed: boolOrNull(r.schema_changed),
    run_id: strOrNull(r.run_id),
  };
}

export function toJournal(r: Row): StoredJournal {
  const runId = str(r.run_id);
  let journal: RunJournal;
  try {
    journal = journalFromJson(str(r.journal_json));
  } catch (err) {
    throw new StateError(`the stored journal of run ${runId} is not valid journal JSON`, {
      cause: err,
    });
  }
  return {
    run_id: runId,
    export_name: str(r.export_name),
    finished_at: str(r.finished_at),
    journal,
  };
}

export function toRun(r: Row): ChunkRunRow {
  return {
    run_id: str(r.run_id),
    export_name: str(r.export_name),
    plan_hash: str(r.plan_hash),
    status: str(r.status),
    max_chunk_attempts: num(r.max_chunk_attempts),
    created_at: str(r.created_at),
    updated_at: str(r.updated_at),
  };
}

export function toLease(r: Row): ChunkLeaseRow {
  return {
    run_id: str(r.run_id),
    chunk_index: num(r.chunk_index),
    worker_id: str(r.worker_id),
    lease_until: str(r.lease_until),
    claimed_at: str(r.claimed_at),
  };
}

export function toTask(r: Row): ChunkTaskRow {
  return {
    run_id: str(r.run_id),
    chunk_index: num(r.chunk_index),
    start_key: str(r.start_key),
    end_key: str(r.end_key),
    status: str(r.status),
    attempts: num(r.attempts),
    last_error: strOrNull(r.last_error),
    rows_written: numOrNull(r.rows_written),
    file_name: strOrNull(r.file_name),
    updated_at: str(r.updated_at),
  };
}
