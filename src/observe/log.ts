// Leveled diagnostic messages on stderr, never stdout (observability layer).
import { redact } from "../errors.ts";

export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

function levelFromEnv(): LogLevel {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("RIVET_LOG") ?? Deno.env.get("RUST_LOG");
  } catch {
    raw = undefined;
  }
  const v = raw?.toLowerCase().trim();
  return v && v in ORDER ? v as LogLevel : "warn";
}

const encoder = new TextEncoder();
let threshold = ORDER[levelFromEnv()];
const onceKeys = new Set<string>();

/** Writes one line to stderr, redacted. */
export function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(redact(line) + "\n"));
}

function emit(level: LogLevel, message: string): void {
  if (ORDER[level] > threshold) return;
  const tag = level === "warn" ? "warning" : level;
  writeStderr(`${tag}: ${message}`);
}

export const log = {
  error: (m: string) => emit("error", m),
  warn: (m: string) => emit("warn", m),
  info: (m: string) => emit("info", m),
  debug: (m: string) => emit("debug", m),
  /** A warning printed at most once per process for the same key. */
  warnOnce: (key: string, m: string) => {
    if (onceKeys.has(key)) return;
    onceKeys.add(key);
    emit("warn", m);
  },
  setLevel: (level: LogLevel) => {
    threshold = ORDER[level];
  },
  enabled: (level: LogLevel) => ORDER[level] <= threshold,
};
