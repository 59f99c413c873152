// Preflight analysis of one export for `rivet check`: strategy, row estimate, index use, verdict, advice, lints (preflight layer: reads database metadata, writes no data or state).
import type { ExportConfig, LoadedConfig } from "../config/config_types.ts";
import { parseColumnOverride } from "../config/column_types.ts";
import { baseQueryOf } from "../plan/build_plan.ts";
import type { Source } from "../source/source.ts";
import type { RivetType } from "../source/rivet_types.ts";
import { describeError } from "../errors.ts";
import {
  formatRowEstimate,
  keyColumnOf,
  modeDescription,
  type ParallelAdvice,
  parallelLint,
  recommendedParallel,
  recommendedProfile,
  singleTableOf,
  sparseRangeLint,
  strategyLabel,
  type Verdict,
  verdictFor,
} from "./check_rules.ts";
import { columnRange, columnSql, type DbInspector, type TableRef } from "./db_inspect.ts";
import { renderTypeReport, typeReport, type TypeReportRow } from "./type_report.ts";

export interface ExportCheck {
  readonly export: string;
  readonly strategy: string;
  readonly mode: string;
  readonly row_estimate: number | null;
  readonly cursor_column: string | null;
  readonly cursor_range: { readonly min: string | null; readonly max: string | null } | null;
  readonly scan_type: string | null;
  readonly indexed: boolean;
  readonly verdict: Verdict;
  readonly recommended_profile: string;
  readonly recommended_parallel: ParallelAdvice;
  readonly warnings: readonly string[];
  readonly suggestions: readonly string[];
  /** Present with `--type-report` (or `--strict` / `--json`). */
  readonly types?: readonly TypeReportRow[];
  /** Set when the export could not be analysed; the other fields are then placeholders. */
  readonly error?: string;
}

export interface CheckContext {
  readonly loaded: LoadedConfig;
  readonly source: Source;
  readonly inspector: DbInspector;
  /** From the server, read once per run (null when unreadable). */
  readonly maxConnections: number | null;
  readonly typeReport: boolean;
}

function tableRefOf(e: ExportConfig, base: string): TableRef | null {
  if (e.table) {
    const parts = e.table.split(".");
    return parts.length === 2
      ? { schema: parts[0]!, table: parts[1]! }
      : { schema: null, table: parts[0]! };
  }
  return singleTableOf(base);
}

function overridesOf(e: ExportConfig): Record<string, RivetType> {
  const out: Record<string, RivetType> = {};
  for (const [col, text] of Object.entries(e.columns ?? {})) out[col] = parseColumnOverride(text);
  return out;
}

/** Analyses one export; never throws for database errors (they land in `error`). */
export async function checkExport(ctx: CheckContext, e: ExportConfig): Promise<ExportCheck> {
  const dialect = ctx.inspector.dialect;
  const base = baseQueryOf(e, ctx.loaded.queryFiles);
  const mode = e.mode ?? "full";
  let key = keyColumnOf(e);
  const table = tableRefOf(e, base);
  const warnings: string[] = [];
  const suggestions: string[] = [];
  try {
    if (mode === "chunked" && key === null && table !== null) {
      key = await ctx.inspector.integerPrimaryKey(table);
      if (key !== null) {
        warnings.push(
          `chunk_column not set: auto-resolved to '${key}' (integer primary key). Set chunk_column: explicitly`,
        );
      }
    }
    const explainSql = mode === "incremental" && key !== null
      ? `SELECT * FROM (${base}) AS _rivet_check ORDER BY ${columnSql(dialect, key)}`
      : base;
    const plan = await ctx.inspector.explain(explainSql);
    const rows = plan.rows ?? 0;
    const catalogIndexed = key !== null && table !== null
      ? await ctx.inspector.columnIndexed(table, key)
      : null;
    const indexed = plan.indexUsed || catalogIndexed === true;
    const range = key === null ? null : await columnRange(ctx.source, dialect, base, key);
    const parallel = e.parallel ?? 1;
    const verdict = verdictFor(indexed, key !== null, rows);

    const connLint = parallelLint(parallel, ctx.maxConnections);
    if (connLint) warnings.push(connLint);
    if (mode === "chunked" && !e.chunk_dense && e.chunk_by_days === undefined && !e.chunk_by_key) {
      const sparse = sparseRangeLint(
        rows,
        range?.min ?? null,
        range?.max ?? null,
        e.chunk_size ?? 100_000,
      );
      if (sparse) warnings.push(sparse);
    }
    if (e.chunk_dense || /\bROW_NUMBER\s*\(/i.test(base)) {
      warnings.push(
        "dense chunking numbers every row with ROW_NUMBER(): each chunk query sorts the whole " +
          "result on the server; prefer a plain chunk_column or chunk_by_key",
      );
    }
    if (parallel > 1 && rows > 5_000_000) {
      warnings.push(
        `parallel: ${parallel} over ~${formatRowEstimate(rows).slice(1)} rows: each worker holds ` +
          "a batch in memory; watch memory or lower tuning.batch_size",
      );
    }
    if (key !== null && !indexed) {
      const where = table === null
        ? "the queried table"
        : (table.schema ? `${table.schema}.` : "") + table.table;
      suggestions.push(
        `no index starts with '${key}': CREATE INDEX ON ${where} (${key}) so ${
          mode === "incremental" ? "each run reads only new rows" : "each range is an index range"
        }`,
      );
    }
    const types = ctx.typeReport
      ? await typeReport(ctx.source, base, overridesOf(e), e.format)
      : undefined;
    return {
      export: e.name,
      strategy: strategyLabel(e, key),
      mode: modeDescription(e, key),
      row_estimate: plan.rows,
      cursor_column: key,
      cursor_range: range,
      scan_type: plan.scan,
      indexed,
      verdict,
      recommended_profile: recommendedProfile(indexed, rows, parallel),
      recommended_parallel: recommendedParallel(mode === "chunked", indexed, rows),
      warnings,
      suggestions,
      ...(types === undefined ? {} : { types }),
    };
  } catch (err) {
    return {
      export: e.name,
      strategy: strategyLabel(e, key),
      mode: modeDescription(e, key),
      row_estimate: null,
      cursor_column: key,
      cursor_range: null,
      scan_type: null,
      indexed: false,
      verdict: "UNSAFE",
      recommended_profile: "safe",
      recommended_parallel: { parallel: 1, reason: "analysis failed" },
      warnings,
      suggestions,
      error: describeError(err),
    };
  }
}

/** The human report of one export (spec 2.4 layout). */
export function renderExportCheck(c: ExportCheck): string[] {
  const lines = [`Export: ${c.export}`];
  const add = (label: string, value: string) => lines.push(`  ${(label + ":").padEnd(14)}${value}`);
  add("Strategy", c.strategy);
  add("Mode", c.mode);
  if (c.error !== undefined) {
    add("Error", c.error);
    return lines;
  }
  add("Row estimate", c.row_estimate === null ? "unknown" : formatRowEstimate(c.row_estimate));
  if (c.cursor_column !== null) {
    add("Cursor range", `${c.cursor_range?.min ?? "NULL"} .. ${c.cursor_range?.max ?? "NULL"}`);
    add("Cursor col", c.cursor_column);
  }
  add("Scan type", `${c.scan_type ?? "unknown"}${c.indexed ? " (indexed)" : ""}`);
  add("Verdict", c.verdict);
  add("Recommended", `tuning.profile: ${c.recommended_profile}`);
  const p = c.recommended_parallel;
  add(
    "Recommended",
    p.parallel > 1 ? `parallel: ${p.parallel} (${p.reason})` : `Parallelism: 1 (${p.reason})`,
  );
  for (const w of c.warnings) add("Warning", w);
  for (const s of c.suggestions) add("Suggestion", s);
  if (c.types !== undefined) {
    lines.push("  Types:");
    lines.push(...renderTypeReport(c.types));
  }
  return lines;
}
