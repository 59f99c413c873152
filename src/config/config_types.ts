// The user's rivet.yaml as typed data, key for key (planning layer, pure types).
// Keys and spellings follow spec section 3 so that an existing rivet.yaml loads unchanged.

export type SourceType = "postgres" | "mysql";
export type Environment = "local" | "replica" | "production";
export type TlsMode = "disable" | "require" | "verify-ca" | "verify-full";
export type ProfileName = "fast" | "balanced" | "safe";
export type BatchMemoryPolicy = "warn" | "fail" | "auto_shrink";
export type ExportMode = "full" | "incremental" | "chunked" | "time_window";
export type FormatName = "parquet" | "csv";
export type Codec = "zstd" | "snappy" | "gzip" | "lz4" | "none";
export type CompressionProfile = "none" | "fast" | "balanced" | "compact";
export type DestinationType = "local" | "s3" | "gcs" | "azure" | "stdout";
export type DriftPolicy = "warn" | "continue" | "fail";
export type VerifyMode = "size" | "content";
export type TargetName = "bigquery" | "bq" | "duckdb" | "duck" | "snowflake" | "sf";
export type CursorMode = "single_column" | "coalesce";
export type TimeColumnType = "timestamp" | "unix";
export type PartitionGranularity = "day" | "month" | "year";
export type RowGroupStrategy = "auto" | "fixed_rows" | "fixed_memory";
export type NotifyTrigger = "failure" | "schema_change" | "degraded";

export interface TlsConfig {
  readonly mode?: TlsMode;
  readonly ca_file?: string;
  readonly accept_invalid_certs?: boolean;
  readonly accept_invalid_hostnames?: boolean;
}

export interface TuningConfig {
  readonly profile?: ProfileName;
  readonly batch_size?: number;
  readonly batch_size_memory_mb?: number;
  readonly throttle_ms?: number;
  readonly statement_timeout_s?: number;
  readonly max_retries?: number;
  readonly retry_backoff_ms?: number;
  readonly lock_timeout_s?: number;
  readonly memory_threshold_mb?: number;
  readonly max_batch_memory_mb?: number;
  readonly on_batch_memory_exceeded?: BatchMemoryPolicy;
  readonly max_value_mb?: number;
  readonly adaptive?: boolean;
  readonly min_parallel?: number;
}

export interface SourceConfig {
  readonly type: SourceType;
  readonly url?: string;
  readonly url_env?: string;
  readonly url_file?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly password_env?: string;
  readonly database?: string;
  readonly environment?: Environment;
  readonly tuning?: TuningConfig;
  readonly tls?: TlsConfig;
}

export interface DestinationConfig {
  readonly type: DestinationType;
  readonly path?: string;
  readonly prefix?: string;
  readonly bucket?: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly access_key_env?: string;
  readonly secret_key_env?: string;
  readonly session_token_env?: string;
  readonly aws_profile?: string;
  readonly credentials_file?: string;
  readonly allow_anonymous?: boolean;
  readonly account_name?: string;
  readonly account_key_env?: string;
  readonly sas_token_env?: string;
}

export interface MetaColumnsConfig {
  readonly exported_at?: boolean;
  readonly row_hash?: boolean;
}

export interface QualityConfig {
  readonly row_count_min?: number;
  readonly row_count_max?: number;
  readonly null_ratio_max?: Readonly<Record<string, number>>;
  readonly unique_columns?: readonly string[];
  readonly unique_max_entries?: number;
}

export interface ParquetConfig {
  readonly row_group_strategy?: RowGroupStrategy;
  readonly row_group_rows?: number;
  readonly target_row_group_mb?: number;
  readonly max_row_group_mb?: number;
}

export interface ExportConfig {
  readonly name: string;
  readonly query?: string;
  readonly query_file?: string;
  readonly table?: string;
  readonly mode?: ExportMode;
  readonly format: FormatName;
  readonly compression?: Codec;
  readonly compression_level?: number;
  readonly compression_profile?: CompressionProfile;
  readonly destination: DestinationConfig;
  readonly skip_empty?: boolean;
  readonly max_file_size?: string;
  readonly meta_columns?: MetaColumnsConfig;
  readonly quality?: QualityConfig;
  readonly tuning?: TuningConfig;
  readonly parquet?: ParquetConfig;
  readonly columns?: Readonly<Record<string, string>>;
  readonly on_schema_drift?: DriftPolicy;
  readonly shape_drift_warn_factor?: number;
  readonly verify?: VerifyMode;
  readonly target?: TargetName;
  readonly source_group?: string;
  readonly reconcile_required?: boolean;
  // incremental
  readonly cursor_column?: string;
  readonly cursor_fallback_column?: string;
  readonly incremental_cursor_mode?: CursorMode;
  // chunked
  readonly chunk_column?: string;
  readonly chunk_size?: number;
  readonly chunk_count?: number;
  readonly chunk_dense?: boolean;
  readonly chunk_by_days?: number;
  readonly chunk_by_key?: string;
  readonly chunk_size_memory_mb?: number;
  readonly parallel?: number;
  readonly chunk_checkpoint?: boolean;
  readonly chunk_max_attempts?: number;
  // time window
  readonly time_column?: string;
  readonly time_column_type?: TimeColumnType;
  readonly days_window?: number;
  // partitioning
  readonly partition_by?: string;
  readonly partition_granularity?: PartitionGranularity;
}

export interface SlackConfig {
  readonly webhook_url?: string;
  readonly webhook_url_env?: string;
  readonly on?: readonly NotifyTrigger[];
}

export interface NotificationsConfig {
  readonly slack?: SlackConfig;
}

export interface Config {
  readonly source: SourceConfig;
  readonly exports: readonly ExportConfig[];
  readonly notifications?: NotificationsConfig;
  readonly parallel_exports?: boolean;
  readonly parallel_export_processes?: boolean;
}

/** A non-fatal finding from loading or planning, shown to the user as a warning. */
export interface Diagnostic {
  readonly level: "warning" | "info";
  readonly message: string;
}

/** What loading a config file yields: the typed config plus warnings to show. */
export interface LoadedConfig {
  readonly config: Config;
  /** Absolute or as-given path of the config file (for messages and relative paths). */
  readonly path: string;
  /** Directory holding the config; relative paths (query_file, state) resolve against it. */
  readonly dir: string;
  readonly warnings: readonly Diagnostic[];
  /** Contents of every query_file, already substituted, keyed by export name. */
  readonly queryFiles: Readonly<Record<string, string>>;
}
