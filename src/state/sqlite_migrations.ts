// Versioned schema of `.rivet_state.db`: migrations 1..8 of spec 5.2, final shape of 5.3 (persistence layer, data only).

/** The schema version this Rivet reads and writes. */
export const SQLITE_SCHEMA_VERSION = 8;

/**
 * `[version, DDL]`, applied in order, each in its own transaction with its `schema_version` row.
 * Table and column names must never change: existing state files written by other Rivet
 * versions at the same schema version must stay readable. Only v8 is not re-runnable (a rename),
 * which is fine because each migration commits together with its version row.
 */
export const SQLITE_MIGRATIONS: readonly (readonly [number, string])[] = [
  [
    1,
    `CREATE TABLE IF NOT EXISTS export_state (
       export_name TEXT PRIMARY KEY,
       last_cursor_value TEXT,
       last_run_at TEXT
     );
     CREATE TABLE IF NOT EXISTS export_metrics (
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       export_name TEXT NOT NULL,
       run_at TEXT NOT NULL,
       duration_ms INTEGER NOT NULL,
       total_rows INTEGER NOT NULL,
       peak_rss_mb INTEGER,
       status TEXT NOT NULL,
       error_message TEXT,
       tuning_profile TEXT,
       format TEXT,
       mode TEXT,
       files_produced INTEGER DEFAULT 0,
       bytes_written INTEGER DEFAULT 0,
       retries INTEGER DEFAULT 0,
       validated INTEGER,
       schema_changed INTEGER,
       run_id TEXT
     );
     CREATE TABLE IF NOT EXISTS export_schema (
       export_name TEXT PRIMARY KEY,
       columns_json TEXT NOT NULL,
       updated_at TEXT NOT NULL
     );
     CREATE TABLE IF NOT EXISTS file_manifest (
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       run_id TEXT NOT NULL,
       export_name TEXT NOT NULL,
       file_name TEXT NOT NULL,
       row_count INTEGER NOT NULL,
       bytes INTEGER NOT NULL,
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
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       run_id TEXT NOT NULL,
       chunk_index INTEGER NOT NULL,
       start_key TEXT NOT NULL,
       end_key TEXT NOT NULL,
       status TEXT NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0,
       last_error TEXT,
       rows_written INTEGER,
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
       last_committed_chunk_index INTEGER,
       last_committed_run_id TEXT,
       last_committed_at TEXT,
       last_verified_strategy TEXT,
       last_verified_cursor TEXT,
       last_verified_chunk_index INTEGER,
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
       duration_ms INTEGER NOT NULL,
       config_path TEXT,
       parallel_mode TEXT NOT NULL,
       total_exports INTEGER NOT NULL,
       success_count INTEGER NOT NULL,
       failed_count INTEGER NOT NULL,
       skipped_count INTEGER NOT NULL,
       total_rows INTEGER NOT NULL,
       total_files INTEGER NOT NULL,
       total_bytes INTEGER NOT NULL,
       details_json TEXT NOT NULL
     );
     CREATE INDEX IF NOT EXISTS idx_run_aggregate_finished ON run_aggregate(finished_at DESC);`,
  ],
  [
    6,
    `CREATE TABLE IF NOT EXISTS export_shape (
       export_name TEXT NOT NULL,
       column_name TEXT NOT NULL,
       max_byte_len INTEGER NOT NULL,
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
    `ALTER TABLE file_manifest RENAME TO file_log;
     DROP INDEX IF EXISTS idx_file_manifest_export;
     CREATE INDEX IF NOT EXISTS idx_file_log_export ON file_log(export_name, id DESC);`,
  ],
];

/** Columns that pre-versioning files may lack in `export_metrics` (added best-effort). */
export const LEGACY_METRIC_COLUMNS: readonly string[] = [
  "files_produced INTEGER DEFAULT 0",
  "bytes_written INTEGER DEFAULT 0",
  "retries INTEGER DEFAULT 0",
  "validated INTEGER",
  "schema_changed INTEGER",
  "run_id TEXT",
];

/** Every table of the final shape; a file holding none of them is not ours. */
export const RIVET_TABLES: readonly string[] = [
  "export_state",
  "export_metrics",
  "export_schema",
  "file_manifest",
  "file_log",
  "chunk_run",
  "chunk_task",
  "export_progression",
  "run_aggregate",
  "export_shape",
  "run_journal",
];
