// Live progress of a running export: a redrawn line on a terminal, a plain line every few seconds otherwise (observability layer).
import { writeStderr } from "./log.ts";

export interface ProgressReporter {
  rows(total: number): void;
  done(): void;
}

const encoder = new TextEncoder();

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Reports rows and rows/s of one export; quiet when `enabled` is false. */
export function startProgress(
  exportName: string,
  opts: { enabled: boolean; interactive: boolean; intervalMs?: number },
): ProgressReporter {
  if (!opts.enabled) return { rows() {}, done() {} };
  const started = performance.now();
  const interval = opts.intervalMs ?? (opts.interactive ? 200 : 5000);
  let last = started;
  let total = 0;
  let drawn = false;
  const line = () => {
    const secs = (performance.now() - started) / 1000;
    const rate = secs > 0 ? total / secs : 0;
    return `${exportName}: ${fmtInt(total)} rows  ${fmtInt(rate)} rows/s  ${secs.toFixed(1)}s`;
  };
  return {
    rows(n: number) {
      total = n;
      const now = performance.now();
      if (now - last < interval) return;
      last = now;
      if (opts.interactive) {
        Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line()}`));
        drawn = true;
      } else {
        writeStderr(`progress: ${line()}`);
      }
    },
    done() {
      if (drawn) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    },
  };
}

export interface ChunkProgressReporter {
  /** Adds `delta` rows (negative when a failed chunk's rows are taken back). */
  rows(delta: number): void;
  chunkDone(): void;
  done(): void;
}

/** Chunks done of total, rows, rows/s and ETA; redrawn on a terminal, a log line otherwise. */
export function startChunkProgress(
  exportName: string,
  totalChunks: number,
  opts: { enabled: boolean; interactive: boolean; intervalMs?: number },
): ChunkProgressReporter {
  if (!opts.enabled) return { rows() {}, chunkDone() {}, done() {} };
  const started = performance.now();
  const interval = opts.intervalMs ?? (opts.interactive ? 200 : 5000);
  let last = started;
  let rows = 0;
  let chunks = 0;
  let drawn = false;
  const render = (force: boolean) => {
    const now = performance.now();
    if (!force && now - last < interval) return;
    last = now;
    const secs = (now - started) / 1000;
    const rate = secs > 0 ? rows / secs : 0;
    const eta = chunks > 0 && chunks < totalChunks
      ? ` ETA ${Math.round((secs / chunks) * (totalChunks - chunks))}s`
      : "";
    const width = 20;
    const filled = totalChunks > 0 ? Math.round((chunks / totalChunks) * width) : 0;
    const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
    const text = `${exportName}: ${bar} ${chunks}/${totalChunks} chunks  ${fmtInt(rows)} rows  ` +
      `${fmtInt(rate)} rows/s${eta}`;
    if (opts.interactive) {
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${text}`));
      drawn = true;
    } else {
      writeStderr(`progress: ${text}`);
    }
  };
  return {
    rows(delta: number) {
      rows += delta;
      render(false);
    },
    chunkDone() {
      chunks++;
      render(false);
    },
    done() {
      if (drawn) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    },
  };
}
