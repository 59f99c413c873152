// `rivet repair`: turn a reconcile report into re-export actions and run them as new chunk files next to the originals (execution layer).
import { ConfigError, describeError, RivetError } from "../errors.ts";
import { chunkSqlFromKeys, DENSE_ROW_NUMBER } from "../plan/chunk_plan.ts";
import { chunkFileName, nonceHex } from "../plan/keyset_plan.ts";
import { expandPathTemplate } from "../plan/naming.ts";
import type { DestinationPlan, ExportPlan } from "../plan/plan_types.ts";
import type { Destination } from "../destination/destination.ts";
import type { Source, SourceConnection } from "../source/source.ts";
import type { ChunkRunRow, StateStore } from "../state/state_store.ts";
import { log } from "../observe/log.ts";
import { RIVET_VERSION } from "../version.ts";
import {
  abortAll,
  commitParts,
  type ExportJobDeps,
  type Extracted,
  extractOnce,
  isRetryable,
  quietly,
  type UnitSpec,
} from "./export_job.ts";
import type { ChunkedStrategy, ReconcileReport } from "./reconcile.ts";

/** One range to export again. */
export interface RepairAction {
  readonly chunk_index: number;
  readonly start_key: string;
  readonly end_key: string;
  /** The reconcile note, or its status when there is none. */
  readonly reason: string;
}

/** The dry-run plan of spec 8.3 step 3. */
export interface RepairPlan {
  readonly rivet_version: string;
  readonly export_name: string;
  readonly reconcile_run_id: string;
  readonly strategy: "chunked";
  readonly actions: readonly RepairAction[];
  /** Partitions that are not `match` but whose identifier is not a chunk range. */
  readonly skipped: readonly { readonly identifier: string; readonly reason: string }[];
}

export type ActionResult =
  | { readonly executed: { readonly rows_written: number; readonly files: readonly string[] } }
  | { readonly skipped: { readonly reason: string } }
  | { readonly failed: { readonly error: string } };

export interface RepairSummary {
  readonly planned: number;
  readonly executed: number;
  readonly skipped: number;
  readonly failed: number;
  readonly rows_written: number;
}

/** The `--execute` report (spec 8.3 step 5), rows attributed to the action that wrote them. */
export interface RepairReport {
  readonly plan: RepairPlan;
  readonly repair_run_id: string;
  readonly destination: string;
  readonly results: readonly (readonly [RepairAction, ActionResult])[];
  readonly summary: RepairSummary;
}

const IDENTIFIER = /^chunk (\d+) \[(-?\d+|NULL)\.\.(-?\d+|NULL)\]$/;

/** One action per partition that is not `match` (mismatch and unknown alike). */
export function planRepair(report: ReconcileReport): RepairPlan {
  const actions: RepairAction[] = [];
  const skipped: { identifier: string; reason: string }[] = [];
  for (const p of report.partitions) {
    if (p.status === "match") continue;
    const m = IDENTIFIER.exec(p.identifier);
    if (m === null) {
      skipped.push({ identifier: p.identifier, reason: "identifier is not `chunk N [s..e]`" });
      continue;
    }
    actions.push({
      chunk_index: Number(m[1]),
      start_key: m[2]!,
      end_key: m[3]!,
      reason: p.note ?? p.status,
    });
  }
  return {
    rivet_version: RIVET_VERSION,
    export_name: report.export_name,
    reconcile_run_id: report.run_id,
    strategy: "chunked",
    actions,
    skipped,
  };
}

/** Reads a `rivet reconcile --format json` report back; it must be about `exportName`. */
export function parseReconcileReport(
  text: string,
  where: string,
  exportName: string,
): ReconcileReport {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `--report ${where} is not JSON: ${err instanceof Error ? err.message : String(err)}`,
      { hint: "write it with `rivet reconcile -c <config> -e <export> --format json -o <file>`" },
    );
  }
  const r = raw as Partial<ReconcileReport> | null;
  if (
    r === null || typeof r !== "object" || typeof r.export_name !== "string" ||
    typeof r.run_id !== "string" || !Array.isArray(r.partitions) ||
    r.partitions.some((p) => typeof p?.identifier !== "string" || typeof p?.status !== "string")
  ) {
    throw new ConfigError(`--report ${where} is not a rivet reconcile report`, {
      hint: "write it with `rivet reconcile -c <config> -e <export> --format json -o <file>`",
    });
  }
  if (r.export_name !== exportName) {
    throw new ConfigError(
      `--report ${where} is about export '${r.export_name}', not '${exportName}'`,
      { hint: `pass -e ${r.export_name}, or reconcile '${exportName}' first` },
    );
  }
  return r as ReconcileReport;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** `repair-<YYYYMMDDTHHMMSS>` in UTC. */
export function repairRunId(at: Date): string {
  return `repair-${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}T${
    pad(at.getUTCHours())
  }${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
}

/**
 * The destination of the chunk run being repaired: the export's path template expanded with the
 * run's own id and start time, so `{date}` and `{run_id}` point at the original files, not at
 * today's prefix.
 */
export function originalDestination(plan: ExportPlan, run: ChunkRunRow): DestinationPlan {
  const d = plan.destination;
  const template = d.type === "local" ? d.path ?? d.prefix ?? "." : d.prefix ?? "";
  return {
    ...d,
    resolvedPath: expandPathTemplate(template, {
      exportName: plan.name,
      runId: run.run_id,
      at: new Date(run.created_at),
    }),
  };
}

export interface RepairContext {
  readonly column: string;
  readonly source: SourceConnection;
  readonly state: StateStore;
  readonly deps: ExportJobDeps;
  /** The chunk run the actions come from (for the destination prefix). */
  readonly run: ChunkRunRow;
}

/** Reads one action's range with the source retry loop (spec 4.11). */
async function extractRange(
  plan: ExportPlan,
  unit: UnitSpec,
  destination: Destination,
  ctx: RepairContext,
): Promise<Extracted> {
  for (let attempt = 0;; attempt++) {
    let src: Source | null = null;
    try {
      src = await ctx.deps.openSource(ctx.source);
      return await extractOnce(plan, unit, src, destination, ctx.deps);
    } catch (err) {
      if (!isRetryable(err) || attempt >= plan.tuning.maxRetries || ctx.deps.signal?.aborted) {
        throw err;
      }
      const backoff = plan.tuning.retryBackoffMs * 2 ** attempt;
      log.warn(`repair of '${plan.name}': ${describeError(err)} — retry in ${backoff}ms`);
      await ctx.deps.sleep(backoff);
    } finally {
      await src?.close().catch(() => {});
    }
  }
}

/**
 * Runs every action: reads exactly the action's range, writes it as new chunk file(s)
 * `<export>_<ts>_chunk<original index>_<nonce>[_partN].<ext>` next to the originals (never
 * overwriting or deleting anything), and records each file in the file log under the repair run
 * id. Chunk tasks, progression, manifest and metrics are left alone. Never throws for a failed
 * action: its error is in the report.
 */
export async function executeRepair(
  plan: ExportPlan,
  repair: RepairPlan,
  ctx: RepairContext,
): Promise<RepairReport> {
  const s = plan.strategy as ChunkedStrategy;
  const runId = repairRunId(ctx.deps.now());
  const destPlan = originalDestination(plan, ctx.run);
  const runPlan: ExportPlan = { ...plan, runId, destination: destPlan };
  const results: [RepairAction, ActionResult][] = [];
  let destination: Destination;
  try {
    destination = await ctx.deps.openDestination(destPlan);
  } catch (err) {
    throw new RivetError(
      `repair of '${plan.name}': cannot open the destination ${destPlan.resolvedPath || "."}`,
      { exitClass: "destination", cause: err },
    );
  }
  try {
    for (const action of repair.actions) {
      if (ctx.deps.signal?.aborted) {
        results.push([action, { skipped: { reason: "interrupted" } }]);
        continue;
      }
      try {
        const unit: UnitSpec = {
          query: chunkSqlFromKeys(
            plan.engine,
            plan.baseQuery,
            ctx.column,
            s.shape.kind,
            action.start_key,
            action.end_key,
          ),
          dropColumns: s.shape.kind === "dense" ? [DENSE_ROW_NUMBER] : [],
          trackCursor: false,
          qualityGate: false,
          onRows: () => {},
        };
        const extracted = await extractRange(runPlan, unit, destination, ctx);
        if (extracted.rows === 0) {
          await abortAll(extracted);
          results.push([action, { executed: { rows_written: 0, files: [] } }]);
          continue;
        }
        const at = ctx.deps.now();
        const nonce = nonceHex(crypto.getRandomValues(new Uint8Array(8)));
        const count = extracted.pending.length;
        const ext = extracted.extension as "parquet" | "csv";
        const names = extracted.pending.map((_, j) =>
          chunkFileName(plan.name, at, action.chunk_index, nonce, ext, { index: j, count })
        );
        const parts = await commitParts(runPlan, extracted, names, async (part) => {
          await quietly("cannot record the file in the state file log", () =>
            ctx.state.recordFile({
              run_id: runId,
              export_name: plan.name,
              file_name: part.name,
              row_count: part.rows,
              bytes: part.bytes,
              format: plan.format.kind,
              compression: plan.compression,
              created_at: ctx.deps.now().toISOString(),
            }));
        });
        results.push([action, {
          executed: { rows_written: extracted.rows, files: parts.map((p) => p.name) },
        }]);
      } catch (err) {
        results.push([action, { failed: { error: describeError(err) } }]);
      }
    }
  } finally {
    await destination.close().catch(() => {});
  }
  const executed = results.filter(([, r]) => "executed" in r);
  return {
    plan: repair,
    repair_run_id: runId,
    destination: destination.uri,
    results,
    summary: {
      planned: repair.actions.length,
      executed: executed.length,
      skipped: results.filter(([, r]) => "skipped" in r).length,
      failed: results.filter(([, r]) => "failed" in r).length,
      rows_written: executed.reduce(
        (a, [, r]) => a + ("executed" in r ? r.executed.rows_written : 0),
        0,
      ),
    },
  };
}
