// `rivet repair`: plan (dry run) or execute the re-export of chunks a reconcile found wrong (coordinator).
import type { Command } from "commander";
import { ConfigError } from "../errors.ts";
import { interruptSignal } from "./interrupt.ts";
import type { RepairPlan, RepairReport } from "../pipeline/repair.ts";
import type { ReconcileReport } from "../pipeline/reconcile.ts";
import {
  chunkCommandFlags,
  type ChunkCommandOptions,
  chunkCommandOptions,
  computeReconcile,
  emit,
  withChunkedExport,
} from "./reconcile_cli.ts";

export interface RepairCommandOptions extends ChunkCommandOptions {
  /** A `rivet reconcile --format json` report to repair from, instead of reconciling now. */
  readonly report?: string;
  readonly execute: boolean;
  /** Aborted on Ctrl-C: the remaining actions are skipped. */
  readonly signal?: AbortSignal;
}

/** Dry-run output (spec 8.3 step 4). */
export function renderRepairPlan(p: RepairPlan): string[] {
  const lines = [`  Export        : ${p.export_name}`, `  Reconcile run : ${p.reconcile_run_id}`];
  if (p.actions.length === 0 && p.skipped.length === 0) {
    lines.push("  (nothing to repair)");
    return lines;
  }
  lines.push(`  Actions (${p.actions.length}):`);
  for (const a of p.actions) {
    lines.push(`    • chunk ${a.chunk_index} [${a.start_key}..${a.end_key}] — ${a.reason}`);
  }
  if (p.skipped.length > 0) {
    lines.push(`  Skipped (${p.skipped.length}):`);
    for (const s of p.skipped) lines.push(`    • ${s.identifier} — ${s.reason}`);
  }
  return lines;
}

/** `--execute` output: one line per action, then the summary (spec 8.3 step 5). */
export function renderRepairReport(r: RepairReport): string[] {
  const lines = [
    `  Export        : ${r.plan.export_name}`,
    `  Reconcile run : ${r.plan.reconcile_run_id}`,
    `  Repair run    : ${r.repair_run_id}`,
    `  Destination   : ${r.destination}`,
  ];
  for (const [a, res] of r.results) {
    const id = `chunk ${a.chunk_index} [${a.start_key}..${a.end_key}]`;
    if ("executed" in res) {
      lines.push(
        `    • ${id} — executed: ${res.executed.rows_written} rows` +
          (res.executed.files.length > 0
            ? ` → ${res.executed.files.join(", ")}`
            : " (the range is empty at the source: no file written)"),
      );
    } else if ("skipped" in res) {
      lines.push(`    • ${id} — skipped: ${res.skipped.reason}`);
    } else {
      lines.push(`    • ${id} — FAILED: ${res.failed.error}`);
    }
  }
  const s = r.summary;
  lines.push(
    `  Summary : planned ${s.planned} · executed ${s.executed} · skipped ${s.skipped} · ` +
      `failed ${s.failed} · rows ${s.rows_written}`,
  );
  return lines;
}

/** Runs `rivet repair`; resolves to 1 when an executed action failed, else 0. */
export async function repairCommand(opts: RepairCommandOptions): Promise<number> {
  const now = opts.now ?? new Date();
  const { log } = await import("../observe/log.ts");
  const rp = await import("../pipeline/repair.ts");
  const rc = await import("../pipeline/reconcile.ts");
  return await withChunkedExport(opts, "repair", async (x) => {
    let report: ReconcileReport;
    let column: string | null = null;
    if (opts.report !== undefined) {
      let text: string;
      try {
        text = await Deno.readTextFile(opts.report);
      } catch (err) {
        throw new ConfigError(`cannot read --report '${opts.report}'`, { cause: err });
      }
      report = rp.parseReconcileReport(text, opts.report, x.plan.name);
    } else {
      const r = await computeReconcile(x, now);
      report = r.report;
      column = r.column;
    }
    const plan = rp.planRepair(report);
    if (!opts.execute) {
      await emit(
        opts,
        opts.format === "json" ? JSON.stringify(plan, null, 2) : renderRepairPlan(plan).join("\n"),
        "repair plan",
      );
      return 0;
    }
    if (plan.actions.length === 0) {
      log.warn(`repair: nothing to repair for '${x.plan.name}' (reconcile report is clean)`);
      await emit(
        opts,
        opts.format === "json" ? JSON.stringify(plan, null, 2) : renderRepairPlan(plan).join("\n"),
        "repair plan",
      );
      return 0;
    }
    const run = await x.state.latestChunkRun(x.plan.name);
    if (run === null || run.run_id !== report.run_id) {
      throw new ConfigError(
        `the reconcile report is about chunk run '${report.run_id}', but the latest run of ` +
          `'${x.plan.name}' is '${run?.run_id ?? "none"}'`,
        { hint: `reconcile again: rivet reconcile -c <config> -e ${x.plan.name}` },
      );
    }
    if (run.status === "in_progress") {
      throw new ConfigError(
        `chunk run '${run.run_id}' of '${x.plan.name}' is still in progress: repair files would ` +
          "be quarantined by its --resume",
        { hint: `finish it first: rivet run -c <config> -e ${x.plan.name} --resume` },
      );
    }
    if (column === null) {
      const { openSource } = await import("../pipeline/factories.ts");
      const src = await openSource(x.source);
      try {
        column = await rc.resolveChunkColumn(x.plan, x.strategy, src);
      } finally {
        await src.close().catch(() => {});
      }
    }
    const { defaultDeps } = await import("../pipeline/export_job.ts");
    const result = await rp.executeRepair(x.plan, plan, {
      column,
      source: x.source,
      state: x.state,
      run,
      deps: { ...defaultDeps, ...(opts.signal ? { signal: opts.signal } : {}) },
    });
    await emit(
      opts,
      opts.format === "json"
        ? JSON.stringify(result, null, 2)
        : renderRepairReport(result).join("\n"),
      "repair report",
    );
    if (result.summary.failed > 0) {
      log.error(
        `repair: ${result.summary.failed} of ${result.summary.planned} action(s) failed for ` +
          `'${x.plan.name}'`,
      );
      return 1;
    }
    return 0;
  });
}

export function registerRepair(program: Command, setExit: (p: Promise<number>) => void): void {
  chunkCommandFlags(
    program.command("repair").description(
      "Plan (default) or --execute the re-export of chunks that disagree with the source",
    ),
  )
    .option("--report <path>", "a `rivet reconcile --format json` report to repair from")
    .option("--execute", "re-export the ranges as new chunk files (default: dry run)", false)
    .action((o: Record<string, unknown>) => {
      setExit(repairCommand({
        ...chunkCommandOptions(o),
        ...(o.report === undefined ? {} : { report: o.report as string }),
        execute: o.execute === true,
        signal: interruptSignal(),
      }));
    });
}
