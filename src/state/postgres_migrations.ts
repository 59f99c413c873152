// Versioned schema of the PostgreSQL state backend: migrations 1..8 of spec 5.2 in PG types, final shape of 5.3 (persistence layer, data only).

/** The schema version this Rivet reads and writes (the same numbering as SQLite). */
export const POSTGRES_SCHEMA_VERSION = 8;

/** `rivet_schema_version(version BIGINT NOT NULL)`; current version = MAX(version), 0 when empty. */
export const POSTGRES_VERSION_TABLE_SQL =
  "CREATE TABLE IF NOT EXISTS rivet_schema_version (version BIGINT NOT NULL)";

/**
 * `[version, DDL]`, applied in order, each in its own transaction together with its
 * `rivet_schema_version` row, under a transaction-scoped advisory lock (see PostgresStateStore).
 * Same tables and columns as `SQLITE_MIGRATIONS`; INTEGER AUTOINCREMENT becomes BIGSERIAL, 0/1
 * integers become BOOLEAN, counters BIGINT, timestamps stay RFC 3339 TEXT. Names must never
 * change: state written by other Rivet versions at the same schema version must stay readable.
 */
export const POSTGRES_MIGRATIONS: readonly (readonly [number, string])[] = [
  [
    1,
    `CREATE TABLE IF NOT EXISTS export_state (
       export_name TEXT PRIMARY KEY,
       last_cursor_value TEXT,
       last_run_at TEXT
     );
     CREATE TABLE IF NOT EXISTS export_metrics (
       id BIGSERIAL PRIMARY KEY,
       export_name TEXT NOT NULL,
       run_at TEXT NOT NULL,
       duration_ms BIGINT NOT NULL,
       total_rows BIGINT NOT NULL,
       peak_rss_mb BIGINT,
       status TEXT NOT NULL,
       error_message TEXT,
       tuning_profile TEXT,
       format TEXT,
       mode TEXT,
       files_produced BIGINT DEFAULT 0,
       bytes_written BIGINT DEFAULT 0,
       retries BIGINT DEFAULT 0,
       validated BOOLEAN,
       schema_changed BOOLEAN,
       run_id TEXT
     );
     CREATE TABLE IF NOT EXISTS export_schema (
       export_name TEXT PRIMARY KEY,
       columns_json TEXT NOT NULL,
       updated_at TEXT NOT NULL
     );
     CREATE TABLE IF NOT EXISTS file_manifest (
       id BIGSERIAL PRIMARY KEY,
       run_id TEXT NOT NULL,
       export_name TEXT NOT NULL,
       file_name TEXT NOT NULL,
       row_count BIGINT NOT NULL,
       bytes BIGINT NOT NULL,
       format TEXT NOT NULL,
       compression TEXT,
       created_at TEXT NOT NULL
     );`,
  ],
  [
    2,
    `CREATE TABLE IF NOT EXISTS chunk_run (
       run_id TEXT PRIMARY KEY,
       export_name TEXT NOT NULL,
       plan_hash TEXT NOT NULL,
       status TEXT NOT NULL,
       max_chunk_attempts INTEGER NOT NULL DEFAULT 3,
       created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL
     );
     CREATE INDEX IF NOT EXISTS idx_chunk_run_export_status ON chunk_run(export_name, status);
     CREATE TABLE IF NOT EXISTS chunk_task (
       id BIGSERIAL PRIMARY KEY,
       run_id TEXT NOT NULL,
       chunk_index BIGINT NOT NULL,
       start_key TEXT NOT NULL,
       end_key TEXT NOT NULL,
       status TEXT NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0,
       last_error TEXT,
       rows_written BIGINT,
       file_name TEXT,
       updated_at TEXT NOT NULL,
       UNIQUE(run_id, chunk_index)
     );
     CREATE INDEX IF NOT EXISTS idx_chunk_task_run_status ON chunk_task(run_id, status);`,
  ],
  [
    3,
    `CREATE INDEX IF NOT EXISTS idx_file_manifest_export ON file_manifest(export_name, id DESC);`,
  ],
  [
    4,
    `CREATE TABLE IF NOT EXISTS export_progression (
       export_name TEXT PRIMARY KEY,
       last_committed_strategy TEXT,
       last_committed_cursor TEXT,
       last_committed_chunk_index BIGINT,
       last_committed_run_id TEXT,
       last_committed_at TEXT,
       last_verified_strategy TEXT,
       last_verified_cursor TEXT,
       last_verified_chunk_index BIGINT,
       last_verified_run_id TEXT,
       last_verified_at TEXT
     );`,
  ],
  [
    5,
    `CREATE TABLE IF NOT EXISTS run_aggregate (
       run_aggregate_id TEXT PRIMARY KEY,
       started_at TEXT NOT NULL,
       finished_at TEXT NOT NULL,
       duration_ms BIGINT NOT NULL,
       config_path TEXT,
       parallel_mode TEXT NOT NULL,
       total_exports BIGINT NOT NULL,
       success_count BIGINT NOT NULL,
       failed_count BIGINT NOT NULL,
       skipped_count BIGINT NOT NULL,
       total_rows BIGINT NOT NULL,
       total_files BIGINT NOT NULL,
       total_bytes BIGINT NOT NULL,
       details_json TEXT NOT NULL
     );
     CREATE INDEX IF NOT EXISTS idx_run_aggregate_finished ON run_aggregate(finished_at DESC);`,
  ],
  [
    6,
    `CREATE TABLE IF NOT EXISTS export_shape (
       export_name TEXT NOT NULL,
       column_name TEXT NOT NULL,
       max_byte_len BIGINT NOT NULL,
       updated_at TEXT NOT NULL,
       PRIMARY KEY (export_name, column_name)
     );`,
  ],
  [
    7,
    `CREATE TABLE IF NOT EXISTS run_journal (
       run_id TEXT PRIMARY KEY,
       export_name TEXT NOT NULL,
       finished_at TEXT NOT NULL,
       journal_json TEXT NOT NULL
     );
     CREATE INDEX IF NOT EXISTS idx_run_journal_export ON run_journal(export_name, finished_at DESC);`,
  ],
  [
    8,
    // Guarded so a half-upgraded schema (file_log already there) does not fail the rename.
    `DO $$ BEGIN
       IF to_regclass('file_manifest') IS NOT NULL AND to_regclass('file_log') IS NULL THEN
         ALTER TABLE file_manifest RENAME TO file_log;
       END IF;
     END $$;
     DROP INDEX IF EXISTS idx_file_manifest_export;
     CREATE INDEX IF NOT EXISTS idx_file_log_export ON file_log(export_name, id DESC);`,
  ],
];

/**
 * Additive table of this implementation, outside the versioned set shared with rivet-cli: the row
 * hashes exported at an incremental cursor's exact value (boundary ties). Created after the
 * migrations, idempotently, like in the SQLite backend.
 */
export const POSTGRES_CURSOR_BOUNDARY_SQL = `CREATE TABLE IF NOT EXISTS rivet_cursor_boundary (
  export_name TEXT PRIMARY KEY,
  cursor_value TEXT NOT NULL,
  row_hashes TEXT NOT NULL,
  updated_at TEXT NOT NULL
)`;

/**
 * Additive as well: the latest claim of each chunk task (worker, fencing token, lease expiry),
 * for many workers sharing one chunk run. Created after the migrations, idempotently.
 */
export const POSTGRES_CHUNK_LEASE_SQL = `CREATE TABLE IF NOT EXISTS rivet_chunk_lease (
  run_id TEXT NOT NULL,
  chunk_index BIGINT NOT NULL,
  worker_id TEXT NOT NULL,
  token TEXT NOT NULL,
  lease_until TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  PRIMARY KEY (run_id, chunk_index)
)`;

/**
 * Additive as well: who publishes each completed chunk run's manifest and _SUCCESS (a
 * compare-and-set with a lease, for run groups), and when it was published. `run_created_at`
 * tells a reused run id from an older run. Created after the migrations, idempotently.
 */
export const POSTGRES_CHUNK_PUBLISH_SQL = `CREATE TABLE IF NOT EXISTS rivet_chunk_publish (
  run_id TEXT PRIMARY KEY,
  run_created_at TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  token TEXT NOT NULL,
  lease_until TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  published_at TEXT
)`;

/** Every table of the final shape (v8) plus the additive boundary, lease and publish tables. */
export const POSTGRES_TABLES: readonly string[] = [
  "rivet_schema_version",
  "export_state",
  "export_metrics",
  "export_schema",
  "file_log",
  "chunk_run",
  "chunk_task",
  "export_progression",
  "run_aggregate",
  "export_shape",
  "run_journal",
  "rivet_cursor_boundary",
  "rivet_chunk_lease",
  "rivet_chunk_publish",
];
