// `rivet reconcile`: per-chunk source recount of a checkpointed chunked export, as a report (coordinator).
import { type Command, Option } from "commander";
import { ConfigError, RivetError } from "../errors.ts";
import type { LoadedConfig } from "../config/config_types.ts";
import type { ExportPlan } from "../plan/plan_types.ts";
import type { ChunkedStrategy, ReconcileReport } from "../pipeline/reconcile.ts";
import type { SourceConnection } from "../source/source.ts";
import type { ChunkRunRow, ChunkTaskRow, StateStore } from "../state/state_store.ts";
import { parseParams } from "./run_cli.ts";

/** Flags shared by `reconcile` and `repair`. */
export interface ChunkCommandOptions {
  readonly configPath: string;
  readonly exportName: string;
  readonly params: Readonly<Record<string, string>>;
  readonly format: "pretty" | "json";
  /** Write the output (in `format`) to this file instead of stdout. */
  readonly output?: string;
  readonly statePath?: string;
  readonly now?: Date;
  /** Where command output goes when there is no `-o`; defaults to stdout. */
  readonly out?: (text: string) => Promise<void>;
}

/** One chunked export resolved from the current config, with its source and state. */
export interface ChunkedExport {
  readonly loaded: LoadedConfig;
  readonly plan: ExportPlan;
  readonly strategy: ChunkedStrategy;
  readonly source: SourceConnection;
  readonly state: StateStore;
}

/**
 * Loads the config, plans the one export as `run` would, checks it is chunked, and opens the
 * state; `fn` runs with it and the state is always closed.
 */
export async function withChunkedExport<T>(
  opts: ChunkCommandOptions,
  command: "reconcile" | "repair",
  fn: (x: ChunkedExport) => Promise<T>,
): Promise<T> {
  const { loadConfigFile, resolveSource } = await import("../pipeline/config_io.ts");
  const { buildRunPlan } = await import("../plan/build_plan.ts");
  const { requireChunked } = await import("../pipeline/reconcile.ts");
  const { openStateStore } = await import("../state/open_state_store.ts");
  const loaded = await loadConfigFile(opts.configPath, opts.params);
  const source = resolveSource(loaded);
  const runPlan = buildRunPlan(loaded, source, {
    exportName: opts.exportName,
    validate: false,
    reconcile: false,
    resume: false,
    force: false,
  }, opts.now ?? new Date());
  const rejected = runPlan.rejected[0];
  if (rejected !== undefined) {
    throw new ConfigError(`export '${rejected.name}' cannot be planned: ${rejected.error}`);
  }
  const plan = runPlan.exports[0]!;
  const strategy = requireChunked(plan, command);
  const state = await openStateStore({ configPath: loaded.path, stateFlag: opts.statePath });
  try {
    return await fn({ loaded, plan, strategy, source, state });
  } finally {
    await state.close();
  }
}

/** What a reconcile computed, for `repair` to continue from. */
export interface ReconcileResult {
  readonly report: ReconcileReport;
  readonly run: ChunkRunRow;
  readonly tasks: readonly ChunkTaskRow[];
  readonly column: string;
  readonly verified: boolean;
}

/** Recounts the latest chunk run (spec 8.2.2) and records the verified boundary when clean. */
export async function computeReconcile(x: ChunkedExport, now: Date): Promise<ReconcileResult> {
  const rc = await import("../pipeline/reconcile.ts");
  const { openSource } = await import("../pipeline/factories.ts");
  const { run, tasks } = await rc.latestChunkRunWithTasks(x.state, x.plan.name);
  const src = await openSource(x.source);
  try {
    const column = await rc.resolveChunkColumn(x.plan, x.strategy, src);
    const report = await rc.reconcileChunks(x.plan, column, run, tasks, src);
    const verified = await rc.recordVerifiedIfClean(x.state, report, tasks, now.toISOString());
    return { report, run, tasks, column, verified };
  } finally {
    await src.close().catch(() => {});
  }
}

/** The pretty report of spec 8.2.2 step 6. */
export function renderReconcile(r: ReconcileReport): string[] {
  const s = r.summary;
  const lines = [
    `  Export    : ${r.export_name}`,
    `  Run       : ${r.run_id}`,
    `  Strategy  : ${r.strategy}`,
    `  Partitions: ${s.total_partitions} (${s.matches} match, ${s.mismatches} mismatch, ${s.unknown} unknown)`,
    `  Rows      : source ${s.total_source_rows} / exported ${s.total_exported_rows}`,
  ];
  if (s.mismatches === 0 && s.unknown === 0) {
    lines.push("  Status    : all partitions match");
    return lines;
  }
  const bad = r.partitions.filter((p) => p.status === "mismatch");
  if (bad.length > 0) {
    lines.push("  Repair candidates:");
    for (const p of bad) {
      lines.push(
        `    • ${p.identifier} — source=${p.source_count}, exported=${p.exported_count}` +
          (p.note ? ` (${p.note})` : ""),
      );
    }
  }
  const unknown = r.partitions.filter((p) => p.status === "unknown");
  if (unknown.length > 0) {
    lines.push("  Unknown:");
    for (const p of unknown) lines.push(`    • ${p.identifier} — ${p.note ?? "unknown"}`);
  }
  return lines;
}

/** Writes `text` to `-o` (with a note on stderr) or to the command output. */
export async function emit(
  opts: ChunkCommandOptions,
  text: string,
  what: string,
): Promise<void> {
  const { printHuman, printStdout } = await import("../observe/terminal.ts");
  if (opts.output === undefined) {
    await (opts.out ?? printStdout)(text);
    return;
  }
  try {
    await Deno.writeTextFile(opts.output, text.endsWith("\n") ? text : text + "\n");
  } catch (err) {
    throw new RivetError(`cannot write the ${what} to '${opts.output}'`, {
      exitClass: "config",
      cause: err,
    });
  }
  printHuman([`${what[0]!.toUpperCase()}${what.slice(1)} written to: ${opts.output}`]);
}

/** Runs `rivet reconcile`; resolves to 1 when any chunk disagrees with the source, else 0. */
export async function reconcileCommand(opts: ChunkCommandOptions): Promise<number> {
  const now = opts.now ?? new Date();
  const { log } = await import("../observe/log.ts");
  return await withChunkedExport(opts, "reconcile", async (x) => {
    const { report } = await computeReconcile(x, now);
    await emit(
      opts,
      opts.format === "json" ? JSON.stringify(report, null, 2) : renderReconcile(report).join("\n"),
      "reconcile report",
    );
    const s = report.summary;
    if (s.unknown > 0) {
      log.warn(
        `reconcile: ${s.unknown} of ${s.total_partitions} partition(s) could not be counted`,
      );
    }
    if (s.mismatches > 0) {
      log.error(
        `reconcile: ${s.mismatches} of ${s.total_partitions} partition(s) disagree with the source` +
          ` (see \`rivet repair -c <config> -e ${report.export_name}\`)`,
      );
      return 1;
    }
    return 0;
  });
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** The flags of `reconcile` and `repair`. */
export function chunkCommandFlags(c: Command): Command {
  return c
    .requiredOption("-c, --config <path>", "path to rivet.yaml")
    .requiredOption("-e, --export <name>", "the chunked export")
    .option("-p, --param <KEY=VALUE>", "value for a ${KEY} placeholder (repeatable)", collect, [])
    .addOption(
      new Option("--format <format>", "output format").choices(["pretty", "json"]).default(
        "pretty",
      ),
    )
    .option("-o, --output <path>", "write the report to this file instead of stdout")
    .option("--state <path>", "state database file (default: .rivet_state.db beside the config)");
}

/** The shared options from parsed flags. */
export function chunkCommandOptions(o: Record<string, unknown>): ChunkCommandOptions {
  return {
    configPath: o.config as string,
    exportName: o.export as string,
    params: parseParams(o.param as string[]),
    format: o.format as "pretty" | "json",
    ...(o.output === undefined ? {} : { output: o.output as string }),
    ...(o.state === undefined ? {} : { statePath: o.state as string }),
  };
}

export function registerReconcile(program: Command, setExit: (p: Promise<number>) => void): void {
  chunkCommandFlags(
    program.command("reconcile").description(
      "Recount every chunk of the latest checkpointed run at the source and compare",
    ),
  ).action((o: Record<string, unknown>) => {
    setExit(reconcileCommand(chunkCommandOptions(o)));
  });
}
