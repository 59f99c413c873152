// SQL text for each strategy: identifier quoting, literals and the wrapped query shapes (planning layer, pure).
import type { CursorMode, TimeColumnType } from "../config/config_types.ts";

export type Dialect = "postgres" | "mysql";

/** Quotes an identifier: `"name"` on PostgreSQL, `` `name` `` on MySQL (embedded quotes doubled). */
export function quoteIdent(dialect: Dialect, name: string): string {
  return dialect === "postgres"
    ? `"${name.replaceAll('"', '""')}"`
    : `\`${name.replaceAll("`", "``")}\``;
}

/**
 * A string literal. PostgreSQL: `E'…'` with backslashes doubled and `'` escaped (works whatever
 * standard_conforming_strings says); MySQL: `'…'` with backslash escapes.
 */
export function quoteLiteral(dialect: Dialect, value: string): string {
  if (dialect === "postgres") {
    return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  }
  // deno-lint-ignore no-control-regex
  const escaped = value.replace(/[\0\n\r\x1a\\'"]/g, (c) => {
    switch (c) {
      case "\0":
        return "\\0";
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\x1a":
        return "\\Z";
      default:
        return "\\" + c;
    }
  });
  return `'${escaped}'`;
}

/** Name of the synthetic column carrying COALESCE(primary, fallback); removed before writing. */
export const COALESCED_CURSOR = "_rivet_coalesced_cursor";

export interface IncrementalShape {
  readonly cursorColumn: string;
  readonly fallbackColumn: string | null;
  readonly mode: CursorMode;
}

/**
 * The incremental query (spec 4.5, with the boundary fix): rows whose cursor is `>=` the stored
 * value, ordered by the cursor. Rows exactly at the stored value are read again so that rows
 * arriving later with an equal cursor are not lost; the pipeline drops the ones it has already
 * exported (by row hash). The column the pipeline tracks is the cursor column, or
 * `_rivet_coalesced_cursor` in coalesce mode.
 */
export function incrementalQuery(
  dialect: Dialect,
  base: string,
  shape: IncrementalShape,
  storedCursor: string | null,
): { sql: string; trackedColumn: string } {
  const q = (n: string) => quoteIdent(dialect, n);
  const p = q(shape.cursorColumn);
  if (shape.mode === "coalesce" && shape.fallbackColumn !== null) {
    const f = q(shape.fallbackColumn);
    const expr = `COALESCE(_rivet.${p}, _rivet.${f})`;
    const where = storedCursor === null
      ? ""
      : ` WHERE ${expr} >= ${quoteLiteral(dialect, storedCursor)}`;
    return {
      sql: `SELECT _rivet.*, ${expr} AS ${q(COALESCED_CURSOR)} FROM (${base}) AS _rivet${where} ` +
        `ORDER BY ${expr}, _rivet.${p}, _rivet.${f}`,
      trackedColumn: COALESCED_CURSOR,
    };
  }
  const where = storedCursor === null
    ? ""
    : ` WHERE ${p} >= ${quoteLiteral(dialect, storedCursor)}`;
  return {
    sql: `SELECT * FROM (${base}) AS _rivet${where} ORDER BY ${p}`,
    trackedColumn: shape.cursorColumn,
  };
}

/** Days since epoch → `YYYY-MM-DD`. */
function civilDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The time-window query (spec 4.6): rows at or after midnight UTC of the day `days` days before
 * `now`. `unix` compares epoch seconds.
 */
export function timeWindowQuery(
  dialect: Dialect,
  base: string,
  column: string,
  type: TimeColumnType,
  days: number,
  now: Date,
): { sql: string; cutoff: string } {
  const dayNumber = Math.floor(now.getTime() / 86_400_000) - days;
  const col = quoteIdent(dialect, column);
  if (type === "unix") {
    const epoch = dayNumber * 86_400;
    return {
      sql: `SELECT * FROM (${base}) AS _rivet WHERE ${col} >= ${epoch}`,
      cutoff: String(epoch),
    };
  }
  const cutoff = `${civilDate(dayNumber)} 00:00:00`;
  return {
    sql: `SELECT * FROM (${base}) AS _rivet WHERE ${col} >= '${cutoff}'`,
    cutoff,
  };
}
