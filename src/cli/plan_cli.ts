// `rivet plan`: resolve every selected export as `run` would, precompute chunk ranges and the cursor snapshot, emit a sealed plan artifact (coordinator).
import { type Command, Option } from "commander";
import * as path from "node:path";
import type { LoadedConfig } from "../config/config_types.ts";
import { ConfigError, RivetError } from "../errors.ts";
import type { StateSnapshot } from "../plan/build_plan.ts";
import type { CursorSnapshot, RunOptions } from "../plan/plan_types.ts";
import type { PlanArtifact } from "../plan/plan_artifact.ts";
import type { StateStore } from "../state/state_store.ts";
import { parseParams } from "./run_cli.ts";

export interface PlanCommandOptions {
  readonly configPath: string;
  readonly exportName?: string;
  readonly params: Readonly<Record<string, string>>;
  readonly format: "pretty" | "json";
  /** `-o FILE`: write the JSON artifact there (only with `--format json`). */
  readonly output?: string;
  readonly statePath?: string;
  /** The planning time (tests); defaults to the clock. */
  readonly now?: Date;
  /** Where command output goes; defaults to stdout. */
  readonly out?: (text: string) => Promise<void>;
}

/** The options `plan` resolves exports with: those of a plain `rivet run`. */
const PLAN_RUN_OPTIONS: Omit<RunOptions, "exportName"> = {
  validate: false,
  reconcile: false,
  resume: false,
  force: false,
};

/**
 * The stored cursors of the incremental exports, read exactly as `rivet run` reads them
 * (`readSnapshot` in src/pipeline/run.ts, which is not exported).
 */
export async function readCursorSnapshot(
  loaded: LoadedConfig,
  state: StateStore,
): Promise<StateSnapshot> {
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

/** Secrets of the source that must never reach a plan file. */
export function sourceSecrets(loaded: LoadedConfig, url: string, urlPassword: string | null) {
  const out: string[] = [];
  if (loaded.config.source.password) out.push(loaded.config.source.password);
  if (urlPassword) out.push(urlPassword, encodeURIComponent(urlPassword));
  try {
    const raw = new URL(url).password;
    if (raw) out.push(raw);
  } catch { /* not a URL: nothing to add */ }
  return out;
}

/** Builds the artifact of spec 2.7 for the selected exports; nothing is written. */
export async function buildArtifact(
  opts: PlanCommandOptions,
): Promise<{ artifact: PlanArtifact; stripped: string[] }> {
  const now = opts.now ?? new Date();
  const { loadConfigFile, resolveSource } = await import("../pipeline/config_io.ts");
  const { openStateStore } = await import("../state/open_state_store.ts");
  const { buildRunPlan } = await import("../plan/build_plan.ts");
  const { buildChunkPlan } = await import("../plan/chunk_plan.ts");
  const art = await import("../plan/plan_artifact.ts");
  const rc = await import("../pipeline/reconcile.ts");
  const { openSource } = await import("../pipeline/factories.ts");
  const { RIVET_VERSION } = await import("../version.ts");
  const { log } = await import("../observe/log.ts");

  const loaded = await loadConfigFile(opts.configPath, opts.params);
  const source = resolveSource(loaded);
  const state = await openStateStore({ configPath: loaded.path, stateFlag: opts.statePath });
  let snapshot: StateSnapshot;
  try {
    snapshot = await readCursorSnapshot(loaded, state);
  } finally {
    await state.close();
  }
  const runPlan = buildRunPlan(
    loaded,
    source,
    {
      ...PLAN_RUN_OPTIONS,
      ...(opts.exportName === undefined ? {} : { exportName: opts.exportName }),
    },
    now,
    snapshot,
  );
  if (runPlan.rejected.length > 0) {
    throw new ConfigError(
      `plan rejected: ${runPlan.rejected.map((r) => `export '${r.name}': ${r.error}`).join("; ")}`,
      { hint: "fix the config (or select other exports with -e) and plan again" },
    );
  }
  const hash = await rc.xxh3Hasher();
  const computed: Record<string, {
    computed: import("../plan/plan_artifact.ts").ComputedPlan;
    fingerprint: string;
  }> = {};
  const chunked = runPlan.exports.filter((e) => e.strategy.kind === "chunked");
  if (chunked.length > 0) {
    const src = await openSource(source);
    try {
      for (const e of chunked) {
        const s = e.strategy as import("../pipeline/reconcile.ts").ChunkedStrategy;
        try {
          const column = await rc.resolveChunkColumn(e, s, src);
          if (s.column === null) {
            log.warn(
              `export '${e.name}': chunk_column not set — auto-resolved to '${column}' (the ` +
                "primary key). Set `chunk_column:` explicitly.",
            );
          }
          const probes = await rc.probeChunks(e, column, s, src);
          const cp = buildChunkPlan(
            { dialect: e.engine, baseQuery: e.baseQuery, column, shape: s.shape },
            probes,
            hash,
          );
          for (const note of cp.notes) log.info(`export '${e.name}': ${note}`);
          const ranges = cp.chunks.map((c) => [c.startKey, c.endKey] as const);
          computed[e.name] = {
            fingerprint: cp.fingerprint,
            computed: {
              chunk_column: column,
              chunk_ranges: ranges,
              chunk_count: ranges.length,
              cursor_snapshot: null,
              row_estimate: art.chunkRowEstimate(ranges, probes.rowCount),
            },
          };
        } catch (err) {
          throw new RivetError(`cannot plan the chunks of export '${e.name}'`, {
            exitClass: err instanceof RivetError ? err.exitClass : "source",
            cause: err,
          });
        }
      }
    } finally {
      await src.close().catch(() => {});
    }
  }
  for (const e of runPlan.exports) {
    if (e.strategy.kind !== "incremental") continue;
    computed[e.name] = {
      fingerprint: "",
      computed: {
        chunk_column: null,
        chunk_ranges: [],
        chunk_count: 0,
        cursor_snapshot: e.strategy.stored?.value ?? null,
        row_estimate: null,
      },
    };
  }
  const built = art.buildPlanArtifact({
    rivetVersion: RIVET_VERSION,
    planId: art.planIdFrom(crypto.getRandomValues(new Uint8Array(16))),
    now,
    configPath: path.resolve(loaded.path),
    configFingerprint: art.configFingerprint(loaded, source, hash),
    paramNames: Object.keys(opts.params),
    runPlan,
    computed,
    secrets: sourceSecrets(loaded, source.url, art.urlPassword(source.url)),
  });
  if (built.stripped.length > 0) {
    log.warn(
      `credentials were stripped from the plan artifact (${built.stripped.join(", ")}); ` +
        "apply takes them from the config and the environment again",
    );
  }
  return built;
}

function orNone(v: string | number | null | undefined, none = "-"): string {
  return v === null || v === undefined || v === "" ? none : String(v);
}

/** The pretty output of spec 2.7, main lines only (no preflight or prioritization yet). */
export function renderPlan(a: PlanArtifact): string[] {
  const lines = [
    `Plan ID    : ${a.plan_id}`,
    `Created    : ${a.created_at}`,
    `Expires    : ${a.expires_at}`,
    `Config     : ${a.config_path}`,
    `Source     : ${a.source.type} ${a.source.url}`,
  ];
  for (const e of a.exports) {
    const p = e.resolved_plan;
    const c = e.computed;
    lines.push("", `── ${e.export_name} `.padEnd(60, "─"));
    lines.push(`  Export     : ${e.export_name}`);
    lines.push(`  Strategy   : ${e.strategy}`);
    if (p.strategy.kind === "chunked") {
      const first = c.chunk_ranges[0];
      const last = c.chunk_ranges.at(-1);
      lines.push(`  Fingerprint: ${e.plan_fingerprint}`);
      lines.push(
        `  Chunks     : ${c.chunk_count}${
          first && last ? ` on '${c.chunk_column}' [${first[0]}..${last[1]}]` : ""
        }`,
      );
      lines.push(`  Row est.   : ${orNone(c.row_estimate)}`);
    }
    if (p.strategy.kind === "incremental") {
      lines.push(
        `  Cursor     : ${orNone(c.cursor_snapshot, "(none: first run exports all rows)")}`,
      );
    }
    if (p.strategy.kind === "timewindow") {
      lines.push(`  Window     : ${p.strategy.column} >= ${p.strategy.cutoff}`);
    }
    lines.push(`  Profile    : ${p.tuning.label}`);
    const warnings = [...e.diagnostics.warnings, ...a.warnings];
    lines.push(`  Warnings   : ${warnings.length === 0 ? "none" : warnings.join("; ")}`);
    lines.push("  Resources:");
    lines.push(`    Batch size : ${p.tuning.batchSize} rows`);
    lines.push(
      `    Batch memory ~${Math.ceil((p.tuning.batchSize * 200) / 1_048_576)}–~${
        Math.ceil((p.tuning.batchSize * 10_240) / 1_048_576)
      } MB`,
    );
    lines.push(`    Throttle   : ${p.tuning.throttleMs} ms`);
    const where = p.destination.type === "s3" || p.destination.type === "gcs"
      ? `${p.destination.type}://${p.destination.bucket ?? ""}/${p.destination.resolvedPath}`
      : p.destination.resolvedPath || p.destination.type;
    lines.push(`  Output     : ${p.destination.type} → ${where}`);
    lines.push(
      `  Format     : ${p.format.kind}${
        p.format.kind === "parquet"
          ? ` + ${p.format.codec}${p.format.level === null ? "" : ` (level ${p.format.level})`}`
          : ""
      }`,
    );
  }
  return lines;
}

/** Runs `rivet plan`; resolves to 0. */
export async function planCommand(opts: PlanCommandOptions): Promise<number> {
  if (opts.output !== undefined && opts.format !== "json") {
    throw new ConfigError("--output requires --format json", {
      hint: "rivet plan -c <config> --format json -o plan.json",
    });
  }
  const { artifact } = await buildArtifact(opts);
  const { serializeArtifact } = await import("../plan/plan_artifact.ts");
  const { printHuman, printStdout } = await import("../observe/terminal.ts");
  const out = opts.out ?? printStdout;
  if (opts.format === "json") {
    const text = serializeArtifact(artifact);
    if (opts.output !== undefined) {
      try {
        await Deno.writeTextFile(opts.output, text);
      } catch (err) {
        throw new RivetError(`cannot write the plan to '${opts.output}'`, {
          exitClass: "config",
          cause: err,
        });
      }
      printHuman([`Plan written to: ${opts.output}`]);
    } else {
      await out(text);
    }
  } else {
    await out(renderPlan(artifact).join("\n"));
  }
  return 0;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerPlan(program: Command, setExit: (p: Promise<number>) => void): void {
  program
    .command("plan")
    .description("Resolve exports as `run` would and write a plan artifact for `rivet apply`")
    .requiredOption("-c, --config <path>", "path to rivet.yaml")
    .option("-e, --export <name>", "plan only this export")
    .option("-p, --param <KEY=VALUE>", "value for a ${KEY} placeholder (repeatable)", collect, [])
    .addOption(
      new Option("--format <format>", "pretty summary or the JSON artifact")
        .choices(["pretty", "json"]).default("pretty"),
    )
    .option("-o, --output <path>", "write the JSON artifact to this file (with --format json)")
    .option("--state <path>", "state database file (default: .rivet_state.db beside the config)")
    .action((o: Record<string, unknown>) => {
      setExit(planCommand({
        configPath: o.config as string,
        ...(o.export === undefined ? {} : { exportName: o.export as string }),
        params: parseParams(o.param as string[]),
        format: o.format as "pretty" | "json",
        ...(o.output === undefined ? {} : { output: o.output as string }),
        ...(o.state === undefined ? {} : { statePath: o.state as string }),
      }));
    });
}
