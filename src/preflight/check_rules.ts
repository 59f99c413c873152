// The pure rules of `rivet check`: strategy labels, verdicts, recommended profile and parallelism, config lints (preflight layer: reads database metadata, writes no data or state).
import type { ExportConfig, ProfileName } from "../config/config_types.ts";

export type Verdict = "EFFICIENT" | "ACCEPTABLE" | "DEGRADED" | "UNSAFE";

/** The column a strategy reads ranges of or orders by: cursor, chunk or time column. */
export function keyColumnOf(e: ExportConfig): string | null {
  switch (e.mode ?? "full") {
    case "incremental":
      return e.cursor_column ?? null;
    case "chunked":
      return e.chunk_by_key ?? e.chunk_column ?? null;
    case "time_window":
      return e.time_column ?? null;
    default:
      return null;
  }
}

/** Spec 2.4 `Strategy:` line, e.g. `chunked-parallel(id, size=100000, p=4)`. */
export function strategyLabel(e: ExportConfig, chunkColumn: string | null): string {
  const parallel = e.parallel ?? 1;
  switch (e.mode ?? "full") {
    case "incremental":
      return `incremental(${e.cursor_column ?? "?"})`;
    case "time_window":
      return `time-window(${e.time_column ?? "?"}, ${e.days_window ?? "?"}d)`;
    case "chunked": {
      const col = chunkColumn ?? "?";
      if (e.chunk_by_key) return `keyset(${e.chunk_by_key}, size=${e.chunk_size ?? 100_000})`;
      if (e.chunk_by_days !== undefined) {
        return parallel > 1
          ? `date-chunked-parallel(${col}, ${e.chunk_by_days}d, p=${parallel})`
          : `date-chunked(${col}, ${e.chunk_by_days}d)`;
      }
      const size = e.chunk_size ?? 100_000;
      return parallel > 1
        ? `chunked-parallel(${col}, size=${size}, p=${parallel})`
        : `chunked(${col}, size=${size})`;
    }
    default:
      return parallel > 1 ? `full-parallel(${parallel})` : "full-scan";
  }
}

/** Spec 2.4 `Mode:` line. */
export function modeDescription(e: ExportConfig, chunkColumn: string | null): string {
  switch (e.mode ?? "full") {
    case "incremental":
      return `incremental (cursor: ${e.cursor_column ?? "?"})`;
    case "chunked":
      return `chunked (column: ${chunkColumn ?? "?"}, size: ${e.chunk_size ?? 100_000})`;
    case "time_window":
      return `time_window (column: ${e.time_column ?? "?"}, days: ${e.days_window ?? "?"})`;
    default:
      return "full";
  }
}

/** `~950`, `~12K`, `~3M` (spec 2.4 `Row estimate:`). */
export function formatRowEstimate(rows: number): string {
  if (rows >= 1_000_000) return `~${Math.round(rows / 1_000_000)}M`;
  if (rows >= 1_000) return `~${Math.round(rows / 1_000)}K`;
  return `~${Math.round(rows)}`;
}

/** Spec 2.4 verdict table. */
export function verdictFor(indexUsed: boolean, hasCursor: boolean, rows: number): Verdict {
  if (indexUsed) {
    if (!hasCursor) return "ACCEPTABLE";
    return rows <= 10_000_000 ? "EFFICIENT" : "ACCEPTABLE";
  }
  if (rows <= 1_000_000) return "DEGRADED";
  if (hasCursor && rows <= 50_000_000) return "DEGRADED";
  return "UNSAFE";
}

/** Spec 2.4 recommended tuning profile. */
export function recommendedProfile(
  indexUsed: boolean,
  rows: number,
  parallel: number,
): ProfileName {
  if (indexUsed) {
    if (rows <= 1_000_000) return "fast";
    return rows <= 10_000_000 ? "balanced" : "safe";
  }
  if (rows <= 100_000) return parallel > 1 ? "safe" : "balanced";
  return rows <= 1_000_000 ? "balanced" : "safe";
}

export interface ParallelAdvice {
  readonly parallel: number;
  readonly reason: string;
}

/** Spec 2.4 recommended parallelism (chunked only; everything else reads on one connection). */
export function recommendedParallel(
  chunked: boolean,
  indexUsed: boolean,
  rows: number,
): ParallelAdvice {
  if (!chunked) return { parallel: 1, reason: "only chunked exports read in parallel" };
  if (rows < 50_000) return { parallel: 1, reason: "small table: one worker is enough" };
  if (!indexUsed && rows > 5_000_000) {
    return { parallel: 1, reason: "no index on the chunk column: each worker would scan it all" };
  }
  if (!indexUsed) return { parallel: 2, reason: "no index on the chunk column" };
  if (rows < 500_000) return { parallel: 2, reason: "indexed, under 500K rows" };
  if (rows < 5_000_000) return { parallel: 4, reason: "indexed, under 5M rows" };
  return { parallel: 4, reason: "indexed, large table (more workers add load, not speed)" };
}

/** The `parallel` vs `max_connections` lint; null when fine. */
export function parallelLint(parallel: number, maxConnections: number | null): string | null {
  if (parallel <= 1) return null;
  if (maxConnections === null) {
    return `parallel: ${parallel}: max_connections could not be read, check skipped`;
  }
  if (parallel >= maxConnections) {
    return `parallel: ${parallel} >= max_connections (${maxConnections}): use parallel: ${
      Math.max(1, maxConnections - 3)
    } or less`;
  }
  return null;
}

/**
 * The sparse-range lint for plain chunked exports: when rows/(max-min) < 0.1 and the range spans
 * more than 10 chunk windows, most windows return nothing. Null when it does not apply.
 */
export function sparseRangeLint(
  rows: number,
  min: string | null,
  max: string | null,
  chunkSize: number,
): string | null {
  if (min === null || max === null || !/^-?\d+$/.test(min) || !/^-?\d+$/.test(max)) return null;
  const span = Number(BigInt(max) - BigInt(min)) + 1;
  if (span <= 0 || rows <= 0) return null;
  const windows = Math.ceil(span / chunkSize);
  const density = rows / span;
  if (density >= 0.1 || windows <= 10) return null;
  const emptyPct = Math.round((1 - density) * 100);
  return `sparse chunk key: ${rows} rows over a range of ${span} (density ${
    density.toFixed(3)
  }): ~${emptyPct}% of chunk windows will be empty; consider chunk_dense: true or chunk_by_key`;
}

/** A simple `SELECT … FROM [schema.]table [alias] [WHERE …]` query's table, or null. */
export function singleTableOf(query: string): { schema: string | null; table: string } | null {
  const q = query.trim().replace(/;\s*$/, "");
  const m = /^select\s+[\s\S]+?\s+from\s+([\s\S]+)$/i.exec(q);
  if (!m?.[1]) return null;
  const from = m[1].split(/\s+(?:where|order\s+by|group\s+by|limit|having)\s/i)[0]!.trim();
  if (/[(),]|\bjoin\b/i.test(from)) return null;
  const parts =
    from.match(/"[^"]*"(?:\."[^"]*"|\.[^\s."]+)?|\x60[^\x60]*\x60(?:\.\x60[^\x60]*\x60)?|\S+/g) ??
      [];
  if (parts.length === 0 || parts.length > 3) return null;
  if (parts.length === 3 && !/^as$/i.test(parts[1]!)) return null;
  const name = parts[0]!;
  const ident = String.raw`(?:"[^"]+"|\x60[^\x60]+\x60|[A-Za-z_][A-Za-z0-9_$]*)`;
  const nm = new RegExp(`^(?:(${ident})\\.)?(${ident})$`).exec(name);
  if (!nm?.[2]) return null;
  const unquote = (s: string) => s.replace(/^["\x60]|["\x60]$/g, "");
  return { schema: nm[1] ? unquote(nm[1]) : null, table: unquote(nm[2]) };
}
