// Coordinator of `rivet run`: config -> plan -> execute each export -> report (coordinator).
import * as path from "node:path";
import { ConfigError, describeError, RivetError } from "../errors.ts";
import type { ExportConfig, LoadedConfig } from "../config/config_types.ts";
import { buildRunPlan } from "../plan/build_plan.ts";
import type { RunOptions, RunPlan } from "../plan/plan_types.ts";
import { log } from "../observe/log.ts";
import { printHuman, printStdout, stderrIsTerminal } from "../observe/terminal.ts";
import { aggregateBlock, compactLine, runAggregate, summaryBlock } from "../observe/summary.ts";
import { defaultDeps, type ExportJobDeps, runExportJob } from "./export_job.ts";
import { runChunkedJob } from "./chunked_job.ts";
import { runKeysetJob } from "./keyset_job.ts";
import {
  CardBoard,
  emitIpcEvent,
  finishedEvent,
  ipcEventsEnabled,
  startedEvent,
} from "../observe/cards.ts";
import { runExportProcesses, selfArgvPrefix, stderrDump } from "./process_runner.ts";
import type { ExportPlan } from "../plan/plan_types.ts";

/** Runs one export with the runner its strategy needs. */
function runJob(
  e: ExportPlan,
  source: ReturnType<typeof resolveSource>,
  state: StateStore,
  deps: ExportJobDeps,
): Promise<ExportOutcome> {
  switch (e.strategy.kind) {
    case "chunked":
      return runChunkedJob(e, source, state, deps);
    case "keyset":
      return runKeysetJob(e, source, state, deps);
    default:
      return runExportJob(e, source, state, deps);
  }
}
import type { ExportOutcome } from "./outcome.ts";
import { loadConfigFile, resolveSource } from "./config_io.ts";
import { openStateStore } from "../state/open_state_store.ts";
import type { StateStore } from "../state/state_store.ts";
import type { StateSnapshot } from "../plan/build_plan.ts";
import type { CursorSnapshot } from "../plan/plan_types.ts";
import { writeRunReport } from "../observe/run_report.ts";
import { notifySlack } from "../observe/notify.ts";

export interface RunCommandOptions extends RunOptions {
  readonly configPath: string;
  readonly params: Readonly<Record<string, string>>;
  readonly parallelExports: boolean;
  readonly parallelExportProcesses: boolean;
  readonly summaryOutput?: string;
  readonly json: boolean;
  /** `--state PATH`: the SQLite state file instead of `.rivet_state.db` beside the config. */
  readonly statePath?: string;
  /** `--state-url`: a PostgreSQL state database (else `RIVET_STATE_URL`). */
  readonly stateUrl?: string;
  /** Aborted on Ctrl-C / SIGTERM: in-flight parts are abandoned, nothing is marked complete. */
  readonly signal?: AbortSignal;
}

/** Reads the stored cursors of the incremental exports, before planning (planning is pure). */
async function readSnapshot(loaded: LoadedConfig, state: StateStore): Promise<StateSnapshot> {
  const cursors: Record<string, CursorSnapshot> = {};
  for (const e of loaded.config.exports) {
    if (e.mode !== "incremental") continue;
    const row = await state.getCursor(e.name);
    if (row?.last_cursor_value == null) continue;
    cursors[e.name] = {
      value: row.last_cursor_value,
      boundaryHashes: await state.getCursorBoundary(e.name, row.last_cursor_value),
    };
  }
  return { cursors };
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
    reconciliation: null,
    schemaChanged: null,
    schemaChanges: null,
    quality: null,
    planWarnings: [],
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
  const state = await openStateStore({
    configPath: loaded.path,
    stateFlag: opts.statePath,
    stateUrl: opts.stateUrl,
  });
  try {
    return await runWithState(opts, loaded, source, state, startedAt);
  } finally {
    await state.close();
  }
}

async function runWithState(
  opts: RunCommandOptions,
  loaded: LoadedConfig,
  source: ReturnType<typeof resolveSource>,
  state: StateStore,
  startedAt: Date,
): Promise<number> {
  const expanded = await expandPartitions(loaded, source, opts.exportName);
  const plan = buildRunPlan(
    expanded,
    source,
    { ...opts, ...(expanded === loaded ? {} : { exportName: undefined }) } as RunOptions,
    startedAt,
    await readSnapshot(expanded, state),
  );
  return await executeRunPlan(plan, opts, expanded, state, startedAt);
}

/**
 * Replaces every selected export with `partition_by` by one child export per date bucket (and
 * a NULL bucket), probing the source for the column's range (spec 4.9). Returns the config
 * unchanged when no selected export is partitioned; otherwise a config holding only the selected
 * exports (children in place of their parent).
 */
async function expandPartitions(
  loaded: LoadedConfig,
  source: ReturnType<typeof resolveSource>,
  exportName: string | undefined,
): Promise<LoadedConfig> {
  const selected = loaded.config.exports.filter((e) =>
    exportName === undefined || e.name === exportName
  );
  if (!selected.some((e) => e.partition_by !== undefined)) return loaded;
  const { checkPartitionConfig, childExportConfig, partitionProbes, planPartitions } = await import(
    "../plan/partition_plan.ts"
  );
  const { baseQueryOf } = await import("../plan/build_plan.ts");
  const { openSource } = await import("./factories.ts");
  const out: ExportConfig[] = [];
  for (const e of selected) {
    if (e.partition_by === undefined) {
      out.push(e);
      continue;
    }
    checkPartitionConfig(e);
    const base = baseQueryOf(e, loaded.queryFiles);
    const probes = partitionProbes(source.type, base, e.partition_by);
    const src = await openSource(source);
    let min: string | null, max: string | null, nulls: string | null;
    try {
      min = await src.scalar(probes.min);
      max = await src.scalar(probes.max);
      nulls = await src.scalar(probes.nullCount).catch(() => null);
    } finally {
      await src.close().catch(() => {});
    }
    const plan = planPartitions({
      dialect: source.type,
      parent: e.name,
      baseQuery: base,
      column: e.partition_by,
      granularity: e.partition_granularity ?? "day",
      min,
      max,
      nullCount: nulls === null ? null : BigInt(nulls),
    });
    for (const w of plan.warnings) log.warn(w);
    log.info(`export '${e.name}': ${plan.children.length} partition(s) of ${e.partition_by}`);
    for (const child of plan.children) out.push(childExportConfig(e, child));
  }
  return { ...loaded, config: { ...loaded.config, exports: out } };
}

/**
 * Executes a resolved run plan (from `rivet run`, or a sealed plan artifact for `rivet apply`):
 * runs every export, reports, and records the aggregate. Resolves to 0 or throws naming every
 * failed export.
 */
export async function executeRunPlan(
  plan: RunPlan,
  opts: RunCommandOptions,
  loaded: LoadedConfig,
  state: StateStore,
  startedAt: Date,
): Promise<number> {
  const source = plan.source;
  for (const w of plan.warnings) log.warn(w);
  if (opts.force && !opts.resume) log.warn("--force without --resume has no effect");

  // A child of --parallel-export-processes: events on stdout instead of progress and summaries.
  const ipc = ipcEventsEnabled();
  const parallel = (opts.parallelExports || loaded.config.parallel_exports === true) &&
    plan.exports.length > 1 && opts.exportName === undefined;
  const wantsProcesses = !ipc &&
    (opts.parallelExportProcesses || loaded.config.parallel_export_processes === true);
  const processes = wantsProcesses && !parallel && plan.exports.length > 1 &&
    opts.exportName === undefined && plan.exports.every((e) => e.destination.type !== "stdout") &&
    !loaded.config.exports.some((e) => e.partition_by !== undefined);
  if (wantsProcesses && !processes && plan.exports.length > 1) {
    log.warn(
      "--parallel-export-processes is ignored here (an export writes to stdout, is partitioned, " +
        "or --parallel-exports is also set); running exports in this process",
    );
  }
  const interactive = stderrIsTerminal();
  const deps: ExportJobDeps = {
    ...defaultDeps,
    progress: ipc
      ? { enabled: false, interactive: false, ipc: true }
      : { enabled: true, interactive },
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const runOne = async (e: ExportPlan): Promise<ExportOutcome> => {
    if (ipc) emitIpcEvent(startedEvent(e));
    const o = await runJob(e, plan.source, state, deps);
    if (ipc) emitIpcEvent(finishedEvent(o));
    return o;
  };
  const single = plan.exports.length + plan.rejected.length === 1;

  const configDir = path.dirname(path.resolve(loaded.path));
  const report = async (o: ExportOutcome) => {
    const written = await writeRunReport(configDir, {
      run_id: o.runId,
      export_name: o.name,
      status: o.status,
      started_at: o.startedAt,
      finished_at: o.finishedAt,
      duration_ms: o.durationMs,
      source_engine: source.type,
      destination_kind: o.destinationKind,
      format: o.format,
      compression: o.compression,
      tuning_profile: o.tuningLabel,
      batch_size: o.batchSize,
      total_rows: o.rows,
      files_produced: o.parts.length,
      files_committed: o.parts.length,
      bytes_written: o.bytes,
      peak_rss_mb: o.peakRssMb,
      retries: o.retries,
      pg_temp_bytes_delta: null,
      validation: null,
      reconciliation: o.reconciliation ?? null,
      schema_changed: o.schemaChanged === true,
      schema_changes: o.schemaChanges ? [o.schemaChanges] : [],
      plan_warnings: o.planWarnings,
      error_message: o.error,
      config_path: path.resolve(loaded.path),
    });
    if (!written.ok) log.warn(`cannot write the run report: ${describeError(written.error)}`);
    const reportPath = written.ok ? written.mdPath : undefined;
    if (ipc) {
      // The parent process shows this export's card.
    } else if (single) printHuman(summaryBlock(o, reportPath ? { reportPath } : {}));
    else printHuman([compactLine(o)]);
    const slack = loaded.config.notifications?.slack;
    if (slack) {
      const sent = await notifySlack(slack, (k) => Deno.env.get(k), {
        runId: o.runId,
        exportName: o.name,
        status: o.status,
        rows: o.rows,
        durationMs: o.durationMs,
        ...(o.error ? { error: o.error } : {}),
        schemaChanged: o.schemaChanged === true,
      });
      if (sent.warning) log.warn(sent.warning);
    }
  };
  const outcomes: ExportOutcome[] = [];
  for (const r of plan.rejected) {
    const o = failedOutcome(r.name, r.mode, r.runId, r.error, startedAt);
    outcomes.push(o);
    await report(o);
    if (ipc) emitIpcEvent(finishedEvent(o));
  }
  let childStderr: string[] = [];
  if (processes) {
    // Each child writes its own run report, metrics and notification: only the aggregate here.
    const board = new CardBoard(plan.exports.map((e) => e.name), { interactive });
    const results = await runExportProcesses({
      argvPrefix: selfArgvPrefix(),
      configPath: loaded.path,
      exports: plan.exports.map((e) => e.name),
      validate: opts.validate,
      reconcile: opts.reconcile,
      resume: opts.resume,
      force: opts.force,
      params: opts.params,
      ...(opts.statePath === undefined ? {} : { statePath: opts.statePath }),
      ...(opts.stateUrl === undefined ? {} : { env: { RIVET_STATE_URL: opts.stateUrl } }),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onEvent: (e) => board.apply(e),
    });
    board.close();
    outcomes.push(...results.map((r) => r.outcome));
    childStderr = stderrDump(results);
  } else if (parallel) {
    const results = await Promise.all(plan.exports.map(async (e) => {
      const o = await runOne(e);
      await report(o);
      return o;
    }));
    outcomes.push(...results);
  } else {
    for (const e of plan.exports) {
      if (opts.signal?.aborted) break;
      const o = await runOne(e);
      await report(o);
      outcomes.push(o);
    }
  }

  const aggregate = runAggregate(outcomes, {
    startedAt,
    finishedAt: new Date(),
    configPath: path.resolve(loaded.path),
    parallelMode: processes ? "parallel-processes" : parallel ? "parallel-threads" : "sequential",
  });
  if (!single) {
    printHuman(["", ...aggregateBlock(aggregate), ...childStderr]);
    try {
      await state.insertRunAggregate({
        run_aggregate_id: aggregate.run_aggregate_id,
        started_at: aggregate.started_at,
        finished_at: aggregate.finished_at,
        duration_ms: aggregate.duration_ms,
        config_path: aggregate.config_path,
        parallel_mode: aggregate.parallel_mode,
        total_exports: aggregate.total_exports,
        success_count: aggregate.success_count,
        failed_count: aggregate.failed_count,
        skipped_count: aggregate.skipped_count,
        total_rows: aggregate.total_rows,
        total_files: aggregate.total_files,
        total_bytes: aggregate.total_bytes,
        details: aggregate.per_export,
      });
    } catch (err) {
      log.warn(`cannot record the run aggregate: ${describeError(err)}`);
    }
  }
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
