// Turns a loaded config, CLI options and the current time into a frozen run plan (planning layer, pure).
import type { Codec, ExportConfig, LoadedConfig } from "../config/config_types.ts";
import * as path from "node:path";
import { ConfigError } from "../errors.ts";
import { parseByteSize, parseColumnOverride } from "../config/column_types.ts";
import { resolveTuning } from "../tuning/tuning.ts";
import type { RivetType } from "../source/rivet_types.ts";
import type { SourceConnection } from "../source/source.ts";
import { expandPathTemplate, makeRunId } from "./naming.ts";
import { COALESCED_CURSOR, incrementalQuery, timeWindowQuery } from "./sql_shapes.ts";
import type {
  CursorSnapshot,
  DestinationPlan,
  ExportPlan,
  FormatPlan,
  RejectedExport,
  RunOptions,
  RunPlan,
  Strategy,
} from "./plan_types.ts";

/** What planning needs from the state store, read by the coordinator beforehand. */
export interface StateSnapshot {
  readonly cursors: Readonly<Record<string, CursorSnapshot | undefined>>;
  readonly sourceTuning?: import("../config/config_types.ts").TuningConfig | undefined;
  readonly environment?: import("../config/config_types.ts").Environment | undefined;
}

/** Mode labels used everywhere (spec 4.1). */
export function modeLabel(e: ExportConfig): string {
  switch (e.mode ?? "full") {
    case "time_window":
      return "timewindow";
    case "chunked":
      return e.chunk_by_key ? "keyset" : "chunked";
    default:
      return e.mode ?? "full";
  }
}

/** The base query of an export: `table:` wins, then `query:`, then the query file's text. */
export function baseQueryOf(e: ExportConfig, queryFiles: Readonly<Record<string, string>>): string {
  if (e.table) return `SELECT * FROM ${e.table}`;
  if (e.query !== undefined) return e.query.trim().replace(/;\s*$/, "");
  return (queryFiles[e.name] ?? "").trim().replace(/;\s*$/, "");
}

/** Codec and level after `compression_profile` (which overrides both). */
export function resolveCompression(e: ExportConfig): { codec: Codec; level: number | null } {
  switch (e.compression_profile) {
    case "none":
      return { codec: "none", level: null };
    case "fast":
      return { codec: "snappy", level: null };
    case "balanced":
      return { codec: "zstd", level: 3 };
    case "compact":
      return { codec: "zstd", level: 9 };
    default:
      return { codec: e.compression ?? "zstd", level: e.compression_level ?? null };
  }
}

/** The smallest and largest chunk size `chunk_size_memory_mb` derives (spec 4.1 step 6). */
export const MEMORY_CHUNK_SIZE_MIN = 10_000;
export const MEMORY_CHUNK_SIZE_MAX = 5_000_000;
/** Bytes per row assumed when the table's statistics give no average row size. */
export const UNKNOWN_ROW_BYTES = 512;

/**
 * The chunk size of `chunk_size_memory_mb` (spec 4.1 step 6): `mb·2^20 / avg_row_bytes`, clamped
 * to [10 000, 5 000 000]; `assumed` when the average row size was unknown (512 bytes used).
 */
export function memoryChunkSize(
  memoryMb: number,
  avgRowBytes: number | null,
): { readonly chunkSize: number; readonly rowBytes: number; readonly assumed: boolean } {
  const known = avgRowBytes !== null && Number.isFinite(avgRowBytes) && avgRowBytes > 0;
  const rowBytes = known ? avgRowBytes : UNKNOWN_ROW_BYTES;
  const raw = Math.floor((memoryMb * 2 ** 20) / rowBytes);
  return {
    chunkSize: Math.min(MEMORY_CHUNK_SIZE_MAX, Math.max(MEMORY_CHUNK_SIZE_MIN, raw)),
    rowBytes,
    assumed: !known,
  };
}

/**
 * MySQL's AVG_ROW_LENGTH, corrected as spec 4.1 step 5 says: above 8 KiB it counts off-page
 * (BLOB/TEXT) storage generously, so it is divided by 3, but never below 4 KiB.
 */
export function mysqlAvgRowBytes(avgRowLength: number): number {
  return avgRowLength > 8192 ? Math.max(4096, Math.floor(avgRowLength / 3)) : avgRowLength;
}

const RUN_GROUP = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * The chunk run id shared by the workers of one run group: `<export>_rg_<group>`. The group
 * (`--run-group`, `RIVET_RUN_GROUP`) must be 1–100 letters, digits, `.`, `_` or `-`, so that the
 * id is safe in paths and object keys (`_quarantine/<run_id>/`, `.rivet/runs/<run_id>/`).
 */
export function groupRunId(exportName: string, group: string): string {
  if (!RUN_GROUP.test(group)) {
    throw new ConfigError(
      `run group '${group}' is not usable: use 1 to 100 letters, digits, '.', '_' or '-' ` +
        "(for example the Kubernetes Job uid or the CI run id) in --run-group / RIVET_RUN_GROUP",
    );
  }
  return `${exportName}_rg_${group}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Modes this build can execute; the others are refused with a clear message per export. */
const SUPPORTED_MODES = new Set(["full", "incremental", "time_window", "chunked"]);

function strategyFor(
  e: ExportConfig,
  dialect: "postgres" | "mysql",
  base: string,
  state: StateSnapshot,
  now: Date,
): { strategy: Strategy; query: string } {
  switch (e.mode ?? "full") {
    case "incremental": {
      const mode = e.incremental_cursor_mode ?? "single_column";
      const fallback = e.cursor_fallback_column ?? null;
      const stored = state.cursors[e.name] ?? null;
      const { sql, trackedColumn } = incrementalQuery(
        dialect,
        base,
        { cursorColumn: e.cursor_column!, fallbackColumn: fallback, mode },
        stored?.value ?? null,
      );
      return {
        query: sql,
        strategy: {
          kind: "incremental",
          cursorColumn: e.cursor_column!,
          fallbackColumn: fallback,
          trackedColumn,
          helperColumns: trackedColumn === COALESCED_CURSOR ? [COALESCED_CURSOR] : [],
          stored,
        },
      };
    }
    case "chunked": {
      if (e.chunk_by_key !== undefined) {
        const conflicts = (["chunk_column", "chunk_dense", "chunk_by_days", "chunk_count"] as const)
          .filter((k) => e[k] !== undefined && e[k] !== false);
        if (conflicts.length > 0) {
          throw new ConfigError(
            `chunk_by_key (keyset pagination) cannot be combined with ${conflicts.join(", ")}`,
          );
        }
        if (e.chunk_size_memory_mb !== undefined) {
          throw new ConfigError(
            "chunk_size_memory_mb is not available with chunk_by_key (keyset pages) in this " +
              "version of rivet yet; set chunk_size (rows per page) instead",
          );
        }
        if (e.table === undefined) {
          throw new ConfigError(
            "chunk_by_key needs `table:` (the key's unique index is checked on the table); " +
              "replace query: with table:",
          );
        }
        return {
          query: base,
          strategy: {
            kind: "keyset",
            key: e.chunk_by_key,
            pageSize: e.chunk_size ?? 100_000,
            table: e.table,
          },
        };
      }
      const memoryMb = e.chunk_size_memory_mb;
      if (memoryMb !== undefined && e.table === undefined) {
        throw new ConfigError(
          "chunk_size_memory_mb needs `table:` (the chunk size is derived from the table's " +
            "statistics); replace query: with table:, or set chunk_size instead",
        );
      }
      const maxRetries = resolveTuning(
        state.sourceTuning,
        e.tuning,
        state.environment,
      ).maxRetries;
      const shape = e.chunk_by_days !== undefined
        ? { kind: "by_days" as const, days: e.chunk_by_days }
        : e.chunk_dense
        ? { kind: "dense" as const, chunkSize: e.chunk_size ?? 100_000 }
        : {
          kind: "range" as const,
          chunkSize: e.chunk_size ?? 100_000,
          chunkCount: e.chunk_count ?? null,
        };
      return {
        query: base,
        strategy: {
          kind: "chunked",
          column: e.chunk_column ?? null,
          shape,
          parallel: e.parallel ?? 1,
          checkpoint: e.chunk_checkpoint ?? false,
          maxAttempts: e.chunk_max_attempts ?? Math.max(1, maxRetries + 1),
          table: e.table ?? null,
          ...(memoryMb === undefined
            ? {}
            : { memorySizing: { mb: memoryMb, ignoredChunkSize: e.chunk_size ?? null } }),
        },
      };
    }
    case "time_window": {
      const columnType = e.time_column_type ?? "timestamp";
      const { sql, cutoff } = timeWindowQuery(
        dialect,
        base,
        e.time_column!,
        columnType,
        e.days_window!,
        now,
      );
      return {
        query: sql,
        strategy: {
          kind: "timewindow",
          column: e.time_column!,
          columnType,
          days: e.days_window!,
          cutoff,
        },
      };
    }
    default:
      return { query: base, strategy: { kind: "snapshot" } };
  }
}

function planExport(
  loaded: LoadedConfig,
  e: ExportConfig,
  opts: RunOptions,
  now: Date,
  dialect: "postgres" | "mysql",
  state: StateSnapshot,
): ExportPlan {
  const grouped = opts.worker === true && opts.runGroup !== undefined &&
    e.mode === "chunked" && e.chunk_checkpoint === true && e.chunk_by_key === undefined;
  const runId = grouped ? groupRunId(e.name, opts.runGroup!) : makeRunId(e.name, now);
  const mode = modeLabel(e);
  if (!SUPPORTED_MODES.has(e.mode ?? "full")) {
    throw new ConfigError(
      `mode '${e.mode}' is not available in this version of rivet yet; only 'full' exports run. ` +
        `Use mode: full for this export or run it with a version that supports '${e.mode}'.`,
    );
  }
  if (e.destination.type === "azure") {
    throw new ConfigError(
      "destination type 'azure' is not available in this version of rivet yet; use local, s3, " +
        "gcs or stdout.",
    );
  }
  if (e.destination.type === "stdout" && (e.mode ?? "full") === "chunked") {
    throw new ConfigError(
      "plan validation failed: stdout-no-chunked: a chunked export writes one file per chunk " +
        "and cannot stream to stdout; write to a directory or bucket, or use mode: full.",
    );
  }
  if (e.destination.type === "stdout" && e.max_file_size !== undefined) {
    throw new ConfigError(
      "plan validation failed: stdout-no-split: max_file_size cannot be used with a stdout " +
        "destination (a stream has no files to split); remove max_file_size or write to a directory.",
    );
  }
  const tuning = resolveTuning(
    loaded.config.source.tuning,
    e.tuning,
    loaded.config.source.environment,
  );
  const { codec, level } = resolveCompression(e);
  const format: FormatPlan = e.format === "csv"
    ? { kind: "csv" }
    : { kind: "parquet", codec, level, parquet: e.parquet ?? null };
  const template = e.destination.type === "stdout"
    ? ""
    : e.destination.type === "local"
    ? e.destination.path ?? e.destination.prefix ?? "."
    : e.destination.prefix ?? "";
  const destination: DestinationPlan = {
    ...e.destination,
    resolvedPath: expandPathTemplate(template, { exportName: e.name, runId, at: now }),
    ...(e.destination.credentials_file
      ? { credentialsFilePath: path.resolve(loaded.dir, e.destination.credentials_file) }
      : {}),
  };
  const columnOverrides: Record<string, RivetType> = {};
  for (const [col, text] of Object.entries(e.columns ?? {})) {
    columnOverrides[col] = parseColumnOverride(text);
  }
  const baseQuery = baseQueryOf(e, loaded.queryFiles);
  const { strategy, query } = strategyFor(e, dialect, baseQuery, {
    ...state,
    sourceTuning: loaded.config.source.tuning,
    environment: loaded.config.source.environment,
  }, now);
  return {
    name: e.name,
    mode,
    runId,
    strategy,
    baseQuery,
    query,
    format,
    compression: codec,
    destination,
    maxFileSizeBytes: e.max_file_size === undefined ? null : parseByteSize(e.max_file_size),
    skipEmpty: e.skip_empty ?? false,
    tuning: {
      profile: tuning.profile,
      label: tuning.label,
      batchSize: tuning.batchSize,
      throttleMs: tuning.throttleMs,
      statementTimeoutS: tuning.statementTimeoutS,
      lockTimeoutS: tuning.lockTimeoutS,
      maxRetries: tuning.maxRetries,
      retryBackoffMs: tuning.retryBackoffMs,
      maxValueMb: tuning.maxValueMb,
      memoryThresholdMb: tuning.memoryThresholdMb,
      maxBatchMemoryMb: tuning.maxBatchMemoryMb,
      onBatchMemoryExceeded: tuning.onBatchMemoryExceeded,
      batchSizeMemoryMb: tuning.batchSizeMemoryMb,
    },
    columnOverrides,
    metaColumns: e.meta_columns ?? {},
    quality: e.quality ?? null,
    onSchemaDrift: e.on_schema_drift ?? "warn",
    shapeDriftFactor: e.shape_drift_warn_factor ?? 2.0,
    validate: opts.validate || opts.reconcile,
    reconcile: opts.reconcile,
    resume: opts.resume,
    force: opts.force,
    ...(opts.worker === true ? { worker: true } : {}),
    ...(grouped ? { runGroup: opts.runGroup! } : {}),
    verify: e.verify ?? "size",
    engine: dialect,
  };
}

/**
 * Plans every selected export. An export that cannot be planned is listed in `rejected` with its
 * reason and does not stop the others. Throws only when `--export` names no export.
 */
export function buildRunPlan(
  loaded: LoadedConfig,
  source: SourceConnection,
  opts: RunOptions,
  now: Date,
  state: StateSnapshot = { cursors: {} },
): RunPlan {
  const selected = opts.exportName === undefined
    ? loaded.config.exports
    : loaded.config.exports.filter((e) => e.name === opts.exportName);
  if (selected.length === 0) {
    const known = loaded.config.exports.map((e) => e.name).join(", ");
    throw new ConfigError(
      `export '${opts.exportName}' not found in config; known exports: ${known}. ` +
        `Check the spelling of --export.`,
    );
  }
  const exports: ExportPlan[] = [];
  const rejected: RejectedExport[] = [];
  for (const e of selected) {
    try {
      exports.push(planExport(loaded, e, opts, now, source.type, state));
    } catch (err) {
      rejected.push({
        name: e.name,
        mode: modeLabel(e),
        runId: makeRunId(e.name, now),
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  const warnings: string[] = [];
  const checkpointed = exports.some((e) => e.strategy.kind === "chunked" && e.strategy.checkpoint);
  if (opts.resume && !checkpointed) {
    warnings.push(
      "resume-no-checkpoint: --resume has no effect unless strategy is chunked with " +
        "chunk_checkpoint: true",
    );
  }
  if (opts.worker === true && !checkpointed) {
    warnings.push("--worker has no effect unless strategy is chunked with chunk_checkpoint: true");
  }
  return deepFreeze({ source, exports, rejected, warnings });
}
