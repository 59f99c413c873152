// SqliteStateStore: the StateStore in a local `.rivet_state.db` file via node:sqlite (persistence layer).
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { describeError } from "../errors.ts";
import {
  num,
  numOrNull,
  str,
  strOrNull,
  toCursor,
  toJournal,
  toLease,
  toMetric,
  toRun,
  toTask,
} from "./state_rows.ts";
import { journalToJson, type RunJournal } from "./journal_types.ts";
import {
  LEGACY_METRIC_COLUMNS,
  RIVET_TABLES,
  SQLITE_MIGRATIONS,
  SQLITE_SCHEMA_VERSION,
} from "./sqlite_migrations.ts";
import {
  type ChunkLeaseRequest,
  type ChunkLeaseRow,
  type ChunkPublishRow,
  type ChunkRunRow,
  type ChunkTaskRow,
  type ClaimChunkPublishResult,
  type CommittedBoundary,
  type CreateChunkRunResult,
  type CursorRow,
  type FileRecord,
  type FileRow,
  type FinishChunkRunResult,
  type LeasedChunkTask,
  type MetricRecord,
  type MetricRow,
  type NewChunkRun,
  type ProgressionRow,
  type RunAggregateRecord,
  type SchemaColumn,
  type SchemaSnapshot,
  StateError,
  type StateStore,
  type StoredJournal,
  type VerifiedBoundary,
} from "./state_store.ts";

type Row = Record<string, SQLInputValue>;

const BUSY_TIMEOUT_MS = 10_000;
const TASK_COLUMNS =
  "run_id, chunk_index, start_key, end_key, status, attempts, last_error, rows_written, file_name, updated_at";
const RUN_COLUMNS =
  "run_id, export_name, plan_hash, status, max_chunk_attempts, created_at, updated_at";

/** The final-shape DDL, re-run (idempotently) only when a table of a v8 file is missing. */
const HEAL_SQL = SQLITE_MIGRATIONS
  .filter(([v]) => v !== 3 && v !== 8)
  .map(([v, sql]) => v === 1 ? sql.replace("file_manifest", "file_log") : sql)
  .join("\n") +
  "\nCREATE INDEX IF NOT EXISTS idx_file_log_export ON file_log(export_name, id DESC);";

/**
 * node:sqlite exposes no result code on its errors, only SQLite's message; "database is locked"
 * (SQLITE_BUSY after the busy timeout) is the one transient condition worth telling apart.
 */
function isBusy(err: unknown): boolean {
  return err instanceof Error && /database is locked|database table is locked|SQLITE_BUSY/i.test(
    err.message,
  );
}

/**
 * State in one SQLite file, shared safely by several processes (WAL + 10 s busy timeout;
 * claims and multi-row writes in `BEGIN IMMEDIATE` transactions). The node:sqlite API is
 * synchronous, so concurrent callers in one process never interleave inside a method.
 */
export class SqliteStateStore implements StateStore {
  readonly location: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  private constructor(path: string, db: DatabaseSync) {
    this.location = path;
    this.#db = db;
  }

  /**
   * Opens (creating if needed) and migrates the state file. A file that is not a SQLite
   * database, or not Rivet's, gives a StateError telling the user to move it aside.
   */
  static open(
    path: string,
    opts: { readonly warn?: (message: string) => void } = {},
  ): Promise<SqliteStateStore> {
    const warn = opts.warn ?? (() => {});
    const notOurs = (detail: string, cause?: unknown) =>
      new StateError(`${path} is not a Rivet state database: ${detail}`, {
        exitClass: "config",
        hint: "move it aside (Rivet creates a new one) or pass --state <path>",
        ...(cause === undefined ? {} : { cause }),
      });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (err) {
      return Promise.reject(
        new StateError(`Cannot open state database ${path}`, {
          exitClass: "config",
          hint: "check that the directory exists and is writable, or pass --state <path>",
          cause: err,
        }),
      );
    }
    try {
      // busy_timeout first: switching to WAL needs a lock another process may hold.
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      let tables: string[];
      try {
        tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Row[])
          .map((r) => String(r.name));
      } catch (err) {
        if (isBusy(err)) throw err;
        throw notOurs(err instanceof Error ? err.message : String(err), err);
      }
      try {
        const mode = db.prepare("PRAGMA journal_mode = WAL").get() as Row | undefined;
        if (mode?.journal_mode !== "wal") {
          warn(
            `state: WAL journal mode unavailable for ${path} (got ${String(mode?.journal_mode)})`,
          );
        }
      } catch (err) {
        warn(`state: WAL journal mode unavailable for ${path}: ${describeError(err)}`);
      }
      const userTables = tables.filter((t) => !t.startsWith("sqlite_") && t !== "schema_version");
      if (userTables.length > 0 && !userTables.some((t) => RIVET_TABLES.includes(t))) {
        throw notOurs(`it holds other tables (${userTables.slice(0, 5).join(", ")})`);
      }
      const store = new SqliteStateStore(path, db);
      store.#migrate(tables.includes("export_state"));
      return Promise.resolve(store);
    } catch (err) {
      try {
        db.close();
      } catch { /* already failing */ }
      if (err instanceof StateError) return Promise.reject(err);
      return Promise.reject(
        new StateError(`Cannot open state database ${path}`, {
          cause: err,
          retryable: isBusy(err),
          hint: isBusy(err)
            ? "another Rivet process holds the state database; retry when it finishes"
            : "move the file aside or pass --state <path>",
        }),
      );
    }
  }

  /** The schema version recorded in the file (0 before any migration). */
  schemaVersion(): number {
    const row = this.#db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
      .get() as Row | undefined;
    return Number(row?.v ?? 0);
  }

  #migrate(hasExportState: boolean): void {
    const db = this.#db;
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const current = this.schemaVersion();
    if (current > SQLITE_SCHEMA_VERSION) {
      throw new StateError(
        `state database ${this.location} has schema v${current}, newer than this Rivet understands (v${SQLITE_SCHEMA_VERSION})`,
        { exitClass: "config", hint: "upgrade Rivet, or pass --state <path> to use another file" },
      );
    }
    if (current === 0 && hasExportState) {
      // Pre-versioning file: add the metric columns it may lack; "duplicate column" is fine.
      for (const col of LEGACY_METRIC_COLUMNS) {
        try {
          db.exec(`ALTER TABLE export_metrics ADD COLUMN ${col}`);
        } catch { /* best effort, spec 5.2 */ }
      }
    }
    for (const [version, sql] of SQLITE_MIGRATIONS) {
      if (version <= current) continue;
      this.#tx(() => {
        // Another process may have applied it while we waited for the lock.
        if (this.schemaVersion() >= version) return;
        try {
          db.exec(sql);
        } catch (err) {
          throw new StateError(`state: migration v${version} of ${this.location} failed`, {
            cause: err,
          });
        }
        db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(version);
      });
    }
    if (current < SQLITE_SCHEMA_VERSION) {
      this.#tx(() =>
        db.exec(
          "DELETE FROM schema_version WHERE version < (SELECT MAX(version) FROM schema_version)",
        )
      );
    }
    const final = this.schemaVersion();
    if (final !== SQLITE_SCHEMA_VERSION) {
      throw new StateError(
        `state: migration incomplete: expected schema v${SQLITE_SCHEMA_VERSION}, reached v${final}`,
      );
    }
    const present = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Row[])
        .map((r) => String(r.name)),
    );
    const expected = RIVET_TABLES.filter((t) => t !== "file_manifest");
    if (expected.some((t) => !present.has(t))) this.#tx(() => db.exec(HEAL_SQL));
    // Additive table of this implementation, outside the versioned set shared with rivet-cli:
    // the row hashes exported at an incremental cursor's exact value (boundary ties).
    if (!present.has("rivet_cursor_boundary")) {
      this.#tx(() => db.exec(CURSOR_BOUNDARY_SQL));
    }
    // Additive too: which worker holds each chunk task and until when (scale-out leases).
    if (!present.has("rivet_chunk_lease")) {
      this.#tx(() => db.exec(CHUNK_LEASE_SQL));
    }
    // Additive too: who publishes a completed run's manifest and _SUCCESS (run groups).
    if (!present.has("rivet_chunk_publish")) {
      this.#tx(() => db.exec(CHUNK_PUBLISH_SQL));
    }
  }

  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (err) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* the transaction may already be gone */ }
      throw err;
    }
  }

  /** Runs one store operation, wrapping SQLite failures with what was being done. */
  #op<T>(doing: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      if (err instanceof StateError) return Promise.reject(err);
      const busy = isBusy(err);
      return Promise.reject(
        new StateError(`Cannot ${doing} in state database ${this.location}`, {
          cause: err,
          retryable: busy,
          ...(busy
            ? { hint: "another process held the state database for more than 10 s; retry" }
            : {}),
        }),
      );
    }
  }

  close(): Promise<void> {
    this.#statements.clear();
    try {
      if (this.#db.isOpen) this.#db.close();
    } catch { /* closing twice is harmless */ }
    return Promise.resolve();
  }

  // ── export_state ──────────────────────────────────────────────────────────────────────────

  getCursor(exportName: string): Promise<CursorRow | null> {
    return this.#op(`read the cursor of export "${exportName}"`, () => {
      const r = this.#stmt(
        "SELECT export_name, last_cursor_value, last_run_at FROM export_state WHERE export_name = ?",
      ).get(exportName) as Row | undefined;
      return r === undefined ? null : toCursor(r);
    });
  }

  setCursor(
    exportName: string,
    value: string,
    at: string,
    boundaryHashes: readonly string[] = [],
  ): Promise<void> {
    return this.#op(`save the cursor of export "${exportName}"`, () =>
      this.#tx(() => {
        this.#stmt(
          `INSERT INTO export_state (export_name, last_cursor_value, last_run_at) VALUES (?, ?, ?)
           ON CONFLICT(export_name) DO UPDATE SET last_cursor_value = excluded.last_cursor_value,
             last_run_at = excluded.last_run_at`,
        ).run(exportName, value, at);
        this.#stmt(
          `INSERT INTO rivet_cursor_boundary (export_name, cursor_value, row_hashes, updated_at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT(export_name) DO UPDATE SET cursor_value = excluded.cursor_value,
             row_hashes = excluded.row_hashes, updated_at = excluded.updated_at`,
        ).run(exportName, value, JSON.stringify(boundaryHashes), at);
      }));
  }

  getCursorBoundary(exportName: string, value: string): Promise<string[]> {
    return this.#op(`read the cursor boundary of export "${exportName}"`, () => {
      const r = this.#stmt(
        "SELECT cursor_value, row_hashes FROM rivet_cursor_boundary WHERE export_name = ?",
      ).get(exportName) as Row | undefined;
      if (r === undefined || r.cursor_value !== value) return [];
      const parsed: unknown = JSON.parse(String(r.row_hashes));
      return Array.isArray(parsed) ? parsed.map(String) : [];
    });
  }

  deleteCursor(exportName: string): Promise<boolean> {
    return this.#op(
      `reset the cursor of export "${exportName}"`,
      () =>
        Number(
          this.#tx(() => {
            this.#stmt("DELETE FROM rivet_cursor_boundary WHERE export_name = ?").run(exportName);
            return this.#stmt("DELETE FROM export_state WHERE export_name = ?").run(exportName);
          }).changes,
        ) >
          0,
    );
  }

  listCursors(): Promise<CursorRow[]> {
    return this.#op("list cursors", () =>
      (this.#stmt(
        "SELECT export_name, last_cursor_value, last_run_at FROM export_state ORDER BY export_name",
      ).all() as Row[]).map(toCursor));
  }

  // ── export_metrics ────────────────────────────────────────────────────────────────────────

  recordMetric(m: MetricRecord): Promise<void> {
    return this.#op(`record the metrics of export "${m.export_name}"`, () => {
      this.#stmt(
        `INSERT INTO export_metrics (export_name, run_at, duration_ms, total_rows, peak_rss_mb,
           status, error_message, tuning_profile, format, mode, files_produced, bytes_written,
           retries, validated, schema_changed, run_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        m.export_name,
        m.run_at,
        m.duration_ms,
        m.total_rows,
        m.peak_rss_mb,
        m.status,
        m.error_message,
        m.tuning_profile,
        m.format,
        m.mode,
        m.files_produced,
        m.bytes_written,
        m.retries,
        fromBool(m.validated),
        fromBool(m.schema_changed),
        m.run_id,
      );
    });
  }

  listMetrics(q: { readonly exportName?: string; readonly limit: number }): Promise<MetricRow[]> {
    return this.#op("list metrics", () => {
      const cols = `id, export_name, run_at, duration_ms, total_rows, peak_rss_mb, status,
        error_message, tuning_profile, format, mode, files_produced, bytes_written, retries,
        validated, schema_changed, run_id`;
      const rows = q.exportName === undefined
        ? this.#stmt(`SELECT ${cols} FROM export_metrics ORDER BY id DESC LIMIT ?`).all(q.limit)
        : this.#stmt(
          `SELECT ${cols} FROM export_metrics WHERE export_name = ? ORDER BY id DESC LIMIT ?`,
        ).all(q.exportName, q.limit);
      return (rows as Row[]).map(toMetric);
    });
  }

  // ── file_log ──────────────────────────────────────────────────────────────────────────────

  recordFile(f: FileRecord): Promise<void> {
    return this.#op(`record file ${f.file_name} of export "${f.export_name}"`, () => {
      this.#stmt(
        `INSERT INTO file_log (run_id, export_name, file_name, row_count, bytes, format,
           compression, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        f.run_id,
        f.export_name,
        f.file_name,
        f.row_count,
        f.bytes,
        f.format,
        f.compression,
        f.created_at,
      );
    });
  }

  listFiles(q: { readonly exportName?: string; readonly limit: number }): Promise<FileRow[]> {
    return this.#op("list files", () => {
      const cols =
        "id, run_id, export_name, file_name, row_count, bytes, format, compression, created_at";
      const rows = q.exportName === undefined
        ? this.#stmt(`SELECT ${cols} FROM file_log ORDER BY id DESC LIMIT ?`).all(q.limit)
        : this.#stmt(`SELECT ${cols} FROM file_log WHERE export_name = ? ORDER BY id DESC LIMIT ?`)
          .all(q.exportName, q.limit);
      return (rows as Row[]).map((r) => ({
        id: num(r.id),
        run_id: str(r.run_id),
        export_name: str(r.export_name),
        file_name: str(r.file_name),
        row_count: num(r.row_count),
        bytes: num(r.bytes),
        format: str(r.format),
        compression: strOrNull(r.compression),
        created_at: str(r.created_at),
      }));
    });
  }

  // ── export_schema ─────────────────────────────────────────────────────────────────────────

  getSchema(exportName: string): Promise<SchemaSnapshot | null> {
    return this.#op(`read the schema snapshot of export "${exportName}"`, () => {
      const r = this.#stmt(
        "SELECT export_name, columns_json, updated_at FROM export_schema WHERE export_name = ?",
      ).get(exportName) as Row | undefined;
      if (r === undefined) return null;
      const parsed: unknown = JSON.parse(str(r.columns_json));
      const columns = Array.isArray(parsed)
        ? parsed.map((c) => ({ name: String(c?.name ?? ""), type: String(c?.type ?? "") }))
        : [];
      return { export_name: str(r.export_name), columns, updated_at: str(r.updated_at) };
    });
  }

  putSchema(exportName: string, columns: readonly SchemaColumn[], at: string): Promise<void> {
    return this.#op(`save the schema snapshot of export "${exportName}"`, () => {
      const json = JSON.stringify(columns.map((c) => ({ name: c.name, type: c.type })));
      this.#stmt(
        `INSERT INTO export_schema (export_name, columns_json, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(export_name) DO UPDATE SET columns_json = excluded.columns_json,
           updated_at = excluded.updated_at`,
      ).run(exportName, json, at);
    });
  }

  // ── export_shape ──────────────────────────────────────────────────────────────────────────

  getShape(exportName: string): Promise<Record<string, number>> {
    return this.#op(`read the shape of export "${exportName}"`, () => {
      const out: Record<string, number> = {};
      const rows = this.#stmt(
        "SELECT column_name, max_byte_len FROM export_shape WHERE export_name = ? ORDER BY column_name",
      ).all(exportName) as Row[];
      for (const r of rows) out[str(r.column_name)] = num(r.max_byte_len);
      return out;
    });
  }

  raiseShape(
    exportName: string,
    maxima: Readonly<Record<string, number>>,
    at: string,
  ): Promise<void> {
    return this.#op(`save the shape of export "${exportName}"`, () =>
      this.#tx(() => {
        const s = this.#stmt(
          `INSERT INTO export_shape (export_name, column_name, max_byte_len, updated_at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT(export_name, column_name) DO UPDATE SET
             max_byte_len = MAX(export_shape.max_byte_len, excluded.max_byte_len),
             updated_at = excluded.updated_at`,
        );
        for (const [column, len] of Object.entries(maxima)) s.run(exportName, column, len, at);
      }));
  }

  // ── run_journal ───────────────────────────────────────────────────────────────────────────

  saveJournal(journal: RunJournal, finishedAt: string): Promise<void> {
    return this.#op(`save the journal of run ${journal.run_id}`, () => {
      this.#stmt(
        `INSERT OR REPLACE INTO run_journal (run_id, export_name, finished_at, journal_json)
         VALUES (?, ?, ?, ?)`,
      ).run(journal.run_id, journal.export_name, finishedAt, journalToJson(journal));
    });
  }

  getJournal(runId: string): Promise<StoredJournal | null> {
    return this.#op(`read the journal of run ${runId}`, () => {
      const r = this.#stmt(
        "SELECT run_id, export_name, finished_at, journal_json FROM run_journal WHERE run_id = ?",
      ).get(runId) as Row | undefined;
      return r === undefined ? null : toJournal(r);
    });
  }

  listJournals(exportName: string, limit: number): Promise<StoredJournal[]> {
    return this.#op(`list the journals of export "${exportName}"`, () =>
      (this.#stmt(
        `SELECT run_id, export_name, finished_at, journal_json FROM run_journal
         WHERE export_name = ? ORDER BY finished_at DESC, rowid DESC LIMIT ?`,
      ).all(exportName, limit) as Row[]).map(toJournal));
  }

  // ── export_progression ────────────────────────────────────────────────────────────────────

  recordCommitted(exportName: string, b: CommittedBoundary, at: string): Promise<void> {
    return this.#op(`record the committed boundary of export "${exportName}"`, () => {
      const cursor = b.strategy === "incremental" ? b.cursor : null;
      const index = b.strategy === "chunked" ? b.chunk_index : null;
      this.#stmt(
        `INSERT INTO export_progression (export_name, last_committed_strategy,
           last_committed_cursor, last_committed_chunk_index, last_committed_run_id,
           last_committed_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(export_name) DO UPDATE SET
           last_committed_strategy = excluded.last_committed_strategy,
           last_committed_cursor = CASE
             WHEN excluded.last_committed_cursor IS NOT NULL
               AND export_progression.last_committed_cursor IS NOT NULL
               AND export_progression.last_committed_cursor > excluded.last_committed_cursor
             THEN export_progression.last_committed_cursor
             ELSE excluded.last_committed_cursor END,
           last_committed_chunk_index = excluded.last_committed_chunk_index,
           last_committed_run_id = excluded.last_committed_run_id,
           last_committed_at = excluded.last_committed_at`,
      ).run(exportName, b.strategy, cursor, index, b.run_id, at);
    });
  }

  recordVerified(exportName: string, b: VerifiedBoundary, at: string): Promise<void> {
    return this.#op(`record the verified boundary of export "${exportName}"`, () => {
      this.#stmt(
        `INSERT INTO export_progression (export_name, last_verified_strategy,
           last_verified_cursor, last_verified_chunk_index, last_verified_run_id, last_verified_at)
         VALUES (?, ?, NULL, ?, ?, ?)
         ON CONFLICT(export_name) DO UPDATE SET
           last_verified_strategy = excluded.last_verified_strategy,
           last_verified_cursor = NULL,
           last_verified_chunk_index = excluded.last_verified_chunk_index,
           last_verified_run_id = excluded.last_verified_run_id,
           last_verified_at = excluded.last_verified_at`,
      ).run(exportName, b.strategy, b.chunk_index, b.run_id, at);
    });
  }

  listProgression(exportName?: string): Promise<ProgressionRow[]> {
    return this.#op("list progression", () => {
      const rows = exportName === undefined
        ? this.#stmt("SELECT * FROM export_progression ORDER BY export_name").all()
        : this.#stmt("SELECT * FROM export_progression WHERE export_name = ?").all(exportName);
      return (rows as Row[]).map((r) => ({
        export_name: str(r.export_name),
        last_committed_strategy: strOrNull(r.last_committed_strategy),
        last_committed_cursor: strOrNull(r.last_committed_cursor),
        last_committed_chunk_index: numOrNull(r.last_committed_chunk_index),
        last_committed_run_id: strOrNull(r.last_committed_run_id),
        last_committed_at: strOrNull(r.last_committed_at),
        last_verified_strategy: strOrNull(r.last_verified_strategy),
        last_verified_cursor: strOrNull(r.last_verified_cursor),
        last_verified_chunk_index: numOrNull(r.last_verified_chunk_index),
        last_verified_run_id: strOrNull(r.last_verified_run_id),
        last_verified_at: strOrNull(r.last_verified_at),
      }));
    });
  }

  // ── run_aggregate ─────────────────────────────────────────────────────────────────────────

  insertRunAggregate(a: RunAggregateRecord): Promise<void> {
    return this.#op(`record run aggregate ${a.run_aggregate_id}`, () => {
      this.#stmt(
        `INSERT INTO run_aggregate (run_aggregate_id, started_at, finished_at, duration_ms,
           config_path, parallel_mode, total_exports, success_count, failed_count, skipped_count,
           total_rows, total_files, total_bytes, details_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        a.run_aggregate_id,
        a.started_at,
        a.finished_at,
        a.duration_ms,
        a.config_path,
        a.parallel_mode,
        a.total_exports,
        a.success_count,
        a.failed_count,
        a.skipped_count,
        a.total_rows,
        a.total_files,
        a.total_bytes,
        JSON.stringify(a.details),
      );
    });
  }

  // ── chunk_run / chunk_task ────────────────────────────────────────────────────────────────

  createChunkRun(run: NewChunkRun, at: string): Promise<CreateChunkRunResult> {
    return this.#op(
      `create chunk checkpoint run ${run.run_id}`,
      () =>
        this.#tx((): CreateChunkRunResult => {
          const existing = this.#stmt(
            `SELECT run_id FROM chunk_run WHERE export_name = ? AND status = 'in_progress'
           ORDER BY created_at DESC, rowid DESC LIMIT 1`,
          ).get(run.export_name) as Row | undefined;
          if (existing !== undefined) {
            return { created: false, in_progress_run_id: str(existing.run_id) };
          }
          this.#stmt(
            `INSERT INTO chunk_run (run_id, export_name, plan_hash, status, max_chunk_attempts,
             created_at, updated_at) VALUES (?, ?, ?, 'in_progress', ?, ?, ?)`,
          ).run(run.run_id, run.export_name, run.plan_hash, run.max_chunk_attempts, at, at);
          const task = this.#stmt(
            `INSERT INTO chunk_task (run_id, chunk_index, start_key, end_key, status, attempts,
             updated_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)`,
          );
          run.tasks.forEach((t, i) => task.run(run.run_id, i, t.start_key, t.end_key, at));
          return { created: true };
        }),
    );
  }

  findInProgressChunkRun(exportName: string): Promise<ChunkRunRow | null> {
    return this.#op(`find the in-progress chunk run of export "${exportName}"`, () => {
      const r = this.#stmt(
        `SELECT ${RUN_COLUMNS} FROM chunk_run WHERE export_name = ? AND status = 'in_progress'
         ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      ).get(exportName) as Row | undefined;
      return r === undefined ? null : toRun(r);
    });
  }

  latestChunkRun(exportName: string): Promise<ChunkRunRow | null> {
    return this.#op(`find the latest chunk run of export "${exportName}"`, () => {
      const r = this.#stmt(
        `SELECT ${RUN_COLUMNS} FROM chunk_run WHERE export_name = ?
         ORDER BY updated_at DESC, created_at DESC, rowid DESC LIMIT 1`,
      ).get(exportName) as Row | undefined;
      return r === undefined ? null : toRun(r);
    });
  }

  claimChunkTask(runId: string, at: string): Promise<ChunkTaskRow | null> {
    return this.#op(`claim a chunk task of run ${runId}`, () =>
      this.#tx(() => {
        const r = this.#stmt(
          `UPDATE chunk_task SET status = 'running', attempts = attempts + 1, updated_at = ?
           WHERE id = (
             SELECT t.id FROM chunk_task t JOIN chunk_run r ON r.run_id = t.run_id
             WHERE t.run_id = ? AND r.status = 'in_progress'
               AND (t.status = 'pending'
                    OR (t.status = 'failed' AND t.attempts < r.max_chunk_attempts))
             ORDER BY t.chunk_index LIMIT 1)
           RETURNING ${TASK_COLUMNS}`,
        ).get(at, runId) as Row | undefined;
        if (r === undefined) return null;
        this.#dropLease(runId, num(r.chunk_index));
        this.#touchRun(runId, at);
        return toTask(r);
      }));
  }

  claimChunkTaskLeased(
    runId: string,
    lease: ChunkLeaseRequest,
    at: string,
  ): Promise<LeasedChunkTask | null> {
    return this.#op(
      `claim a chunk task of run ${runId}`,
      () =>
        this.#tx((): LeasedChunkTask | null => {
          const r = this.#stmt(
            `UPDATE chunk_task SET status = 'running', attempts = attempts + 1, updated_at = ?
           WHERE id = (
             SELECT t.id FROM chunk_task t JOIN chunk_run r ON r.run_id = t.run_id
             LEFT JOIN rivet_chunk_lease l
               ON l.run_id = t.run_id AND l.chunk_index = t.chunk_index
             WHERE t.run_id = ? AND r.status = 'in_progress'
               AND (t.status = 'pending'
                    OR (t.status IN ('failed', 'running') AND t.attempts < r.max_chunk_attempts
                        AND (t.status = 'failed' OR l.lease_until < ?)))
             ORDER BY t.chunk_index LIMIT 1)
           RETURNING ${TASK_COLUMNS}`,
          ).get(at, runId, at) as Row | undefined;
          if (r === undefined) return null;
          const token = crypto.randomUUID();
          this.#stmt(
            `INSERT INTO rivet_chunk_lease (run_id, chunk_index, worker_id, token, lease_until,
             claimed_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(run_id, chunk_index) DO UPDATE SET worker_id = excluded.worker_id,
             token = excluded.token, lease_until = excluded.lease_until,
             claimed_at = excluded.claimed_at`,
          ).run(runId, num(r.chunk_index), lease.worker_id, token, lease.lease_until, at);
          this.#touchRun(runId, at);
          return {
            ...toTask(r),
            worker_id: lease.worker_id,
            lease_until: lease.lease_until,
            token,
          };
        }),
    );
  }

  /** Whether the claim `token` still holds the running task (inside a transaction). */
  #holds(runId: string, chunkIndex: number, token: string): boolean {
    const r = this.#stmt(
      `SELECT 1 AS ok FROM chunk_task t JOIN rivet_chunk_lease l
         ON l.run_id = t.run_id AND l.chunk_index = t.chunk_index
       WHERE t.run_id = ? AND t.chunk_index = ? AND t.status = 'running' AND l.token = ?`,
    ).get(runId, chunkIndex, token) as Row | undefined;
    return r !== undefined;
  }

  #dropLease(runId: string, chunkIndex: number): void {
    this.#stmt("DELETE FROM rivet_chunk_lease WHERE run_id = ? AND chunk_index = ?")
      .run(runId, chunkIndex);
  }

  renewChunkLease(
    runId: string,
    chunkIndex: number,
    token: string,
    leaseUntil: string,
    _at: string,
  ): Promise<boolean> {
    return this.#op(`renew the lease of chunk ${chunkIndex} of run ${runId}`, () =>
      this.#tx(() => {
        if (!this.#holds(runId, chunkIndex, token)) return false;
        this.#stmt(
          "UPDATE rivet_chunk_lease SET lease_until = ? WHERE run_id = ? AND chunk_index = ?",
        ).run(leaseUntil, runId, chunkIndex);
        return true;
      }));
  }

  listChunkLeases(runId: string): Promise<ChunkLeaseRow[]> {
    return this.#op(`list the chunk leases of run ${runId}`, () =>
      (this.#stmt(
        `SELECT run_id, chunk_index, worker_id, lease_until, claimed_at FROM rivet_chunk_lease
         WHERE run_id = ? ORDER BY chunk_index`,
      ).all(runId) as Row[]).map(toLease));
  }

  releaseChunkTask(
    runId: string,
    chunkIndex: number,
    token: string,
    at: string,
  ): Promise<boolean> {
    return this.#op(`release chunk ${chunkIndex} of run ${runId}`, () =>
      this.#tx(() => {
        if (!this.#holds(runId, chunkIndex, token)) return false;
        this.#stmt(
          `UPDATE chunk_task SET status = 'pending', attempts = MAX(attempts - 1, 0),
             updated_at = ?
           WHERE run_id = ? AND chunk_index = ?`,
        ).run(at, runId, chunkIndex);
        this.#dropLease(runId, chunkIndex);
        this.#touchRun(runId, at);
        return true;
      }));
  }

  getChunkRun(runId: string): Promise<ChunkRunRow | null> {
    return this.#op(`read chunk run ${runId}`, () => {
      const r = this.#stmt(`SELECT ${RUN_COLUMNS} FROM chunk_run WHERE run_id = ?`)
        .get(runId) as Row | undefined;
      return r === undefined ? null : toRun(r);
    });
  }

  #touchRun(runId: string, at: string): void {
    this.#stmt("UPDATE chunk_run SET updated_at = ? WHERE run_id = ?").run(at, runId);
  }

  completeChunkTask(
    runId: string,
    chunkIndex: number,
    result: { readonly rows_written: number; readonly file_name: string | null },
    at: string,
    token?: string,
  ): Promise<boolean> {
    return this.#op(`complete chunk ${chunkIndex} of run ${runId}`, () =>
      this.#tx(() => {
        if (token !== undefined && !this.#holds(runId, chunkIndex, token)) return false;
        const changed = Number(
          this.#stmt(
            `UPDATE chunk_task SET status = 'completed', rows_written = ?, file_name = ?,
               last_error = NULL, updated_at = ?
             WHERE run_id = ? AND chunk_index = ? AND status = 'running'`,
          ).run(result.rows_written, result.file_name, at, runId, chunkIndex).changes,
        ) > 0;
        if (changed) this.#touchRun(runId, at);
        return changed;
      }));
  }

  failChunkTask(
    runId: string,
    chunkIndex: number,
    error: string,
    at: string,
    token?: string,
  ): Promise<boolean> {
    return this.#op(`mark chunk ${chunkIndex} of run ${runId} failed`, () =>
      this.#tx(() => {
        if (token !== undefined && !this.#holds(runId, chunkIndex, token)) return false;
        const changed = Number(
          this.#stmt(
            `UPDATE chunk_task SET status = 'failed', last_error = ?, updated_at = ?
             WHERE run_id = ? AND chunk_index = ? AND status = 'running'`,
          ).run(error, at, runId, chunkIndex).changes,
        ) > 0;
        if (changed) this.#touchRun(runId, at);
        return changed;
      }));
  }

  resetRunningChunkTasks(runId: string, at: string): Promise<number> {
    return this.#op(`reset running chunks of run ${runId}`, () =>
      this.#tx(() => {
        const n = Number(
          this.#stmt(
            `UPDATE chunk_task SET status = 'pending', updated_at = ?
             WHERE run_id = ? AND status = 'running'`,
          ).run(at, runId).changes,
        );
        this.#stmt(
          `DELETE FROM rivet_chunk_lease WHERE run_id = ? AND chunk_index IN (
             SELECT chunk_index FROM chunk_task WHERE run_id = ? AND status <> 'completed')`,
        ).run(runId, runId);
        if (n > 0) this.#touchRun(runId, at);
        return n;
      }));
  }

  requeueChunkTask(
    runId: string,
    chunkIndex: number,
    reason: string,
    at: string,
  ): Promise<boolean> {
    return this.#op(`requeue chunk ${chunkIndex} of run ${runId}`, () =>
      this.#tx(() => {
        const changed = Number(
          this.#stmt(
            `UPDATE chunk_task SET status = 'pending', attempts = 0, file_name = NULL,
               rows_written = NULL, last_error = ?, updated_at = ?
             WHERE run_id = ? AND chunk_index = ? AND status = 'completed'`,
          ).run(reason, at, runId, chunkIndex).changes,
        ) > 0;
        if (changed) {
          this.#dropLease(runId, chunkIndex);
          this.#touchRun(runId, at);
        }
        return changed;
      }));
  }

  listChunkTasks(runId: string): Promise<ChunkTaskRow[]> {
    return this.#op(`list the chunks of run ${runId}`, () =>
      (this.#stmt(
        `SELECT ${TASK_COLUMNS} FROM chunk_task WHERE run_id = ? ORDER BY chunk_index`,
      ).all(runId) as Row[]).map(toTask));
  }

  finishChunkRun(runId: string, at: string): Promise<FinishChunkRunResult> {
    return this.#op(`finish chunk run ${runId}`, () =>
      this.#tx((): FinishChunkRunResult => {
        const r = this.#stmt(
          "SELECT COUNT(*) AS n FROM chunk_task WHERE run_id = ? AND status <> 'completed'",
        ).get(runId) as Row | undefined;
        const open = num(r?.n);
        if (open > 0) return { completed: false, not_completed: open };
        const flipped = Number(
          this.#stmt(
            `UPDATE chunk_run SET status = 'completed', updated_at = ?
             WHERE run_id = ? AND status <> 'completed'`,
          ).run(at, runId).changes,
        ) > 0;
        return { completed: true, finished_now: flipped };
      }));
  }

  claimChunkRunPublish(
    runId: string,
    lease: ChunkLeaseRequest,
    at: string,
  ): Promise<ClaimChunkPublishResult> {
    return this.#op(
      `claim the publication of chunk run ${runId}`,
      () =>
        this.#tx((): ClaimChunkPublishResult => {
          const run = this.#stmt("SELECT status, created_at FROM chunk_run WHERE run_id = ?")
            .get(runId) as Row | undefined;
          if (run === undefined || str(run.status) !== "completed") {
            return { claimed: false, reason: "not_completed" };
          }
          const p = this.#stmt(
            `SELECT worker_id, lease_until, published_at, run_created_at FROM rivet_chunk_publish
             WHERE run_id = ?`,
          ).get(runId) as Row | undefined;
          if (p !== undefined && str(p.run_created_at) === str(run.created_at)) {
            if (p.published_at !== null) {
              return {
                claimed: false,
                reason: "published",
                worker_id: str(p.worker_id),
                published_at: str(p.published_at),
              };
            }
            if (str(p.lease_until) >= at) {
              return {
                claimed: false,
                reason: "held",
                worker_id: str(p.worker_id),
                lease_until: str(p.lease_until),
              };
            }
          }
          const token = crypto.randomUUID();
          this.#stmt(
            `INSERT INTO rivet_chunk_publish (run_id, run_created_at, worker_id, token,
               lease_until, claimed_at, published_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
             ON CONFLICT(run_id) DO UPDATE SET run_created_at = excluded.run_created_at,
               worker_id = excluded.worker_id, token = excluded.token,
               lease_until = excluded.lease_until, claimed_at = excluded.claimed_at,
               published_at = NULL`,
          ).run(runId, str(run.created_at), lease.worker_id, token, lease.lease_until, at);
          return { claimed: true, token };
        }),
    );
  }

  renewChunkRunPublish(runId: string, token: string, leaseUntil: string): Promise<boolean> {
    return this.#op(
      `renew the publication lease of chunk run ${runId}`,
      () =>
        this.#tx(() =>
          Number(
            this.#stmt(
              `UPDATE rivet_chunk_publish SET lease_until = ?
             WHERE run_id = ? AND token = ? AND published_at IS NULL`,
            ).run(leaseUntil, runId, token).changes,
          ) > 0
        ),
    );
  }

  finishChunkRunPublish(runId: string, token: string, at: string): Promise<boolean> {
    return this.#op(`mark chunk run ${runId} published`, () =>
      this.#tx(() =>
        Number(
          this.#stmt(
            `UPDATE rivet_chunk_publish SET published_at = ?
             WHERE run_id = ? AND token = ? AND published_at IS NULL`,
          ).run(at, runId, token).changes,
        ) > 0
      ));
  }

  releaseChunkRunPublish(runId: string, token: string): Promise<boolean> {
    return this.#op(`release the publication of chunk run ${runId}`, () =>
      this.#tx(() =>
        Number(
          this.#stmt(
            `DELETE FROM rivet_chunk_publish
             WHERE run_id = ? AND token = ? AND published_at IS NULL`,
          ).run(runId, token).changes,
        ) > 0
      ));
  }

  getChunkRunPublish(runId: string): Promise<ChunkPublishRow | null> {
    return this.#op(`read the publication of chunk run ${runId}`, () => {
      const r = this.#stmt(
        `SELECT run_id, worker_id, lease_until, claimed_at, published_at FROM rivet_chunk_publish
         WHERE run_id = ?`,
      ).get(runId) as Row | undefined;
      return r === undefined ? null : {
        run_id: str(r.run_id),
        worker_id: str(r.worker_id),
        lease_until: str(r.lease_until),
        claimed_at: str(r.claimed_at),
        published_at: strOrNull(r.published_at),
      };
    });
  }

  deleteChunkRuns(exportName: string): Promise<{ runs: number; tasks: number }> {
    return this.#op(`delete the chunk runs of export "${exportName}"`, () =>
      this.#tx(() => {
        this.#stmt(
          "DELETE FROM rivet_chunk_publish WHERE run_id IN (SELECT run_id FROM chunk_run WHERE export_name = ?)",
        ).run(exportName);
        this.#stmt(
          "DELETE FROM rivet_chunk_lease WHERE run_id IN (SELECT run_id FROM chunk_run WHERE export_name = ?)",
        ).run(exportName);
        const tasks = Number(
          this.#stmt(
            "DELETE FROM chunk_task WHERE run_id IN (SELECT run_id FROM chunk_run WHERE export_name = ?)",
          ).run(exportName).changes,
        );
        const runs = Number(
          this.#stmt("DELETE FROM chunk_run WHERE export_name = ?").run(exportName).changes,
        );
        return { runs, tasks };
      }));
  }
}

// ── row mapping ─────────────────────────────────────────────────────────────────────────────

function fromBool(v: boolean | null): number | null {
  return v === null ? null : v ? 1 : 0;
}

const CURSOR_BOUNDARY_SQL = `CREATE TABLE IF NOT EXISTS rivet_cursor_boundary (
  export_name TEXT PRIMARY KEY,
  cursor_value TEXT NOT NULL,
  row_hashes TEXT NOT NULL,
  updated_at TEXT NOT NULL
)`;

/**
 * The latest claim of each chunk task: worker, claim token (fencing) and lease expiry. Additive,
 * outside the versioned tables of spec 5.3, so files stay readable by other Rivet versions.
 */
const CHUNK_LEASE_SQL = `CREATE TABLE IF NOT EXISTS rivet_chunk_lease (
  run_id TEXT NOT NULL,
  chunk_index INTEGER NOT NULL,
  worker_id TEXT NOT NULL,
  token TEXT NOT NULL,
  lease_until TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  PRIMARY KEY (run_id, chunk_index)
)`;

/**
 * Who publishes each completed chunk run (a compare-and-set with a lease) and when it was
 * published. Additive like the leases; `run_created_at` tells a reused run id from an older run.
 */
const CHUNK_PUBLISH_SQL = `CREATE TABLE IF NOT EXISTS rivet_chunk_publish (
  run_id TEXT PRIMARY KEY,
  run_created_at TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  token TEXT NOT NULL,
  lease_until TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  published_at TEXT
)`;
