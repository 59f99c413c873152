// `rivet reconcile`: recount every chunk of the latest checkpointed run at the source and compare with what was written (execution layer).
import { ConfigError, describeError, RivetError } from "../errors.ts";
import { chunkSqlFromKeys } from "../plan/chunk_plan.ts";
import type { ExportPlan } from "../plan/plan_types.ts";
import type { Source } from "../source/source.ts";
import type { ChunkRunRow, ChunkTaskRow, StateStore } from "../state/state_store.ts";
import { RIVET_VERSION } from "../version.ts";
import { probeChunks, resolveChunkColumn, xxh3Hasher } from "./chunk_probe.ts";

export { probeChunks, resolveChunkColumn, xxh3Hasher };

export type ChunkedStrategy = Extract<ExportPlan["strategy"], { kind: "chunked" }>;

export type PartitionStatus = "match" | "mismatch" | "unknown";

/** One chunk of the reconcile report (spec 8.2.2). */
export interface PartitionResult {
  readonly kind: "chunk";
  /** `chunk <idx> [<start>..<end>]` */
  readonly identifier: string;
  readonly source_count: number | null;
  readonly exported_count: number | null;
  readonly status: PartitionStatus;
  readonly note?: string;
}

export interface ReconcileSummary {
  readonly total_partitions: number;
  readonly matches: number;
  readonly mismatches: number;
  readonly unknown: number;
  readonly total_source_rows: number;
  readonly total_exported_rows: number;
}

/** The JSON report of `rivet reconcile` (spec 8.2.2); `rivet repair --report` reads it back. */
export interface ReconcileReport {
  readonly rivet_version: string;
  readonly export_name: string;
  readonly run_id: string;
  readonly strategy: "chunked";
  readonly partitions: readonly PartitionResult[];
  readonly summary: ReconcileSummary;
}

/** The identifier of a chunk in reports: `chunk 3 [301..400]`. */
export function chunkIdentifier(index: number, startKey: string, endKey: string): string {
  return `chunk ${index} [${startKey}..${endKey}]`;
}

/** Classifies one chunk from its two counts (spec 8.2.2 step 3); `sourceNote` explains a null source count. */
export function classifyPartition(
  identifier: string,
  sourceCount: number | null,
  exportedCount: number | null,
  sourceNote = "source count unavailable",
): PartitionResult {
  const base = {
    kind: "chunk" as const,
    identifier,
    source_count: sourceCount,
    exported_count: exportedCount,
  };
  if (sourceCount === null && exportedCount === null) {
    return { ...base, status: "unknown", note: "no counts available" };
  }
  if (sourceCount === null) return { ...base, status: "unknown", note: sourceNote };
  if (exportedCount === null) {
    return {
      ...base,
      status: "unknown",
      note: "exported count unavailable (partition never completed?)",
    };
  }
  if (sourceCount === exportedCount) return { ...base, status: "match" };
  return {
    ...base,
    status: "mismatch",
    note: `source=${sourceCount}, exported=${exportedCount}, diff=${sourceCount - exportedCount}`,
  };
}

/** Totals of a list of partitions. */
export function summarize(partitions: readonly PartitionResult[]): ReconcileSummary {
  return {
    total_partitions: partitions.length,
    matches: partitions.filter((p) => p.status === "match").length,
    mismatches: partitions.filter((p) => p.status === "mismatch").length,
    unknown: partitions.filter((p) => p.status === "unknown").length,
    total_source_rows: partitions.reduce((a, p) => a + (p.source_count ?? 0), 0),
    total_exported_rows: partitions.reduce((a, p) => a + (p.exported_count ?? 0), 0),
  };
}

/** The chunked strategy of a plan, or the error of spec 2.10 for every other mode. */
export function requireChunked(plan: ExportPlan, command: "reconcile" | "repair"): ChunkedStrategy {
  if (plan.strategy.kind === "chunked") return plan.strategy;
  if (command === "repair") {
    throw new ConfigError(
      `export '${plan.name}' is ${plan.mode}: only chunked exports are supported by rivet repair`,
      { hint: "re-run the export with `rivet run` instead" },
    );
  }
  if (plan.strategy.kind === "timewindow") {
    throw new ConfigError(
      `export '${plan.name}': time-window mode is not supported by rivet reconcile`,
      { hint: "use mode: chunked with chunk_by_days to get per-window partitions" },
    );
  }
  throw new ConfigError(
    `export '${plan.name}' (${plan.mode}) has no natural partitions — use rivet run --reconcile`,
  );
}

/** The latest chunk run of an export and its tasks, or the errors of spec 8.2.2 step 2. */
export async function latestChunkRunWithTasks(
  state: StateStore,
  exportName: string,
): Promise<{ run: ChunkRunRow; tasks: ChunkTaskRow[] }> {
  const run = await state.latestChunkRun(exportName);
  if (run === null) {
    throw new ConfigError(
      `no chunk run recorded for export '${exportName}'. Enable \`chunk_checkpoint: true\` and run the export first.`,
    );
  }
  const tasks = await state.listChunkTasks(run.run_id);
  if (tasks.length === 0) {
    throw new RivetError(`chunk run '${run.run_id}' of export '${exportName}' has no tasks`, {
      exitClass: "data_integrity",
      hint: `run the export again, or \`rivet state reset-chunks -c <config> -e ${exportName}\``,
    });
  }
  return { run, tasks };
}

/**
 * Recounts every task of `run` at the source: `SELECT COUNT(*) FROM (<chunk sql>) AS _rc`, the
 * chunk SQL rebuilt from the stored keys and the current config exactly as extraction builds it.
 * A failed count is `unknown`, never an error.
 */
export async function reconcileChunks(
  plan: ExportPlan,
  column: string,
  run: ChunkRunRow,
  tasks: readonly ChunkTaskRow[],
  source: Source,
): Promise<ReconcileReport> {
  const s = plan.strategy as ChunkedStrategy;
  const partitions: PartitionResult[] = [];
  for (const t of [...tasks].sort((a, b) => a.chunk_index - b.chunk_index)) {
    const exported = t.status === "completed" ? t.rows_written ?? 0 : null;
    let sourceCount: number | null = null;
    let note = "source count unavailable";
    try {
      const sql = chunkSqlFromKeys(
        plan.engine,
        plan.baseQuery,
        column,
        s.shape.kind,
        t.start_key,
        t.end_key,
      );
      const v = await source.scalar(`SELECT COUNT(*) FROM (${sql}) AS _rc`);
      sourceCount = v === null ? null : Number(v);
    } catch (err) {
      note = `source count unavailable: ${describeError(err)}`;
    }
    partitions.push(
      classifyPartition(
        chunkIdentifier(t.chunk_index, t.start_key, t.end_key),
        sourceCount,
        exported,
        note,
      ),
    );
  }
  return {
    rivet_version: RIVET_VERSION,
    export_name: plan.name,
    run_id: run.run_id,
    strategy: "chunked",
    partitions,
    summary: summarize(partitions),
  };
}

/**
 * Records the verified boundary (spec 8.2.2 step 5) when nothing disagrees and nothing is
 * unknown: the highest completed chunk index. Returns whether it was recorded.
 */
export async function recordVerifiedIfClean(
  state: StateStore,
  report: ReconcileReport,
  tasks: readonly ChunkTaskRow[],
  at: string,
): Promise<boolean> {
  if (report.summary.mismatches > 0 || report.summary.unknown > 0) return false;
  const completed = tasks.filter((t) => t.status === "completed").map((t) => t.chunk_index);
  if (completed.length === 0) return false;
  await state.recordVerified(report.export_name, {
    strategy: "chunked",
    chunk_index: Math.max(...completed),
    run_id: report.run_id,
  }, at);
  return true;
}
