// The one declarative table of every rivet.yaml key, and its JSON Schema (planning layer, pure).
// The loader validates against CONFIG_SCHEMA; `rivet schema config` prints configJsonSchema().
import type {
  BatchMemoryPolicy,
  Codec,
  CompressionProfile,
  Config,
  CursorMode,
  DestinationConfig,
  DestinationType,
  DriftPolicy,
  Environment,
  ExportConfig,
  ExportMode,
  FormatName,
  MetaColumnsConfig,
  NotificationsConfig,
  NotifyTrigger,
  ParquetConfig,
  PartitionGranularity,
  ProfileName,
  QualityConfig,
  RowGroupStrategy,
  SlackConfig,
  SourceConfig,
  SourceType,
  TargetName,
  TimeColumnType,
  TlsConfig,
  TlsMode,
  TuningConfig,
  VerifyMode,
} from "./config_types.ts";
import { RIVET_VERSION } from "../version.ts";

interface FieldBase {
  readonly doc: string;
  readonly required?: true;
  /** Never echo the value in a message (passwords, URLs that may carry one). */
  readonly secret?: true;
}

/** What one key accepts. */
export type FieldSpec =
  | FieldBase & { readonly kind: "string" }
  | FieldBase & { readonly kind: "int"; readonly min?: number; readonly max?: number }
  | FieldBase & { readonly kind: "number"; readonly min?: number; readonly max?: number }
  | FieldBase & { readonly kind: "bool" }
  | FieldBase & { readonly kind: "enum"; readonly values: readonly string[] }
  | FieldBase & { readonly kind: "object"; readonly fields: SectionSpec }
  | FieldBase & { readonly kind: "list"; readonly item: FieldSpec; readonly minItems?: number }
  | FieldBase & { readonly kind: "map"; readonly value: FieldSpec };

/** The allowed keys of one YAML mapping. */
export type SectionSpec = Readonly<Record<string, FieldSpec>>;

type Opts = { readonly required?: true; readonly secret?: true };

const str = (doc: string, o: Opts = {}): FieldSpec => ({ kind: "string", doc, ...o });
const int = (doc: string, range: { min?: number; max?: number } = {}, o: Opts = {}): FieldSpec => ({
  kind: "int",
  doc,
  ...range,
  ...o,
});
const num = (doc: string, range: { min?: number; max?: number } = {}): FieldSpec => ({
  kind: "number",
  doc,
  ...range,
});
const bool = (doc: string): FieldSpec => ({ kind: "bool", doc });
const oneOf = (doc: string, values: readonly string[], o: Opts = {}): FieldSpec => ({
  kind: "enum",
  doc,
  values,
  ...o,
});
const obj = (doc: string, fields: SectionSpec, o: Opts = {}): FieldSpec => ({
  kind: "object",
  doc,
  fields,
  ...o,
});

/** Checks at compile time that an enum list names every member of a union type. */
function allOf<T extends string>() {
  return <const A extends readonly T[]>(
    values: A & ([T] extends [A[number]] ? unknown : never),
  ): A => values;
}

export const SOURCE_TYPES = allOf<SourceType>()(["postgres", "mysql"]);
export const ENVIRONMENTS = allOf<Environment>()(["local", "replica", "production"]);
export const TLS_MODES = allOf<TlsMode>()(["disable", "require", "verify-ca", "verify-full"]);
export const PROFILE_NAMES = allOf<ProfileName>()(["fast", "balanced", "safe"]);
export const BATCH_MEMORY_POLICIES = allOf<BatchMemoryPolicy>()(["warn", "fail", "auto_shrink"]);
export const EXPORT_MODES = allOf<ExportMode>()(["full", "incremental", "chunked", "time_window"]);
export const FORMAT_NAMES = allOf<FormatName>()(["parquet", "csv"]);
export const CODECS = allOf<Codec>()(["zstd", "snappy", "gzip", "lz4", "none"]);
export const COMPRESSION_PROFILES = allOf<CompressionProfile>()([
  "none",
  "fast",
  "balanced",
  "compact",
]);
export const DESTINATION_TYPES = allOf<DestinationType>()([
  "local",
  "s3",
  "gcs",
  "azure",
  "stdout",
]);
export const DRIFT_POLICIES = allOf<DriftPolicy>()(["warn", "continue", "fail"]);
export const VERIFY_MODES = allOf<VerifyMode>()(["size", "content"]);
export const TARGET_NAMES = allOf<TargetName>()([
  "bigquery",
  "bq",
  "duckdb",
  "duck",
  "snowflake",
  "sf",
]);
export const CURSOR_MODES = allOf<CursorMode>()(["single_column", "coalesce"]);
export const TIME_COLUMN_TYPES = allOf<TimeColumnType>()(["timestamp", "unix"]);
export const PARTITION_GRANULARITIES = allOf<PartitionGranularity>()(["day", "month", "year"]);
export const ROW_GROUP_STRATEGIES = allOf<RowGroupStrategy>()([
  "auto",
  "fixed_rows",
  "fixed_memory",
]);
export const NOTIFY_TRIGGERS = allOf<NotifyTrigger>()(["failure", "schema_change", "degraded"]);

// `satisfies Record<keyof X, FieldSpec>` keeps each section and its TypeScript interface in step:
// a key missing from either side fails `deno check`.

export const TLS_FIELDS = {
  mode: oneOf("libpq sslmode semantics; default verify-full when the block exists", TLS_MODES),
  ca_file: str("PEM CA bundle"),
  accept_invalid_certs: bool("accept any certificate (default false)"),
  accept_invalid_hostnames: bool("skip hostname verification (default false)"),
} as const satisfies Record<keyof TlsConfig, FieldSpec>;

export const TUNING_FIELDS = {
  profile: oneOf("baseline profile", PROFILE_NAMES),
  batch_size: int("rows per fetch (upper bound)", { min: 1 }),
  batch_size_memory_mb: int("derive batch rows from schema width; excludes batch_size", {
    min: 1,
  }),
  throttle_ms: int("sleep between fetches", { min: 0 }),
  statement_timeout_s: int("statement timeout in seconds, 0 = none", { min: 0 }),
  max_retries: int("retries after the first attempt", { min: 0 }),
  retry_backoff_ms: int("base backoff, doubled per attempt", { min: 0 }),
  lock_timeout_s: int("PostgreSQL lock_timeout in seconds, 0 = none", { min: 0 }),
  memory_threshold_mb: int("process RSS guard, 0 = off", { min: 0 }),
  max_batch_memory_mb: int("cap on one Arrow batch in MB", { min: 1 }),
  on_batch_memory_exceeded: oneOf("policy for max_batch_memory_mb", BATCH_MEMORY_POLICIES),
  max_value_mb: int("per-cell ceiling for string/binary cells, 0 = off", { min: 0 }),
  adaptive: bool("adaptive batch size and concurrency governor"),
  min_parallel: int("governor floor for parallel workers", { min: 1 }),
} as const satisfies Record<keyof TuningConfig, FieldSpec>;

export const SOURCE_FIELDS = {
  type: oneOf("database engine", SOURCE_TYPES, { required: true }),
  url: str("inline connection URL (prefer url_env)", { secret: true }),
  url_env: str("name of the environment variable holding the URL"),
  url_file: str("path of a file holding the URL"),
  host: str("structured form: server host"),
  port: int("structured form: port (default 5432 PostgreSQL, 3306 MySQL)", { min: 1, max: 65535 }),
  user: str("structured form: login user"),
  password: str("structured form: plaintext password (prefer password_env)", { secret: true }),
  password_env: str("structured form: environment variable holding the password"),
  database: str("structured form: database name"),
  environment: oneOf("picks the default tuning profile", ENVIRONMENTS),
  tuning: obj("global tuning", TUNING_FIELDS),
  tls: obj("TLS settings", TLS_FIELDS),
} as const satisfies Record<keyof SourceConfig, FieldSpec>;

export const DESTINATION_FIELDS = {
  type: oneOf("where files go", DESTINATION_TYPES, { required: true }),
  path: str("local: base directory"),
  prefix: str("s3/gcs/azure: object key prefix"),
  bucket: str("s3/gcs/azure: bucket (Azure: container)"),
  region: str("s3: region"),
  endpoint: str("s3/gcs/azure: custom endpoint"),
  access_key_env: str("s3: environment variable with the access key id"),
  secret_key_env: str("s3: environment variable with the secret access key"),
  session_token_env: str("s3: environment variable with the STS session token"),
  aws_profile: str("s3: named AWS profile"),
  credentials_file: str("gcs: service-account JSON file"),
  allow_anonymous: bool("gcs/azure: no credentials"),
  account_name: str("azure: storage account name"),
  account_key_env: str("azure: environment variable with the account key"),
  sas_token_env: str("azure: environment variable with the SAS token"),
} as const satisfies Record<keyof DestinationConfig, FieldSpec>;

export const META_COLUMNS_FIELDS = {
  exported_at: bool("append _rivet_exported_at"),
  row_hash: bool("append _rivet_row_hash"),
} as const satisfies Record<keyof MetaColumnsConfig, FieldSpec>;

export const QUALITY_FIELDS = {
  row_count_min: int("fail when total rows are below", { min: 0 }),
  row_count_max: int("fail when total rows are above", { min: 0 }),
  null_ratio_max: {
    kind: "map",
    doc: "column -> highest allowed null ratio",
    value: num("null ratio 0..1", { min: 0, max: 1 }),
  },
  unique_columns: { kind: "list", doc: "columns that must be unique", item: str("column name") },
  unique_max_entries: int("per-column cap on tracked values", { min: 1 }),
} as const satisfies Record<keyof QualityConfig, FieldSpec>;

export const PARQUET_FIELDS = {
  row_group_strategy: oneOf("how row groups are sized", ROW_GROUP_STRATEGIES),
  row_group_rows: int("rows per row group (fixed_rows)", { min: 1 }),
  target_row_group_mb: int("target row group size in MB (auto/fixed_memory)", { min: 1 }),
  max_row_group_mb: int("cap on the row group size in MB", { min: 1 }),
} as const satisfies Record<keyof ParquetConfig, FieldSpec>;

export const EXPORT_FIELDS = {
  name: str("unique export name", { required: true }),
  query: str("SQL SELECT (exactly one of query/query_file/table)"),
  query_file: str("SQL file relative to the config directory"),
  table: str("`name` or `schema.name`: shortcut for SELECT * FROM it"),
  mode: oneOf("extraction mode (default full)", EXPORT_MODES),
  format: oneOf("output format", FORMAT_NAMES, { required: true }),
  compression: oneOf("Parquet page codec (default zstd)", CODECS),
  compression_level: int("codec level: zstd 1..22 (default 1), gzip 0..10 (default 6)"),
  compression_profile: oneOf("overrides codec and level", COMPRESSION_PROFILES),
  destination: obj("where files go", DESTINATION_FIELDS, { required: true }),
  skip_empty: bool("mark a 0-row result as skipped"),
  max_file_size: str("split threshold, e.g. 512MB (B/KB/MB/GB, 1024-based)"),
  meta_columns: obj("lineage columns", META_COLUMNS_FIELDS),
  quality: obj("quality gates", QUALITY_FIELDS),
  tuning: obj("per-export tuning", TUNING_FIELDS),
  parquet: obj("Parquet row group options", PARQUET_FIELDS),
  columns: {
    kind: "map",
    doc: "column -> type override, e.g. decimal(14,2)",
    value: str("type string"),
  },
  on_schema_drift: oneOf("reaction to schema drift (default warn)", DRIFT_POLICIES),
  shape_drift_warn_factor: num("warn when max value length grows by this factor, 0 = off", {
    min: 0,
  }),
  verify: oneOf("verification depth (default size)", VERIFY_MODES),
  target: oneOf("default --target for check --type-report", TARGET_NAMES),
  source_group: str("advisory grouping for plan campaigns"),
  reconcile_required: bool("advisory input to plan prioritization"),
  cursor_column: str("incremental: cursor column"),
  cursor_fallback_column: str("incremental coalesce: fallback cursor column"),
  incremental_cursor_mode: oneOf("incremental cursor mode", CURSOR_MODES),
  chunk_column: str("chunked: integer or date column"),
  chunk_size: int("chunked: key-range width (rows per page for keyset)", { min: 0 }),
  chunk_count: int("chunked: exact number of ranges", { min: 0 }),
  chunk_dense: bool("chunked: ROW_NUMBER windows"),
  chunk_by_days: int("chunked: date windows of N days", { min: 0 }),
  chunk_by_key: str("chunked: keyset pagination key (needs table)"),
  chunk_size_memory_mb: int("chunked: derive chunk_size from table stats (needs table)", {
    min: 1,
  }),
  parallel: int("chunked: concurrent workers", { min: 0 }),
  chunk_checkpoint: bool("chunked: persist chunk tasks (enables --resume)"),
  chunk_max_attempts: int("chunked: per-chunk attempts (default max_retries + 1)", { min: 1 }),
  time_column: str("time_window: time column"),
  time_column_type: oneOf("time_window: column type", TIME_COLUMN_TYPES),
  days_window: int("time_window: window in days", { min: 0 }),
  partition_by: str("Hive partition column (date/timestamp)"),
  partition_granularity: oneOf("partition granularity (default day)", PARTITION_GRANULARITIES),
} as const satisfies Record<keyof ExportConfig, FieldSpec>;

export const SLACK_FIELDS = {
  webhook_url: str("Slack webhook URL", { secret: true }),
  webhook_url_env: str("environment variable holding the webhook URL"),
  on: {
    kind: "list",
    doc: "triggers (default none)",
    item: oneOf("trigger", NOTIFY_TRIGGERS),
  },
} as const satisfies Record<keyof SlackConfig, FieldSpec>;

export const NOTIFICATIONS_FIELDS = {
  slack: obj("Slack webhook notifications", SLACK_FIELDS),
} as const satisfies Record<keyof NotificationsConfig, FieldSpec>;

export const ROOT_FIELDS = {
  source: obj("the database to read", SOURCE_FIELDS, { required: true }),
  exports: {
    kind: "list",
    doc: "named exports (at least one)",
    item: obj("one export", EXPORT_FIELDS),
    minItems: 1,
    required: true,
  },
  notifications: obj("notifications", NOTIFICATIONS_FIELDS),
  parallel_exports: bool("run exports concurrently in-process"),
  parallel_export_processes: bool("run each export in its own process"),
} as const satisfies Record<keyof Config, FieldSpec>;

/** The whole config file as one object spec. */
export const CONFIG_SCHEMA: FieldSpec = obj("Rivet config", ROOT_FIELDS);

/** Draft 2020-12 JSON Schema of rivet.yaml, generated from CONFIG_SCHEMA. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: `Rivet config (rivet-cli ${RIVET_VERSION})`,
    ...toJsonSchema(CONFIG_SCHEMA),
  };
}

function toJsonSchema(spec: FieldSpec): Record<string, unknown> {
  const description = { description: spec.doc };
  switch (spec.kind) {
    case "string":
      return { type: "string", ...description };
    case "int":
      return { type: "integer", ...range(spec.min, spec.max), ...description };
    case "number":
      return { type: "number", ...range(spec.min, spec.max), ...description };
    case "bool":
      return { type: "boolean", ...description };
    case "enum":
      return { type: "string", enum: [...spec.values], ...description };
    case "list":
      return {
        type: "array",
        items: toJsonSchema(spec.item),
        ...(spec.minItems === undefined ? {} : { minItems: spec.minItems }),
        ...description,
      };
    case "map":
      return { type: "object", additionalProperties: toJsonSchema(spec.value), ...description };
    case "object": {
      const properties: Record<string, unknown> = {};
      const required: string[] = [];
      for (const [key, field] of Object.entries(spec.fields)) {
        properties[key] = toJsonSchema(field);
        if (field.required) required.push(key);
      }
      return {
        type: "object",
        properties,
        ...(required.length > 0 ? { required } : {}),
        additionalProperties: false,
        ...description,
      };
    }
  }
}

function range(min: number | undefined, max: number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (min !== undefined) out.minimum = min;
  if (max !== undefined) out.maximum = max;
  return out;
}
