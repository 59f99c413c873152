// The resolved run plan: every decision needed to execute an export, as frozen data (planning layer, pure types).
import type {
  BatchMemoryPolicy,
  Codec,
  DestinationConfig,
  DriftPolicy,
  MetaColumnsConfig,
  ParquetConfig,
  QualityConfig,
} from "../config/config_types.ts";
import type { RivetType } from "../source/rivet_types.ts";
import type { ChunkShape } from "./chunk_plan.ts";
import type { SourceConnection } from "../source/source.ts";

/** Tuning values after profile and overrides are applied (see src/tuning). */
export interface PlanTuning {
  readonly profile: string;
  readonly label: string;
  readonly batchSize: number;
  readonly throttleMs: number;
  readonly statementTimeoutS: number;
  readonly lockTimeoutS: number;
  readonly maxRetries: number;
  readonly retryBackoffMs: number;
  readonly maxValueMb: number;
  /** RSS guard before each chunk (spec 7.6); 0 = off. */
  readonly memoryThresholdMb: number;
  /** Cap on one Arrow batch (spec 7.6); null = no cap. */
  readonly maxBatchMemoryMb: number | null;
  readonly onBatchMemoryExceeded: BatchMemoryPolicy;
  /** `batch_size_memory_mb`: Arrow bytes per batch the sources aim for; null = their default. */
  readonly batchSizeMemoryMb?: number | null;
}

/** The stored position of an incremental export (from the state store). */
export interface CursorSnapshot {
  /** Canonical text of the highest exported cursor value. */
  readonly value: string;
  /** Row hashes (hex) of the rows exported at exactly `value`, to skip them when re-read. */
  readonly boundaryHashes: readonly string[];
}

export type Strategy =
  | { readonly kind: "snapshot" }
  | {
    readonly kind: "incremental";
    readonly cursorColumn: string;
    readonly fallbackColumn: string | null;
    /** The column the pipeline reads the cursor from (the synthetic one in coalesce mode). */
    readonly trackedColumn: string;
    /** Helper columns to drop before writing. */
    readonly helperColumns: readonly string[];
    readonly stored: CursorSnapshot | null;
  }
  | {
    readonly kind: "chunked";
    /** null: resolved from the table's single-column integer primary key at run time. */
    readonly column: string | null;
    readonly shape: ChunkShape;
    readonly parallel: number;
    readonly checkpoint: boolean;
    /** Attempts per chunk before the run gives up on it (`chunk_max_attempts`). */
    readonly maxAttempts: number;
    /** `table:` of the export, for primary-key resolution. */
    readonly table: string | null;
    /**
     * `chunk_size_memory_mb`: the chunk size is derived at run time from the table's statistics
     * (`shape` then holds the configured or default size, unused); `ignoredChunkSize` is an
     * explicit `chunk_size` that is ignored (with a warning). Absent when not set.
     */
    readonly memorySizing?: {
      readonly mb: number;
      readonly ignoredChunkSize: number | null;
    };
  }
  | {
    readonly kind: "keyset";
    /** `chunk_by_key`: a NOT NULL, single-column unique key. */
    readonly key: string;
    /** Rows per page (`chunk_size`). */
    readonly pageSize: number;
    /** The export's `table:` (keyset needs it to check the key). */
    readonly table: string;
  }
  | {
    readonly kind: "timewindow";
    readonly column: string;
    readonly columnType: "timestamp" | "unix";
    readonly days: number;
    /** The lower bound used, as text (`YYYY-MM-DD 00:00:00` or epoch seconds). */
    readonly cutoff: string;
  };

export type FormatPlan =
  | {
    readonly kind: "parquet";
    readonly codec: Codec;
    readonly level: number | null;
    readonly parquet: ParquetConfig | null;
  }
  | { readonly kind: "csv" };

/** A destination with its path/prefix templates expanded. */
export interface DestinationPlan extends DestinationConfig {
  /** The directory (local) or key prefix (object stores) after template expansion. */
  readonly resolvedPath: string;
  /** `credentials_file` resolved against the config directory. */
  readonly credentialsFilePath?: string;
}

export interface ExportPlan {
  readonly name: string;
  /** Mode label used in summaries and metrics: full | incremental | chunked | keyset | timewindow. */
  readonly mode: string;
  readonly runId: string;
  readonly strategy: Strategy;
  readonly baseQuery: string;
  /** The SQL the source runs. */
  readonly query: string;
  readonly format: FormatPlan;
  /** Codec label reported in summaries, also for CSV (which is written uncompressed). */
  readonly compression: Codec;
  readonly destination: DestinationPlan;
  readonly maxFileSizeBytes: number | null;
  readonly skipEmpty: boolean;
  readonly tuning: PlanTuning;
  readonly columnOverrides: Readonly<Record<string, RivetType>>;
  readonly metaColumns: MetaColumnsConfig;
  readonly quality: QualityConfig | null;
  readonly onSchemaDrift: DriftPolicy;
  /** 0 disables shape tracking. */
  readonly shapeDriftFactor: number;
  readonly validate: boolean;
  readonly reconcile: boolean;
  readonly resume: boolean;
  readonly force: boolean;
  /** `--worker`: join (or start) the export's shared chunk run instead of refusing it. */
  readonly worker?: boolean;
  /**
   * `--run-group` (or `RIVET_RUN_GROUP`): the workers of one group share the chunk run `runId`
   * (derived from the export name and the group), and a late one never starts another.
   */
  readonly runGroup?: string;
  /** Required verification depth of the destination prefix (`verify:`). */
  readonly verify: "size" | "content";
  readonly engine: "postgres" | "mysql";
}

export interface RunOptions {
  readonly exportName?: string;
  readonly validate: boolean;
  readonly reconcile: boolean;
  readonly resume: boolean;
  readonly force: boolean;
  readonly worker?: boolean;
  /** `--run-group` / `RIVET_RUN_GROUP`, with `--worker` only. */
  readonly runGroup?: string;
}

/** One export that could not be planned, with the reason; it fails without running. */
export interface RejectedExport {
  readonly name: string;
  readonly mode: string;
  readonly runId: string;
  readonly error: string;
}

export interface RunPlan {
  readonly source: SourceConnection;
  readonly exports: readonly ExportPlan[];
  readonly rejected: readonly RejectedExport[];
  readonly warnings: readonly string[];
}
