// Reads small metadata result sets and LIMIT 0 column probes through a Source (preflight layer: reads database metadata, writes no data or state).
import type { ReadRequest, Source } from "../source/source.ts";
import type { ColumnSpec, RivetType } from "../source/rivet_types.ts";

/** A metadata row: every cell as text (NULL stays null). */
export type TextRow = Readonly<Record<string, string | null>>;

function request(query: string, overrides: Readonly<Record<string, RivetType>> = {}): ReadRequest {
  return {
    query,
    batchSize: 1000,
    statementTimeoutS: 60,
    lockTimeoutS: 5,
    throttleMs: 0,
    columnOverrides: overrides,
    maxValueBytes: 0,
  };
}

function cellText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/**
 * Runs a catalog query through `Source.query` and returns its rows with every cell as text.
 * Meant for small results (catalog listings); write the SQL so that it casts values to text.
 */
export async function queryRows(source: Source, sql: string): Promise<TextRow[]> {
  const result = await source.query(request(sql));
  const names = result.columns.map((c) => c.name);
  const rows: TextRow[] = [];
  const reader = result.batches.getReader();
  try {
    for (;;) {
      const { done, value: batch } = await reader.read();
      if (done) break;
      const children = names.map((_, j) => batch.getChildAt(j));
      for (let i = 0; i < batch.numRows; i++) {
        const row: Record<string, string | null> = {};
        names.forEach((n, j) => {
          row[n] = cellText(children[j]?.get(i));
        });
        rows.push(row);
      }
    }
  } finally {
    reader.releaseLock();
  }
  return rows;
}

/**
 * The columns a query produces, as the source maps them (with `columns:` overrides applied),
 * from `SELECT * FROM (<q>) AS _rivet_type_probe LIMIT 0`. No row is read.
 */
export async function probeColumns(
  source: Source,
  baseQuery: string,
  overrides: Readonly<Record<string, RivetType>>,
): Promise<readonly ColumnSpec[]> {
  const sql = `SELECT * FROM (${baseQuery}) AS _rivet_type_probe LIMIT 0`;
  const result = await source.query(request(sql, overrides));
  // Drain (LIMIT 0 yields no batch) so the source has closed its cursor before the next call.
  const reader = result.batches.getReader();
  while (!(await reader.read()).done) { /* no rows expected */ }
  reader.releaseLock();
  return result.columns;
}
