// Live "cards" for several exports and the NDJSON events child processes report them with, spec 2.3 and 4.12 (observability layer).
//
// A child `rivet run --export X` started with RIVET_IPC_EVENTS=1 writes one JSON event per line
// on stdout (`emitIpcEvent`, the `ipc*Progress` reporters); the parent parses them
// (`parseIpcEvent`) and feeds a `CardBoard`, which redraws every card on a terminal and prints
// each card once, when its export finishes, otherwise.
import { redact } from "../errors.ts";
import type { ChunkProgressReporter, ProgressReporter } from "./progress.ts";
import { formatBytes, formatDuration, oneLine } from "./summary.ts";

// ---------------------------------------------------------------------------------------------
// Events (spec 4.12)

export interface StartedEvent {
  readonly type: "started";
  readonly export_name: string;
  readonly run_id: string;
  readonly mode: string;
  readonly tuning_profile: string;
  readonly batch_size: number;
}
export interface ProgressInitEvent {
  readonly type: "progress_init";
  readonly export_name: string;
  readonly total_chunks: number;
}
export interface ProgressEvent {
  readonly type: "progress";
  readonly export_name: string;
  readonly chunks_done: number;
  readonly rows: number;
}
export interface FinishedEvent {
  readonly type: "finished";
  readonly export_name: string;
  readonly run_id: string;
  readonly status: string;
  readonly total_rows: number;
  readonly files_produced: number;
  readonly bytes_written: number;
  readonly duration_ms: number;
  readonly peak_rss_mb: number;
  readonly error_message: string | null;
}
export type IpcEvent = StartedEvent | ProgressInitEvent | ProgressEvent | FinishedEvent;

/** The environment variable that puts `rivet run` in child-process mode. */
export const IPC_EVENTS_ENV = "RIVET_IPC_EVENTS";

/** Whether this process is a child of `--parallel-export-processes` (RIVET_IPC_EVENTS=1). */
export function ipcEventsEnabled(env: (k: string) => string | undefined = safeEnv): boolean {
  return env(IPC_EVENTS_ENV) === "1";
}

function safeEnv(k: string): string | undefined {
  try {
    return Deno.env.get(k);
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();

function writeAllSync(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += w.writeSync(bytes.subarray(written));
}

/**
 * Child side: writes `event` as one JSON line on stdout when RIVET_IPC_EVENTS=1 (synchronously,
 * so events keep their order and survive an exit right after). Returns whether it was written.
 */
export function emitIpcEvent(
  event: IpcEvent,
  write: (line: string) => void = (line) => writeAllSync(Deno.stdout, encoder.encode(line)),
  enabled: boolean = ipcEventsEnabled(),
): boolean {
  if (!enabled) return false;
  const e = event.type === "finished" && event.error_message !== null
    ? { ...event, error_message: redact(event.error_message) }
    : event;
  write(JSON.stringify(e) + "\n");
  return true;
}

const isStr = (v: unknown): v is string => typeof v === "string";
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Parent side: one stdout line of a child as an event, or null when it is not one. */
export function parseIpcEvent(line: string): IpcEvent | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!isStr(o.export_name)) return null;
  switch (o.type) {
    case "started":
      return isStr(o.run_id) && isStr(o.mode) && isStr(o.tuning_profile) && isNum(o.batch_size)
        ? {
          type: "started",
          export_name: o.export_name,
          run_id: o.run_id,
          mode: o.mode,
          tuning_profile: o.tuning_profile,
          batch_size: o.batch_size,
        }
        : null;
    case "progress_init":
      return isNum(o.total_chunks)
        ? { type: "progress_init", export_name: o.export_name, total_chunks: o.total_chunks }
        : null;
    case "progress":
      return isNum(o.chunks_done) && isNum(o.rows)
        ? {
          type: "progress",
          export_name: o.export_name,
          chunks_done: o.chunks_done,
          rows: o.rows,
        }
        : null;
    case "finished":
      return isStr(o.run_id) && isStr(o.status) && isNum(o.total_rows) &&
          isNum(o.files_produced) && isNum(o.bytes_written) && isNum(o.duration_ms) &&
          isNum(o.peak_rss_mb) && (o.error_message === null || isStr(o.error_message))
        ? {
          type: "finished",
          export_name: o.export_name,
          run_id: o.run_id,
          status: o.status,
          total_rows: o.total_rows,
          files_produced: o.files_produced,
          bytes_written: o.bytes_written,
          duration_ms: o.duration_ms,
          peak_rss_mb: o.peak_rss_mb,
          error_message: o.error_message,
        }
        : null;
    default:
      return null;
  }
}

/** The `started` event of a planned export (an `ExportPlan` fits). */
export function startedEvent(
  e: { name: string; runId: string; mode: string; tuning: { label: string; batchSize: number } },
): StartedEvent {
  return {
    type: "started",
    export_name: e.name,
    run_id: e.runId,
    mode: e.mode,
    tuning_profile: e.tuning.label,
    batch_size: e.tuning.batchSize,
  };
}

/** The `finished` event of an export's outcome (an `ExportOutcome` fits). */
export function finishedEvent(o: {
  name: string;
  runId: string;
  status: string;
  rows: number;
  parts: readonly unknown[];
  bytes: number;
  durationMs: number;
  peakRssMb: number;
  error: string | null;
}): FinishedEvent {
  return {
    type: "finished",
    export_name: o.name,
    run_id: o.runId,
    status: o.status,
    total_rows: o.rows,
    files_produced: o.parts.length,
    bytes_written: o.bytes,
    duration_ms: o.durationMs,
    peak_rss_mb: o.peakRssMb,
    error_message: o.error,
  };
}

interface IpcReporterOptions {
  /** Least time between two row updates. Default 500 ms. */
  readonly intervalMs?: number;
  readonly now?: () => number;
  readonly emit?: (e: IpcEvent) => void;
}

/** Child side: the rows of a single (non-chunked) export as `progress` events. */
export function ipcRowsProgress(
  exportName: string,
  opts: IpcReporterOptions = {},
): ProgressReporter {
  const emit = opts.emit ?? ((e: IpcEvent) => void emitIpcEvent(e));
  const now = opts.now ?? (() => performance.now());
  const interval = opts.intervalMs ?? 500;
  let last = -Infinity;
  let total = 0;
  let sent = -1;
  const send = () => {
    sent = total;
    emit({ type: "progress", export_name: exportName, chunks_done: 0, rows: total });
  };
  return {
    rows(n: number) {
      total = n;
      const t = now();
      if (t - last < interval) return;
      last = t;
      send();
    },
    done() {
      if (sent !== total) send();
    },
  };
}

/** Child side: `progress_init` now, then chunks done and rows of a chunked export as events. */
export function ipcChunkProgress(
  exportName: string,
  totalChunks: number,
  opts: IpcReporterOptions = {},
): ChunkProgressReporter {
  const emit = opts.emit ?? ((e: IpcEvent) => void emitIpcEvent(e));
  const now = opts.now ?? (() => performance.now());
  const interval = opts.intervalMs ?? 500;
  emit({ type: "progress_init", export_name: exportName, total_chunks: totalChunks });
  let last = -Infinity;
  let rows = 0;
  let chunks = 0;
  let dirty = false;
  const send = () => {
    dirty = false;
    last = now();
    emit({ type: "progress", export_name: exportName, chunks_done: chunks, rows });
  };
  return {
    rows(delta: number) {
      rows += delta;
      dirty = true;
      if (now() - last >= interval) send();
    },
    chunkDone() {
      chunks++;
      send();
    },
    done() {
      if (dirty) send();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cards

export interface CardState {
  readonly name: string;
  /** `waiting` until `started`, then `running`, then the finished status. */
  status: string;
  runId: string | null;
  mode: string | null;
  tuning: string | null;
  batchSize: number | null;
  rows: number;
  chunksDone: number;
  totalChunks: number | null;
  /** Clock of the board when `started` arrived. */
  startedAtMs: number | null;
  final: {
    readonly files: number;
    readonly bytes: number;
    readonly durationMs: number;
    readonly peakRssMb: number;
    readonly error: string | null;
  } | null;
}

export function newCard(name: string): CardState {
  return {
    name,
    status: "waiting",
    runId: null,
    mode: null,
    tuning: null,
    batchSize: null,
    rows: 0,
    chunksDone: 0,
    totalChunks: null,
    startedAtMs: null,
    final: null,
  };
}

/** Applies one event to a card (events of other exports are the caller's business). */
export function applyEvent(card: CardState, event: IpcEvent, nowMs: number): void {
  switch (event.type) {
    case "started":
      card.status = "running";
      card.runId = event.run_id;
      card.mode = event.mode;
      card.tuning = event.tuning_profile;
      card.batchSize = event.batch_size;
      card.startedAtMs = nowMs;
      return;
    case "progress_init":
      card.totalChunks = event.total_chunks;
      return;
    case "progress":
      card.chunksDone = event.chunks_done;
      card.rows = event.rows;
      return;
    case "finished":
      card.status = event.status;
      card.runId = event.run_id || card.runId;
      card.rows = event.total_rows;
      if (card.totalChunks !== null && card.totalChunks > 0 && event.status === "success") {
        card.chunksDone = card.totalChunks;
      }
      card.final = {
        files: event.files_produced,
        bytes: event.bytes_written,
        durationMs: event.duration_ms,
        peakRssMb: event.peak_rss_mb,
        error: event.error_message,
      };
      return;
  }
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const CARD_WIDTH = 60;

/** One card as lines (no trailing newline); `nowMs` gives the running rows/s. */
export function renderCard(card: CardState, nowMs: number): string[] {
  const head = `── ${card.name} `;
  const lines = [
    `${
      head.padEnd(Math.max(head.length, CARD_WIDTH - card.status.length - 1), "─")
    } ${card.status}`,
  ];
  const row = (k: string, v: string) => lines.push(`  ${(k + ":").padEnd(9)} ${v}`);
  if (card.status === "waiting") {
    row("status", "starting");
    return lines;
  }
  if (card.runId) row("run_id", card.runId);
  const how = [card.mode ?? "-"];
  if (card.tuning) how.push(`profile=${card.tuning}`);
  if (card.batchSize !== null) how.push(`batch_size=${int(card.batchSize)}`);
  row("mode", how.join(" · "));
  const secs = card.final
    ? card.final.durationMs / 1000
    : card.startedAtMs === null
    ? 0
    : (nowMs - card.startedAtMs) / 1000;
  const rate = secs > 0 ? card.rows / secs : 0;
  const progress = [`${int(card.rows)} rows`, `${int(rate)} rows/s`];
  // A total of 0 means "not known in advance" (keyset pages).
  if (card.totalChunks !== null) {
    progress.push(
      card.totalChunks > 0
        ? `chunks ${card.chunksDone}/${card.totalChunks}`
        : `chunks ${card.chunksDone}`,
    );
  }
  row("rows", progress.join(" · "));
  if (card.final) {
    const f = card.final;
    const files = `${f.files} file${f.files === 1 ? "" : "s"}`;
    const figures = [files, formatBytes(f.bytes), formatDuration(f.durationMs)];
    if (f.peakRssMb > 0) figures.push(`peak RSS ${f.peakRssMb} MB`);
    row("files", figures.join(" · "));
    if (f.error) row("error", oneLine(f.error, 240));
  } else {
    row("elapsed", formatDuration(secs * 1000));
  }
  return lines;
}

export interface CardBoardOptions {
  /** Redraw all cards in place (a terminal), or print each card once when it finishes. */
  readonly interactive: boolean;
  /** Default: stderr, redacted. */
  readonly write?: (text: string) => void;
  /** Milliseconds clock; default `performance.now`. */
  readonly now?: () => number;
  /** Least time between two redraws on a terminal. Default 100 ms. */
  readonly minRedrawMs?: number;
}

const ESC = "\x1b[";

/** The cards of a run with several exports, in the order the exports were given. */
export class CardBoard {
  readonly #cards = new Map<string, CardState>();
  readonly #interactive: boolean;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #minRedrawMs: number;
  readonly #printed = new Set<string>();
  #drawnLines = 0;
  #lastDraw = -Infinity;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(names: readonly string[], opts: CardBoardOptions) {
    for (const n of names) this.#cards.set(n, newCard(n));
    this.#interactive = opts.interactive;
    this.#write = opts.write ??
      ((text) => writeAllSync(Deno.stderr, encoder.encode(redact(text))));
    this.#now = opts.now ?? (() => performance.now());
    this.#minRedrawMs = opts.minRedrawMs ?? 100;
  }

  /** The card of an export (created when an event names an export not given up front). */
  card(name: string): CardState {
    let c = this.#cards.get(name);
    if (!c) {
      c = newCard(name);
      this.#cards.set(name, c);
    }
    return c;
  }

  apply(event: IpcEvent): void {
    if (this.#closed) return;
    const card = this.card(event.export_name);
    const before = card.status;
    applyEvent(card, event, this.#now());
    if (this.#interactive) {
      this.#scheduleDraw(card.status !== before);
    } else if (event.type === "finished") {
      this.#printOnce(card);
    }
  }

  /** Every card, as the text a terminal shows. */
  render(): string {
    const now = this.#now();
    return [...this.#cards.values()].map((c) => renderCard(c, now).join("\n")).join("\n") + "\n";
  }

  /** Final draw on a terminal; elsewhere prints the cards of exports that never finished. */
  close(): void {
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#interactive) this.#draw();
    else for (const c of this.#cards.values()) this.#printOnce(c);
    this.#closed = true;
  }

  #printOnce(card: CardState): void {
    if (this.#printed.has(card.name)) return;
    this.#printed.add(card.name);
    this.#write(renderCard(card, this.#now()).join("\n") + "\n");
  }

  #scheduleDraw(force: boolean): void {
    const wait = this.#lastDraw + this.#minRedrawMs - this.#now();
    if (force || wait <= 0) {
      this.#draw();
      return;
    }
    if (this.#timer !== null) return;
    const timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#closed) this.#draw();
    }, wait);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #draw(): void {
    const text = this.render();
    const up = this.#drawnLines > 0 ? `${ESC}${this.#drawnLines}A\r${ESC}0J` : "";
    this.#write(up + text);
    this.#drawnLines = text.split("\n").length - 1;
    this.#lastDraw = this.#now();
  }
}
