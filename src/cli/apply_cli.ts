// `rivet apply`: check a plan artifact for age, config drift, cursor drift and chunk-plan drift, then execute it like `run` (coordinator).
import type { Command } from "commander";
import { ConfigError, RivetError } from "../errors.ts";
import type { PlanArtifact } from "../plan/plan_artifact.ts";
import type { SourceConnection } from "../source/source.ts";
import type { StateStore } from "../state/state_store.ts";
import { interruptSignal } from "./interrupt.ts";
import { parseParams } from "./run_cli.ts";

export interface ApplyCommandOptions {
  readonly planFile: string;
  /** Bypass staleness, config drift, cursor drift and chunk-plan drift (each still warns). */
  readonly force: boolean;
  /** The `-p` values the plan was built with (never stored in the artifact). */
  readonly params: Readonly<Record<string, string>>;
  readonly statePath?: string;
  readonly json?: boolean;
  readonly summaryOutput?: string;
  readonly now?: Date;
  readonly signal?: AbortSignal;
}

/** Why `apply` refuses: one sentence per problem; bypassed (and warned) with --force. */
export class ApplyRefusal extends RivetError {
  constructor(message: string, hint: string) {
    super(message, { exitClass: "config", hint });
    this.name = "ApplyRefusal";
  }
}

/** Reads and parses the plan file with the errors of spec 2.8 step 1. */
export async function readArtifact(planFile: string): Promise<PlanArtifact> {
  const { parseArtifact } = await import("../plan/plan_artifact.ts");
  let text: string;
  try {
    text = await Deno.readTextFile(planFile);
  } catch (err) {
    throw new ConfigError(`cannot read plan file '${planFile}'`, {
      cause: err,
      hint: err instanceof Deno.errors.NotFound
        ? "check the path, or create the plan with `rivet plan -c <config> --format json -o <file>`"
        : "check the file's permissions",
    });
  }
  return parseArtifact(text, planFile);
}

/**
 * Every check of spec 2.8 that can refuse: cursor drift per incremental export (a null snapshot
 * must still find no cursor: a first-run plan applied after another run would re-export
 * everything) and the chunk plan fingerprint per chunked export (recomputed from the table's
 * current primary key when chunk_column is not set). Returns the problems found.
 */
async function driftProblems(
  a: PlanArtifact,
  state: StateStore,
  source: SourceConnection,
): Promise<string[]> {
  const problems: string[] = [];
  for (const e of a.exports) {
    const p = e.resolved_plan;
    if (p.strategy.kind !== "incremental") continue;
    const stored = (await state.getCursor(e.export_name))?.last_cursor_value ?? null;
    if (stored !== e.computed.cursor_snapshot) {
      problems.push(
        `cursor has drifted for export '${e.export_name}': planned from ${
          e.computed.cursor_snapshot === null ? "no cursor" : `'${e.computed.cursor_snapshot}'`
        }, the state now holds ${stored === null ? "no cursor" : `'${stored}'`}`,
      );
    }
  }
  const chunked = a.exports.filter((e) => e.resolved_plan.strategy.kind === "chunked");
  if (chunked.length === 0) return problems;
  const rc = await import("../pipeline/reconcile.ts");
  const { fingerprintInput } = await import("../plan/chunk_plan.ts");
  const { openSource } = await import("../pipeline/factories.ts");
  const hash = await rc.xxh3Hasher();
  const src = await openSource(source);
  try {
    for (const e of chunked) {
      const p = e.resolved_plan;
      const s = p.strategy as import("../pipeline/reconcile.ts").ChunkedStrategy;
      const column = await rc.resolveChunkColumn(p, s, src);
      const fp = hash(fingerprintInput(p.baseQuery, column, s.shape));
      if (fp !== e.plan_fingerprint) {
        problems.push(
          `chunk plan fingerprint mismatch for export '${e.export_name}': planned ${e.plan_fingerprint} ` +
            `on '${e.computed.chunk_column}', now ${fp} on '${column}'`,
        );
      }
    }
  } finally {
    await src.close().catch(() => {});
  }
  return problems;
}

/** Runs `rivet apply`; resolves to 0 or throws (refusal, or the failed exports). */
export async function applyCommand(opts: ApplyCommandOptions): Promise<number> {
  const now = opts.now ?? new Date();
  const { log } = await import("../observe/log.ts");
  const art = await import("../plan/plan_artifact.ts");
  const artifact = await readArtifact(opts.planFile);
  const refuse = (message: string, hint: string) => {
    if (!opts.force) throw new ApplyRefusal(message, hint);
    log.warn(`${message} (--force: applying anyway)`);
  };

  // 2. Staleness.
  const age = art.stalenessOf(artifact.created_at, now);
  if (age.level === "warn") log.warn(age.message);
  if (age.level === "stale") {
    refuse(age.message, "plan again with `rivet plan`, or pass --force to apply it anyway");
  }

  // 3. The config: must still exist (it holds the source) and be the one that was planned.
  try {
    await Deno.stat(artifact.config_path);
  } catch {
    throw new ConfigError(
      `the config the plan was built from, '${artifact.config_path}', no longer exists`,
      { hint: "apply needs it for the source connection: restore it or plan again" },
    );
  }
  const { loadConfigFile, resolveSource } = await import("../pipeline/config_io.ts");
  const loaded = await loadConfigFile(artifact.config_path, opts.params);
  const source = resolveSource(loaded);
  const hash = await (await import("../pipeline/reconcile.ts")).xxh3Hasher();
  const fp = art.configFingerprint(loaded, source, hash);
  if (fp !== artifact.config_fingerprint) {
    const missing = artifact.params.filter((k) => !(k in opts.params));
    refuse(
      `the config has drifted since plan ${artifact.plan_id}: ${artifact.config_path} (or its ` +
        "query files, parameters or source) changed",
      missing.length > 0
        ? `the plan was built with -p ${missing.join(", -p ")}: pass the same values to apply`
        : "plan again with `rivet plan`, or pass --force to apply the old plan anyway",
    );
  }
  if (source.type !== artifact.source.type) {
    throw new ConfigError(
      `the plan reads from ${artifact.source.type} but the config now names a ${source.type} source`,
      { hint: "plan again with `rivet plan`" },
    );
  }

  // 4. State, cursor drift and chunk plan drift.
  const { openStateStore } = await import("../state/open_state_store.ts");
  const state = await openStateStore({
    configPath: artifact.config_path,
    stateFlag: opts.statePath,
  });
  try {
    const problems = await driftProblems(artifact, state, source);
    if (problems.length > 0) {
      refuse(
        problems.join("; "),
        "plan again with `rivet plan`, or pass --force (an incremental export then re-reads " +
          "from the planned cursor: rows may be exported twice, never skipped)",
      );
    }

    // 5-6. Execute exactly like `run` of the planned exports.
    const plan = art.runPlanFromArtifact(artifact, source, now);
    const { executeRunPlan } = await import("../pipeline/run.ts");
    log.info(`applying plan ${artifact.plan_id} (${plan.exports.length} export(s))`);
    return await executeRunPlan(
      plan,
      {
        configPath: artifact.config_path,
        params: opts.params,
        validate: plan.exports.some((e) => e.validate),
        reconcile: plan.exports.some((e) => e.reconcile),
        resume: false,
        force: false,
        parallelExports: false,
        parallelExportProcesses: false,
        json: opts.json === true,
        ...(opts.summaryOutput === undefined ? {} : { summaryOutput: opts.summaryOutput }),
        ...(opts.statePath === undefined ? {} : { statePath: opts.statePath }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        ...(plan.exports.length === 1 ? { exportName: plan.exports[0]!.name } : {}),
      },
      loaded,
      state,
      now,
    );
  } finally {
    await state.close();
  }
}

export function registerApply(program: Command, setExit: (p: Promise<number>) => void): void {
  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command("apply")
    .description("Execute a plan artifact written by `rivet plan --format json -o FILE`")
    .argument("<plan_file>", "the plan artifact (JSON)")
    .option("--force", "apply even if the plan is stale or the config or cursor drifted", false)
    .option("-p, --param <KEY=VALUE>", "the -p values the plan was built with", collect, [])
    .option("--state <path>", "state database file (default: .rivet_state.db beside the config)")
    .option("--json", "print the run summary JSON on stdout", false)
    .option("--summary-output <path>", "write the run summary JSON to this file")
    .action((planFile: string, o: Record<string, unknown>) => {
      setExit(applyCommand({
        planFile,
        force: o.force === true,
        params: parseParams(o.param as string[]),
        ...(o.state === undefined ? {} : { statePath: o.state as string }),
        json: o.json === true,
        ...(o.summaryOutput === undefined ? {} : { summaryOutput: o.summaryOutput as string }),
        signal: interruptSignal(),
      }));
    });
}
