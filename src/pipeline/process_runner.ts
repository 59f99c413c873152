// `--parallel-export-processes`: one child `rivet run --export X` per export, its NDJSON events read back into outcomes, spec 4.12 (execution layer).
//
// Each child is this same program (the argv prefix says how to start it: `[Deno.execPath()]`
// for a compiled binary, `deno run <--allow-*> src/main.ts` from source) with RIVET_IPC_EVENTS=1,
// stdin closed, stdout read as events and stderr kept (the last 5 000 lines) for the dump after
// the aggregate. A child that exits without a `finished` event is a failed export.
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describeError } from "../errors.ts";
import {
  type FinishedEvent,
  IPC_EVENTS_ENV,
  type IpcEvent,
  parseIpcEvent,
  type StartedEvent,
} from "../observe/cards.ts";
import type { CommittedPart, ExportOutcome, ExportStatus } from "./outcome.ts";

/** The flags a child gets besides `--export`; paths may be relative to the parent's cwd. */
export interface ChildRunFlags {
  readonly configPath: string;
  readonly validate?: boolean;
  readonly reconcile?: boolean;
  readonly resume?: boolean;
  readonly force?: boolean;
  readonly params?: Readonly<Record<string, string>>;
  /** `--state PATH` of the parent, so every child uses the same state file. */
  readonly statePath?: string;
}

export interface ExportProcessesOptions extends ChildRunFlags {
  /** How to start this program: `[Deno.execPath()]` compiled, see `selfArgvPrefix()`. */
  readonly argvPrefix: readonly string[];
  /** The exports to run, one child each, all at once. */
  readonly exports: readonly string[];
  readonly cwd?: string;
  /** Extra environment of the children (the parent's environment is inherited). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Aborting sends SIGTERM, after `killGraceMs`, to the children still running (they stop like
   * on Ctrl-C).
   */
  readonly signal?: AbortSignal;
  /**
   * Wait before that SIGTERM. On a terminal, Ctrl-C reaches the children directly (same process
   * group) and a second signal makes `rivet` quit at once, so they get time to stop cleanly
   * first. Default 5 000.
   */
  readonly killGraceMs?: number;
  /** Every event of every child, in arrival order, plus a synthetic `finished` for a crash. */
  readonly onEvent?: (event: IpcEvent) => void;
  /** Lines of stderr kept per child (the last ones). Default 5 000. */
  readonly maxStderrLines?: number;
  readonly now?: () => Date;
}

/** What one child did. */
export interface ChildResult {
  readonly name: string;
  /**
   * The export's outcome as the aggregate needs it. Only counts cross the pipe: `parts` holds
   * `files_produced` placeholders (empty names; the real names are in the child's manifest and
   * file log), and the fields no event carries are `-` / null.
   */
  readonly outcome: ExportOutcome;
  /** Whether the child reported `finished` (false: it crashed or was killed). */
  readonly finished: boolean;
  readonly exitCode: number | null;
  readonly exitSignal: string | null;
  /** The last `maxStderrLines` lines of the child's stderr (stray stdout lines marked `[stdout]`). */
  readonly stderr: readonly string[];
  /** Lines dropped from the start of `stderr`. */
  readonly stderrDropped: number;
  /** The arguments after the argv prefix. */
  readonly args: readonly string[];
}

const DEFAULT_STDERR_LINES = 5_000;

/** The arguments of the child for `exportName` (after the argv prefix). */
export function childArgs(exportName: string, flags: ChildRunFlags): string[] {
  const args = ["run", "--config", path.resolve(flags.configPath), "--export", exportName];
  if (flags.validate) args.push("--validate");
  if (flags.reconcile) args.push("--reconcile");
  if (flags.resume) args.push("--resume");
  if (flags.force) args.push("--force");
  for (const [k, v] of Object.entries(flags.params ?? {})) args.push("--param", `${k}=${v}`);
  if (flags.statePath !== undefined) args.push("--state", path.resolve(flags.statePath));
  return args;
}

/** Permissions a child of `deno run` may need, in the order of the `rivet` task. */
const PERMISSIONS = ["net", "read", "write", "env", "sys", "run", "ffi"] as const;

/**
 * How to start this program again: the binary alone when compiled, else `deno run` with the
 * `--allow-*` flags this process was granted and its main module.
 */
export function selfArgvPrefix(probe: {
  readonly standalone: boolean;
  readonly execPath: string;
  readonly mainModule: string;
  readonly granted: (name: typeof PERMISSIONS[number]) => boolean;
} = {
  standalone: Deno.build.standalone === true,
  execPath: Deno.execPath(),
  mainModule: Deno.mainModule,
  granted: (name) => Deno.permissions.querySync({ name }).state === "granted",
}): string[] {
  if (probe.standalone) return [probe.execPath];
  const flags = PERMISSIONS.filter((p) => probe.granted(p)).map((p) => `--allow-${p}`);
  const main = probe.mainModule.startsWith("file:")
    ? fileURLToPath(probe.mainModule)
    : probe.mainModule;
  return [probe.execPath, "run", ...flags, main];
}

/** Splits a byte stream into lines (without `\n`, `\r\n` tolerated), calling `onLine` for each. */
async function eachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, nl).replace(/\r$/, ""));
      rest = rest.slice(nl + 1);
    }
  }
  if (rest.length > 0) onLine(rest.replace(/\r$/, ""));
}

/** Keeps the last `max` lines. */
class TailBuffer {
  readonly #max: number;
  #lines: string[] = [];
  dropped = 0;
  constructor(max: number) {
    this.#max = Math.max(0, max);
  }
  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#max * 2 || this.#max === 0) this.#trim();
  }
  lines(): string[] {
    this.#trim();
    return this.#lines;
  }
  #trim(): void {
    const extra = this.#lines.length - this.#max;
    if (extra > 0) {
      this.#lines = this.#lines.slice(extra);
      this.dropped += extra;
    }
  }
}

const EXPORT_STATUSES: readonly string[] = ["success", "failed", "skipped"];

function outcomeOf(
  name: string,
  started: StartedEvent | null,
  finished: FinishedEvent,
  startedAt: Date,
  finishedAt: Date,
): ExportOutcome {
  const status: ExportStatus = EXPORT_STATUSES.includes(finished.status)
    ? finished.status as ExportStatus
    : "failed";
  const placeholder: CommittedPart = {
    name: "",
    rows: 0,
    bytes: 0,
    contentFingerprint: "",
    contentMd5: "",
  };
  return {
    name,
    runId: finished.run_id || started?.run_id || "",
    mode: started?.mode ?? "-",
    status,
    skipReason: null,
    error: finished.error_message ??
      (status === finished.status ? null : `child reported status '${finished.status}'`),
    rows: finished.total_rows,
    parts: Array.from({ length: finished.files_produced }, () => placeholder),
    bytes: finished.bytes_written,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finished.duration_ms,
    peakRssMb: finished.peak_rss_mb,
    retries: 0,
    tuningLabel: started?.tuning_profile ?? "-",
    batchSize: started?.batch_size ?? 0,
    format: "-",
    compression: "-",
    destinationKind: "-",
    destinationUri: "-",
    validated: null,
    schemaChanged: null,
    schemaChanges: null,
    quality: null,
    planWarnings: [],
  };
}

/** The `finished` event of a child that did not send one. */
function crashEvent(
  name: string,
  started: StartedEvent | null,
  why: string,
  durationMs: number,
): FinishedEvent {
  return {
    type: "finished",
    export_name: name,
    run_id: started?.run_id ?? "",
    status: "failed",
    total_rows: 0,
    files_produced: 0,
    bytes_written: 0,
    duration_ms: durationMs,
    peak_rss_mb: 0,
    error_message: why,
  };
}

async function runChild(name: string, opts: ExportProcessesOptions): Promise<ChildResult> {
  const now = opts.now ?? (() => new Date());
  const args = childArgs(name, opts);
  const tail = new TailBuffer(opts.maxStderrLines ?? DEFAULT_STDERR_LINES);
  const startedAt = now();
  const t0 = performance.now();
  let started: StartedEvent | null = null;
  let finished: FinishedEvent | null = null;
  const emit = (e: IpcEvent) => opts.onEvent?.(e);
  const [cmd, ...prefixArgs] = opts.argvPrefix;
  if (cmd === undefined) throw new RangeError("argvPrefix must name the program to start");

  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args: [...prefixArgs, ...args],
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      env: { ...(opts.env ?? {}), [IPC_EVENTS_ENV]: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    const event = crashEvent(
      name,
      null,
      `cannot start the child process for export '${name}' (${cmd}): ${describeError(err)}`,
      0,
    );
    emit(event);
    return {
      name,
      outcome: outcomeOf(name, null, event, startedAt, now()),
      finished: false,
      exitCode: null,
      exitSignal: null,
      stderr: [],
      stderrDropped: 0,
      args,
    };
  }

  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const kill = () => {
    graceTimer = setTimeout(() => {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
    }, opts.killGraceMs ?? 5_000);
  };
  if (opts.signal?.aborted) kill();
  else opts.signal?.addEventListener("abort", kill, { once: true });
  try {
    const stdout = eachLine(child.stdout, (line) => {
      if (line.trim() === "") return;
      const event = parseIpcEvent(line);
      if (event === null) {
        tail.push(`[stdout] ${line}`);
        return;
      }
      if (event.export_name !== name) {
        tail.push(`[stdout] event of another export ignored: ${line}`);
        return;
      }
      if (finished !== null) return; // the first result counts
      if (event.type === "started") started = event;
      if (event.type === "finished") finished = event;
      emit(event);
    });
    const stderr = eachLine(child.stderr, (line) => tail.push(line));
    const [status] = await Promise.all([child.status, stdout, stderr]);
    const finishedAt = now();
    let result: FinishedEvent | null = finished;
    if (result === null) {
      const how = status.signal !== null
        ? `was killed by ${status.signal}`
        : `exited with code ${status.code}`;
      const last = tail.lines().findLast((l) => l.trim() !== "" && !l.startsWith("[stdout]"));
      result = crashEvent(
        name,
        started,
        `the child process of export '${name}' ${how} without reporting a result` +
          (last ? `: ${last.trim()}` : ""),
        Math.round(performance.now() - t0),
      );
      emit(result);
    }
    return {
      name,
      outcome: outcomeOf(name, started, result, startedAt, finishedAt),
      finished: finished !== null,
      exitCode: status.signal !== null ? null : status.code,
      exitSignal: status.signal,
      stderr: tail.lines(),
      stderrDropped: tail.dropped,
      args,
    };
  } finally {
    clearTimeout(graceTimer);
    opts.signal?.removeEventListener("abort", kill);
  }
}

/**
 * Runs every export in its own child process, all at once, and resolves (never rejects for a
 * failed child) to one result per export, in the order given.
 */
export async function runExportProcesses(opts: ExportProcessesOptions): Promise<ChildResult[]> {
  if (opts.argvPrefix.length === 0) throw new RangeError("argvPrefix must name the program");
  return await Promise.all(opts.exports.map((name) => runChild(name, opts)));
}

/** The stderr dump printed after the aggregate: one titled block per child that wrote any. */
export function stderrDump(results: readonly ChildResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    if (r.stderr.length === 0) continue;
    const dropped = r.stderrDropped > 0 ? `, first ${r.stderrDropped} dropped` : "";
    const title = `── stderr of export '${r.name}' (${r.stderr.length} lines${dropped}) `;
    lines.push("", title.padEnd(Math.max(60, title.length + 3), "─"));
    lines.push(...r.stderr);
  }
  return lines;
}
