// Coordinator of `rivet run`: config -> plan -> execute each export -> report (coordinator).
import * as path from "node:path";
import { ConfigError, describeError, RivetError } from "../errors.ts";
import type { LoadedConfig } from "../config/config_types.ts";
import { buildRunPlan } from "../plan/build_plan.ts";
import type { RunOptions } from "../plan/plan_types.ts";
import { log } from "../observe/log.ts";
import { printHuman, printStdout, stderrIsTerminal } from "../observe/terminal.ts";
import { aggregateBlock, compactLine, runAggregate, summaryBlock } from "../observe/summary.ts";
import { defaultDeps, runExportJob } from "./export_job.ts";
import type { ExportOutcome } from "./outcome.ts";
import { loadConfigFile, resolveSource } from "./config_io.ts";

export interface RunCommandOptions extends RunOptions {
  readonly configPath: string;
  readonly params: Readonly<Record<string, string>>;
  readonly parallelExports: boolean;
  readonly parallelExportProcesses: boolean;
  readonly summaryOutput?: string;
  readonly json: boolean;
}

function failedOutcome(
  name: string,
  mode: string,
  runId: string,
  error: string,
  at: Date,
): ExportOutcome {
  return {
    name,
    runId,
    mode,
    status: "failed",
    skipReason: null,
    error,
    rows: 0,
    parts: [],
    bytes: 0,
    startedAt: at.toISOString(),
    finishedAt: at.toISOString(),
    durationMs: 0,
    peakRssMb: 0,
    retries: 0,
    tuningLabel: "-",
    batchSize: 0,
    format: "-",
    compression: "-",
    destinationKind: "-",
    destinationUri: "-",
    validated: null,
  };
}

/** Runs the selected exports; resolves to 0, or throws a RivetError naming every failed export. */
export async function runCommand(opts: RunCommandOptions): Promise<number> {
  if (opts.parallelExports && opts.parallelExportProcesses) {
    throw new ConfigError(
      "--parallel-exports and --parallel-export-processes are mutually exclusive; pick one.",
    );
  }
  const startedAt = new Date();
  const loaded: LoadedConfig = await loadConfigFile(opts.configPath, opts.params);
  const source = resolveSource(loaded);
  const plan = buildRunPlan(loaded, source, opts, startedAt);
  for (const w of plan.warnings) log.warn(w);
  if (opts.force && !opts.resume) log.warn("--force without --resume has no effect");
  if (opts.validate || opts.reconcile) {
    log.warn(
      "--validate/--reconcile are not available in this version yet: files are written and " +
        "fingerprinted but not re-read or recounted at the source",
    );
  }

  const parallel = (opts.parallelExports || loaded.config.parallel_exports === true) &&
    plan.exports.length > 1 && opts.exportName === undefined;
  if (opts.parallelExportProcesses || loaded.config.parallel_export_processes) {
    log.warn(
      "parallel export processes are not available in this version; running exports in one process",
    );
  }
  const interactive = stderrIsTerminal();
  const deps = { ...defaultDeps, progress: { enabled: true, interactive } };
  const single = plan.exports.length + plan.rejected.length === 1;

  const report = (o: ExportOutcome) => {
    if (single) printHuman(summaryBlock(o));
    else printHuman([compactLine(o)]);
  };
  const outcomes: ExportOutcome[] = [];
  for (const r of plan.rejected) {
    const o = failedOutcome(r.name, r.mode, r.runId, r.error, startedAt);
    outcomes.push(o);
    report(o);
  }
  if (parallel) {
    const results = await Promise.all(plan.exports.map(async (e) => {
      const o = await runExportJob(e, plan.source, deps);
      report(o);
      return o;
    }));
    outcomes.push(...results);
  } else {
    for (const e of plan.exports) {
      const o = await runExportJob(e, plan.source, deps);
      report(o);
      outcomes.push(o);
    }
  }

  const aggregate = runAggregate(outcomes, {
    startedAt,
    finishedAt: new Date(),
    configPath: path.resolve(loaded.path),
    parallelMode: parallel ? "parallel-threads" : "sequential",
  });
  if (!single) printHuman(["", ...aggregateBlock(aggregate)]);
  const json = JSON.stringify(aggregate, null, 2) + "\n";
  if (opts.summaryOutput) {
    try {
      await Deno.writeTextFile(opts.summaryOutput, json);
    } catch (err) {
      log.warn(`cannot write --summary-output ${opts.summaryOutput}: ${describeError(err)}`);
    }
  }
  if (opts.json) await printStdout(json);
  const failed = outcomes.filter((o) => o.status === "failed");
  if (failed.length > 0) {
    throw new RivetError(
      failed.map((o) => `export '${o.name}' failed: ${o.error ?? "unknown error"}`).join("; "),
      { exitClass: "source" },
    );
  }
  return 0;
}
