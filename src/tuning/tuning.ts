// Effective tuning of one export from source/export tuning blocks and profiles, spec 3.4 and 7.5 (planning layer, pure).
import type {
  BatchMemoryPolicy,
  Environment,
  ProfileName,
  TuningConfig,
} from "../config/config_types.ts";

/** The numbers of one profile (spec 7.5). */
export interface TuningProfile {
  readonly batchSize: number;
  readonly throttleMs: number;
  readonly statementTimeoutS: number;
  readonly maxRetries: number;
  readonly retryBackoffMs: number;
  readonly lockTimeoutS: number;
  readonly memoryThresholdMb: number;
  readonly maxValueMb: number;
  readonly maxBatchMemoryMb: number | null;
  readonly onBatchMemoryExceeded: BatchMemoryPolicy;
  readonly adaptive: boolean;
}

/** Spec 7.5, verbatim. */
export const TUNING_PROFILES: Readonly<Record<ProfileName, TuningProfile>> = Object.freeze({
  fast: Object.freeze({
    batchSize: 50_000,
    throttleMs: 0,
    statementTimeoutS: 0,
    maxRetries: 1,
    retryBackoffMs: 1_000,
    lockTimeoutS: 0,
    memoryThresholdMb: 0,
    maxValueMb: 256,
    maxBatchMemoryMb: null,
    onBatchMemoryExceeded: "warn",
    adaptive: false,
  }),
  balanced: Object.freeze({
    batchSize: 10_000,
    throttleMs: 50,
    statementTimeoutS: 300,
    maxRetries: 3,
    retryBackoffMs: 2_000,
    lockTimeoutS: 30,
    memoryThresholdMb: 4_096,
    maxValueMb: 256,
    maxBatchMemoryMb: null,
    onBatchMemoryExceeded: "warn",
    adaptive: false,
  }),
  safe: Object.freeze({
    batchSize: 2_000,
    throttleMs: 500,
    statementTimeoutS: 120,
    maxRetries: 5,
    retryBackoffMs: 5_000,
    lockTimeoutS: 10,
    memoryThresholdMb: 2_048,
    maxValueMb: 256,
    maxBatchMemoryMb: null,
    onBatchMemoryExceeded: "warn",
    adaptive: false,
  }),
});

/** The effective tuning of one export: every field filled. */
export interface ResolvedTuning extends TuningProfile {
  /** The baseline profile that was used. */
  readonly profile: ProfileName;
  /** `tuning_profile` in summaries: `safe`, `balanced (default)`, `fast (default for environment: local)`. */
  readonly label: string;
  /** Set when batch rows are derived from the schema width (then batchSize is the profile's). */
  readonly batchSizeMemoryMb: number | null;
  /** Governor floor; null = not set (the governor then uses 1). */
  readonly minParallel: number | null;
}

/**
 * Merges per field (export value if set, else source value), picks the baseline profile
 * (explicit `profile`, else the environment's default: local -> fast, replica/production ->
 * balanced, else balanced) and lets every explicitly set field override the baseline.
 */
export function resolveTuning(
  source?: TuningConfig,
  exportTuning?: TuningConfig,
  environment?: Environment,
): ResolvedTuning {
  const merged: TuningConfig = { ...definedOnly(source), ...definedOnly(exportTuning) };
  let profile: ProfileName;
  let label: string;
  if (merged.profile !== undefined) {
    profile = merged.profile;
    label = profile;
  } else if (environment !== undefined) {
    profile = environment === "local" ? "fast" : "balanced";
    label = `${profile} (default for environment: ${environment})`;
  } else {
    profile = "balanced";
    label = "balanced (default)";
  }
  const base = TUNING_PROFILES[profile];
  return Object.freeze({
    profile,
    label,
    batchSize: merged.batch_size ?? base.batchSize,
    throttleMs: merged.throttle_ms ?? base.throttleMs,
    statementTimeoutS: merged.statement_timeout_s ?? base.statementTimeoutS,
    maxRetries: merged.max_retries ?? base.maxRetries,
    retryBackoffMs: merged.retry_backoff_ms ?? base.retryBackoffMs,
    lockTimeoutS: merged.lock_timeout_s ?? base.lockTimeoutS,
    memoryThresholdMb: merged.memory_threshold_mb ?? base.memoryThresholdMb,
    maxValueMb: merged.max_value_mb ?? base.maxValueMb,
    maxBatchMemoryMb: merged.max_batch_memory_mb ?? base.maxBatchMemoryMb,
    onBatchMemoryExceeded: merged.on_batch_memory_exceeded ?? base.onBatchMemoryExceeded,
    adaptive: merged.adaptive ?? base.adaptive,
    batchSizeMemoryMb: merged.batch_size_memory_mb ?? null,
    minParallel: merged.min_parallel ?? null,
  });
}

/** The per-field merge of two tuning blocks (export wins), without profile defaults. */
export function mergeTuning(source?: TuningConfig, exportTuning?: TuningConfig): TuningConfig {
  return Object.freeze({ ...definedOnly(source), ...definedOnly(exportTuning) });
}

/** `chunk_max_attempts` when not configured: max_retries + 1, at least 1 (spec 4.1, 7.5). */
export function defaultChunkMaxAttempts(tuning: ResolvedTuning): number {
  return Math.max(1, tuning.maxRetries + 1);
}

/**
 * Batch rows for `batch_size_memory_mb` (spec 7.5): mb * 2^20 / estimated row bytes,
 * clamped to [1 000, 500 000].
 */
export function batchRowsForMemory(memoryMb: number, estimatedRowBytes: number): number {
  const rows = Math.floor((memoryMb * 1024 * 1024) / Math.max(1, estimatedRowBytes));
  return Math.min(500_000, Math.max(1_000, rows));
}

function definedOnly(t: TuningConfig | undefined): TuningConfig {
  if (t === undefined) return {};
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as TuningConfig;
}
