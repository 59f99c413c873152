// What one export job produced: the figures every report and record is built from (execution layer, data only).

/** A data file durable at the destination. */
export interface CommittedPart {
  readonly name: string;
  readonly rows: number;
  readonly bytes: number;
  /** `xxh3:<16 hex>` of the file bytes. */
  readonly contentFingerprint: string;
  /** Base64 MD5 of the file bytes. */
  readonly contentMd5: string;
}

export type ExportStatus = "success" | "failed" | "skipped";

export interface ExportOutcome {
  readonly name: string;
  readonly runId: string;
  readonly mode: string;
  readonly status: ExportStatus;
  readonly skipReason: string | null;
  readonly error: string | null;
  readonly rows: number;
  readonly parts: readonly CommittedPart[];
  readonly bytes: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly peakRssMb: number;
  readonly retries: number;
  readonly tuningLabel: string;
  readonly batchSize: number;
  readonly format: string;
  readonly compression: string;
  readonly destinationKind: string;
  readonly destinationUri: string;
  readonly validated: boolean | null;
  /** `--reconcile`: the source count of the export query against rows written; null if not run. */
  readonly reconciliation?: {
    readonly source_count: number;
    readonly exported_rows: number;
    readonly matched: boolean;
  } | null;
  /** null when no schema was compared (0 rows or a failure before). */
  readonly schemaChanged: boolean | null;
  readonly schemaChanges: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly type_changed: readonly (readonly [string, string, string])[];
  } | null;
  /** null without a quality block; else whether every gate passed. */
  readonly quality: boolean | null;
  readonly planWarnings: ReadonlyArray<{ rule: string; message: string }>;
}
