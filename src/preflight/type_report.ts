// Per-column type fidelity report for `rivet check --type-report` from a LIMIT 0 probe (preflight layer: reads database metadata, writes no data or state).
import type { Source } from "../source/source.ts";
import {
  arrowTypeOf,
  type ColumnSpec,
  type RivetType,
  rivetTypeLabel,
} from "../source/rivet_types.ts";
import { unsupportedReason } from "../format/csv/csv_cells.ts";
import { probeColumns } from "./source_rows.ts";

export interface TypeReportRow {
  readonly column: string;
  readonly source_type: string;
  readonly rivet_type: string;
  readonly arrow_type: string;
  readonly fidelity: string;
  /** Why `format: csv` cannot write this column; absent when it can (or the format is Parquet). */
  readonly csv_problem?: string;
}

/** A readable Arrow type: `Decimal128(12, 2)`, `Timestamp(us, UTC)`, `Utf8`, `List<Int32>`. */
export function arrowTypeLabel(t: RivetType): string {
  switch (t.kind) {
    case "decimal":
      return `Decimal${t.precision <= 38 ? 128 : 256}(${t.precision}, ${t.scale})`;
    case "timestamp":
      return "Timestamp(us)";
    case "timestamp_tz":
      return "Timestamp(us, UTC)";
    case "time":
      return "Time64(us)";
    case "date":
      return "Date32";
    case "list":
      return `List<${arrowTypeLabel(t.item)}>`;
    default:
      return String(arrowTypeOf(t));
  }
}

/** The report rows of probed columns (pure). */
export function typeReportRows(
  columns: readonly ColumnSpec[],
  format: "parquet" | "csv",
): TypeReportRow[] {
  return columns.map((c) => {
    const arrowType = arrowTypeOf(c.type);
    const csvProblem = format === "csv" ? unsupportedReason(arrowType) : undefined;
    return {
      column: c.name,
      source_type: c.nativeType,
      rivet_type: rivetTypeLabel(c.type),
      arrow_type: arrowTypeLabel(c.type),
      fidelity: c.fidelity,
      ...(csvProblem === undefined ? {} : { csv_problem: csvProblem }),
    };
  });
}

/** Whether `--strict` must fail on a row: lossy or unsupported, or not writable as CSV. */
export function isStrictFailure(row: TypeReportRow): boolean {
  return row.fidelity === "lossy" || row.fidelity === "unsupported" ||
    row.csv_problem !== undefined;
}

/** Probes the query's columns on the source and builds the report. */
export async function typeReport(
  source: Source,
  baseQuery: string,
  overrides: Readonly<Record<string, RivetType>>,
  format: "parquet" | "csv",
): Promise<TypeReportRow[]> {
  return typeReportRows(await probeColumns(source, baseQuery, overrides), format);
}

/** The report as an aligned text table (marker ` ✗` on strict failures). */
export function renderTypeReport(rows: readonly TypeReportRow[]): string[] {
  const header = ["Column", "Source type", "Rivet type", "Arrow type", "Fidelity"];
  const cells = rows.map((r) => [
    r.column,
    r.source_type,
    r.rivet_type,
    r.arrow_type,
    r.fidelity + (isStrictFailure(r) ? " ✗" : "") +
    (r.csv_problem ? ` (csv: ${r.csv_problem})` : ""),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    "    " + c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join("  ");
  return [line(header), "    " + widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)];
}
