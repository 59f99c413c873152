// The `memory_threshold_mb` RSS guard: pauses before a chunk while process RSS is above the threshold, spec 7.6 (observability layer).
import { log } from "./log.ts";
import { currentRss } from "./resource.ts";

const MIB = 1024 * 1024;

/** One poll while waiting, for callers that show it (a card, a journal entry). */
export interface RssWaitTick {
  readonly rssMb: number;
  readonly thresholdMb: number;
  /** Time waited so far. */
  readonly waitedMs: number;
}

export interface WaitBelowOptions {
  /** Time between RSS readings while above the threshold. Default 2 000. */
  readonly pollMs?: number;
  /** Give up and continue after this long; `Infinity` waits until RSS is low enough. Default Infinity. */
  readonly maxWaitMs?: number;
  /** Called at every reading above the threshold, before sleeping. */
  readonly onWait?: (tick: RssWaitTick) => void;
  /** Names what is waiting in the log lines, e.g. `export 'orders' chunk 3`. */
  readonly label?: string;
  /** Stops waiting (the caller then sees `aborted` and stops too). */
  readonly signal?: AbortSignal;
  /** Resident set size in bytes; default `Deno.memoryUsage().rss`. */
  readonly readRssBytes?: () => number;
  /** Default `setTimeout`; pass the job's sleep so tests do not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Where the two log lines go; default `log.warn` / `log.info`. */
  readonly logger?: { warn(message: string): void; info(message: string): void };
}

export interface WaitBelowResult {
  /** True when it had to wait at all. */
  readonly waited: boolean;
  readonly waitedMs: number;
  /** RSS at the last reading. */
  readonly rssMb: number;
  /** `below`: RSS is at or under the threshold; `gave_up`: maxWaitMs ran out; `off`: threshold 0. */
  readonly reason: "below" | "gave_up" | "aborted" | "off";
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function mb(bytes: number): number {
  return Math.round(bytes / MIB);
}

/**
 * Waits while process RSS is above `thresholdMb` (0 = off: returns at once), reading it every
 * `pollMs` for at most `maxWaitMs`. Logs once when it starts waiting and once when it resumes.
 */
export async function waitBelow(
  thresholdMb: number,
  opts: WaitBelowOptions = {},
): Promise<WaitBelowResult> {
  const read = opts.readRssBytes ?? currentRss;
  if (!(thresholdMb > 0)) return { waited: false, waitedMs: 0, rssMb: 0, reason: "off" };
  const pollMs = opts.pollMs ?? 2_000;
  const maxWaitMs = opts.maxWaitMs ?? Infinity;
  if (!(pollMs > 0)) throw new RangeError(`pollMs must be positive, got ${pollMs}`);
  if (!(maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0, got ${maxWaitMs}`);
  const sleep = opts.sleep ?? defaultSleep;
  const logger = opts.logger ?? { warn: log.warn, info: log.info };
  const who = opts.label ? `${opts.label}: ` : "";
  const limit = thresholdMb * MIB;

  let rss = read();
  if (rss <= limit) return { waited: false, waitedMs: 0, rssMb: mb(rss), reason: "below" };
  logger.warn(
    `${who}process RSS ${mb(rss)} MB is above memory_threshold_mb=${thresholdMb} MB; ` +
      (Number.isFinite(maxWaitMs)
        ? `pausing up to ${maxWaitMs / 1000}s before continuing`
        : `pausing until it drops (checked every ${pollMs / 1000}s)`),
  );
  let waitedMs = 0;
  let reason: WaitBelowResult["reason"];
  for (;;) {
    if (opts.signal?.aborted) {
      reason = "aborted";
      break;
    }
    if (waitedMs >= maxWaitMs) {
      reason = "gave_up";
      break;
    }
    opts.onWait?.({ rssMb: mb(rss), thresholdMb, waitedMs });
    const step = Math.min(pollMs, maxWaitMs - waitedMs);
    await sleep(step);
    waitedMs += step;
    rss = read();
    if (rss <= limit) {
      reason = "below";
      break;
    }
  }
  if (reason === "below") {
    logger.info(
      `${who}process RSS ${mb(rss)} MB is back under ${thresholdMb} MB after ${
        waitedMs / 1000
      }s; resuming`,
    );
  } else if (reason === "gave_up") {
    logger.warn(
      `${who}process RSS ${mb(rss)} MB is still above ${thresholdMb} MB after ${
        waitedMs / 1000
      }s; resuming anyway`,
    );
  }
  return { waited: true, waitedMs, rssMb: mb(rss), reason };
}

/**
 * How long the guard waits before a chunk (spec 7.6): sequential chunks sleep 5 s once,
 * parallel workers without checkpoint wait in 2 s steps until RSS is low enough, parallel
 * checkpoint workers sleep 2 s once.
 */
export function chunkWaitPolicy(
  parallel: number,
  checkpoint: boolean,
): { readonly pollMs: number; readonly maxWaitMs: number } {
  if (parallel <= 1) return { pollMs: 5_000, maxWaitMs: 5_000 };
  return checkpoint ? { pollMs: 2_000, maxWaitMs: 2_000 } : { pollMs: 2_000, maxWaitMs: Infinity };
}
