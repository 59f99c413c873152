// The heuristics of `rivet init`: per-table mode, cursor and chunk choices, the commented YAML and the --discover artifact (preflight layer: reads database metadata, writes no data or state; this file is pure).
import type { Dialect } from "../plan/sql_shapes.ts";
import { quoteIdent } from "../plan/sql_shapes.ts";
import type { ColumnInfo, TableInfo } from "./init_discover.ts";

const INTEGER_TYPES = new Set([
  "int",
  "integer",
  "bigint",
  "smallint",
  "tinyint",
  "mediumint",
  "int2",
  "int4",
  "int8",
  "serial",
  "bigserial",
  "smallserial",
  "serial2",
  "serial4",
  "serial8",
]);

export function isIntegerType(dataType: string): boolean {
  return INTEGER_TYPES.has(dataType.replace(/\s+unsigned$/, "").trim());
}

export function isTimestampType(dataType: string): boolean {
  return /timestamp|datetime|date/.test(dataType);
}

function isDecimalType(dataType: string): boolean {
  return dataType === "numeric" || dataType === "decimal";
}

function isWideType(dataType: string): boolean {
  return /text|char|json|bytea|blob|xml/.test(dataType);
}

export interface CursorCandidate {
  readonly column: string;
  readonly data_type: string;
  readonly is_nullable: boolean;
  readonly is_primary_key: boolean;
  readonly indexed: boolean;
  readonly score: number;
  readonly reasons: readonly string[];
}

export interface ChunkCandidate {
  readonly column: string;
  readonly data_type: string;
  readonly is_primary_key: boolean;
  readonly score: number;
}

/** Spec 2.6 cursor scoring; sorted by score, then indexed first, then name. */
export function cursorCandidates(t: TableInfo): CursorCandidate[] {
  const n = t.columns.length;
  const singlePk = t.primaryKey.length === 1 ? t.primaryKey[0] : undefined;
  const out: CursorCandidate[] = [];
  t.columns.forEach((c, idx) => {
    const reasons: string[] = [];
    let score = 0;
    const isPk = c.name === singlePk;
    if (isTimestampType(c.dataType)) {
      score += 40;
      reasons.push("timestamp_type");
    } else if (isPk && isIntegerType(c.dataType)) {
      score += 25;
      reasons.push("integer_monotonic", "primary_key");
    } else {
      return;
    }
    const lower = c.name.toLowerCase();
    if (lower === "updated_at" || lower === "modified_at") {
      score += 40;
      reasons.push("name_suggests_updated");
    } else if (lower === "created_at") {
      score += 20;
      reasons.push("name_suggests_created");
    }
    if (c.nullable) {
      score -= 10;
      reasons.push("nullable");
    }
    score += Math.max(0, Math.min(n - idx, 5));
    out.push({
      column: c.name,
      data_type: c.dataType,
      is_nullable: c.nullable,
      is_primary_key: isPk,
      indexed: t.indexedColumns.includes(c.name),
      score,
      reasons,
    });
  });
  return out.sort((a, b) =>
    b.score - a.score || Number(b.indexed) - Number(a.indexed) || a.column.localeCompare(b.column)
  );
}

/** Spec 2.6 chunk scoring: integer columns, 20 (+40 for the primary key). */
export function chunkCandidates(t: TableInfo): ChunkCandidate[] {
  const singlePk = t.primaryKey.length === 1 ? t.primaryKey[0] : undefined;
  return t.columns.filter((c) => isIntegerType(c.dataType)).map((c) => ({
    column: c.name,
    data_type: c.dataType,
    is_primary_key: c.name === singlePk,
    score: 20 + (c.name === singlePk ? 40 : 0),
  })).sort((a, b) => b.score - a.score);
}

function cursorTier(name: string): number {
  const lower = name.toLowerCase();
  if (lower === "updated_at" || lower === "modified_at") return 0;
  return lower === "created_at" ? 1 : 2;
}

/**
 * Best cursor: a timestamp column named updated_at/modified_at, else created_at, else the first
 * timestamp column; within a tier an indexed column wins.
 */
export function bestCursor(t: TableInfo): ColumnInfo | null {
  const ts = t.columns.map((c, i) => ({ c, i })).filter(({ c }) => isTimestampType(c.dataType));
  ts.sort((a, b) =>
    cursorTier(a.c.name) - cursorTier(b.c.name) ||
    Number(t.indexedColumns.includes(b.c.name)) - Number(t.indexedColumns.includes(a.c.name)) ||
    a.i - b.i
  );
  return ts[0]?.c ?? null;
}

/** Best chunk column: the integer primary key, else the first integer column. */
export function bestChunkColumn(t: TableInfo): ColumnInfo | null {
  if (t.primaryKey.length === 1) {
    const pk = t.columns.find((c) => c.name === t.primaryKey[0]);
    if (pk && isIntegerType(pk.dataType)) return pk;
  }
  return t.columns.find((c) => isIntegerType(c.dataType)) ?? null;
}

export function chunkSizeFor(rows: number): number {
  if (rows < 1_000_000) return 100_000;
  if (rows < 10_000_000) return 250_000;
  if (rows < 100_000_000) return 1_000_000;
  return 2_500_000;
}

export function parallelFor(rows: number): number {
  if (rows < 500_000) return 1;
  return rows < 5_000_000 ? 2 : 4;
}

export interface TableSuggestion {
  readonly table: TableInfo;
  readonly exportName: string;
  readonly mode: "full" | "incremental" | "chunked";
  readonly rationale: string;
  readonly cursor: string | null;
  readonly cursorFallback: string | null;
  readonly chunkColumn: string | null;
  readonly chunkSize: number | null;
  readonly parallel: number;
  /** `col -> decimal(p,s)`; `review` marks unbounded numerics given decimal(38,18). */
  readonly decimals: readonly { column: string; type: string; review: boolean }[];
  readonly rowGroupMb: number | null;
  readonly notes: readonly string[];
}

function rowsText(n: number): string {
  return n.toLocaleString("en-US");
}

/** Spec 2.6 suggestion for one table. */
export function suggestFor(t: TableInfo, dialect: Dialect): TableSuggestion {
  const rows = t.rowEstimate;
  const cursor = bestCursor(t);
  const chunk = bestChunkColumn(t);
  const notes: string[] = [];
  let mode: TableSuggestion["mode"] = "full";
  let rationale = `~${rowsText(rows)} rows (estimate): small enough to re-export in full each run`;
  if (rows > 100_000 && chunk) {
    mode = "chunked";
    rationale = `~${
      rowsText(rows)
    } rows (estimate): split into ranges of integer column '${chunk.name}'${
      t.primaryKey.length === 1 && t.primaryKey[0] === chunk.name ? " (primary key)" : ""
    }`;
  } else if (rows > 100_000 && cursor) {
    mode = "incremental";
    rationale =
      `~${rowsText(rows)} rows (estimate), no integer key to split on: export only rows ` +
      `whose '${cursor.name}' grew since the last run${
        t.indexedColumns.includes(cursor.name) ? " (indexed)" : " (not indexed: consider an index)"
      }`;
  } else if (rows > 100_000) {
    rationale = `~${rowsText(rows)} rows (estimate), but no integer key and no timestamp cursor: ` +
      "full export";
    notes.push("large table without an integer key or timestamp column: full export only");
  }
  if (t.primaryKey.length === 0 && t.kind === "table") notes.push("no primary key");
  if (t.kind === "view") notes.push("view: row estimate unavailable");
  let fallback: string | null = null;
  const top = cursorCandidates(t).find((c) => isTimestampType(c.data_type));
  if (top?.is_nullable) {
    fallback = t.columns.find((c) =>
      c.name !== top.column && isTimestampType(c.dataType) && !c.nullable
    )?.name ?? null;
  }
  const decimals: { column: string; type: string; review: boolean }[] = [];
  for (const c of t.columns) {
    if (!isDecimalType(c.dataType)) continue;
    if (c.precision !== null && c.scale !== null && c.precision >= 1 && c.precision <= 76) {
      decimals.push({ column: c.name, type: `decimal(${c.precision},${c.scale})`, review: false });
    } else {
      decimals.push({ column: c.name, type: "decimal(38,18)", review: true });
      notes.push(
        `column '${c.name}' is an unbounded ${c.dataType}: given decimal(38,18), review it`,
      );
    }
  }
  const wide = t.columns.filter((c) => isWideType(c.dataType)).length;
  const rowGroupMb = mode === "chunked" || rows > 100_000 ? (wide >= 5 ? 64 : 128) : null;
  const exportName = t.schema === "public" || dialect === "mysql"
    ? t.table
    : `${t.schema}_${t.table}`;
  return {
    table: t,
    exportName: exportName.replace(/[^A-Za-z0-9_.-]/g, "_"),
    mode,
    rationale,
    cursor: mode === "incremental" ? cursor?.name ?? null : null,
    cursorFallback: mode === "incremental" ? fallback : null,
    chunkColumn: mode === "chunked" ? chunk?.name ?? null : null,
    chunkSize: mode === "chunked" ? chunkSizeFor(rows) : null,
    parallel: mode === "chunked" ? parallelFor(rows) : 1,
    decimals,
    rowGroupMb,
    notes,
  };
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A YAML scalar: bare when safe, otherwise a JSON (double-quoted YAML) string. */
function y(s: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_./(),-]*$/.test(s) &&
      !/^(true|false|null|yes|no|on|off|~)$/i.test(s)
    ? s
    : JSON.stringify(s);
}

/** An identifier as SQL: bare when it is a plain lower-case name, quoted otherwise. */
function ident(name: string, dialect: Dialect): string {
  return PLAIN.test(name) && name === name.toLowerCase() && !RESERVED.has(name)
    ? name
    : quoteIdent(dialect, name);
}

/** Words that are common column names but reserved in PostgreSQL or MySQL. */
const RESERVED = new Set([
  "user",
  "order",
  "group",
  "select",
  "from",
  "where",
  "table",
  "key",
  "desc",
  "limit",
  "offset",
  "range",
  "rows",
  "window",
  "default",
  "check",
  "column",
  "primary",
  "references",
  "when",
  "end",
  "to",
  "index",
  "interval",
  "match",
  "read",
  "release",
  "values",
  "all",
  "analyse",
  "analyze",
  "and",
  "or",
  "not",
  "as",
  "case",
  "in",
  "is",
  "on",
  "using",
]);

function qualified(t: TableInfo, dialect: Dialect): string {
  const name = ident(t.table, dialect);
  if (dialect === "mysql" || t.schema === "public") return name;
  return `${ident(t.schema, dialect)}.${name}`;
}

function selectAll(t: TableInfo, dialect: Dialect): string {
  const cols = t.columns.map((c) => ident(c.name, dialect)).join(", ");
  return `SELECT ${cols} FROM ${qualified(t, dialect)}`;
}

export interface InitOptions {
  readonly dialect: Dialect;
  /** For the header: `database "x", schema "public"`. */
  readonly where: string;
  readonly generatedAt: Date;
}

/** The commented rivet.yaml for the suggestions. */
export function renderInitYaml(suggestions: readonly TableSuggestion[], o: InitOptions): string {
  const out: string[] = [
    `# rivet.yaml generated by \`rivet init\` from ${o.where} on ${o.generatedAt.toISOString()}.`,
    "# Row estimates come from planner statistics; review every export before the first run.",
    "# Then: rivet doctor -c rivet.yaml && rivet check -c rivet.yaml",
  ];
  if (suggestions.some((s) => s.decimals.some((d) => d.review))) {
    out.push(
      "# NOTE: some NUMERIC/DECIMAL columns have no declared precision; they are given",
      "# decimal(38,18) below (marked REVIEW). Widen or narrow them to fit your data.",
    );
  }
  out.push(
    "",
    "source:",
    `  type: ${o.dialect}`,
    "  url_env: DATABASE_URL # e.g. export DATABASE_URL=" +
      (o.dialect === "postgres"
        ? "postgres://user:password@host:5432/dbname"
        : "mysql://user:password@host:3306/dbname"),
    "",
    "exports:",
  );
  if (suggestions.length === 0) out.push("  []");
  for (const s of suggestions) {
    const t = s.table;
    out.push(
      `  # ${t.kind === "view" ? "view" : "table"} ${qualified(t, o.dialect)}: ~${
        rowsText(t.rowEstimate)
      } rows, ${t.columns.length} columns${
        t.primaryKey.length ? `, primary key (${t.primaryKey.join(", ")})` : ""
      }`,
    );
    for (const n of s.notes) out.push(`  # note: ${n}`);
    out.push(`  - name: ${y(s.exportName)}`);
    const simple = o.dialect === "postgres" && s.mode === "full" && t.kind === "table" &&
      PLAIN.test(t.table) && PLAIN.test(t.schema);
    if (simple) {
      out.push(`    table: ${t.schema === "public" ? t.table : `${t.schema}.${t.table}`}`);
    } else {
      out.push(`    query: ${JSON.stringify(selectAll(t, o.dialect))}`);
    }
    out.push(`    # ${s.rationale}`);
    out.push(`    mode: ${s.mode}`);
    if (s.mode === "incremental" && s.cursor) {
      out.push(`    cursor_column: ${y(s.cursor)}`);
      if (s.cursorFallback) {
        out.push(
          `    # '${s.cursor}' may be NULL; to read those rows too, use`,
          `    # incremental_cursor_mode: coalesce with cursor_fallback_column: ${s.cursorFallback}`,
        );
      }
    }
    if (s.mode === "chunked" && s.chunkColumn) {
      out.push(`    chunk_column: ${y(s.chunkColumn)}`);
      out.push(`    chunk_size: ${s.chunkSize}`);
      if (s.parallel > 1) out.push(`    parallel: ${s.parallel}`);
      out.push("    chunk_checkpoint: true");
    }
    out.push("    format: parquet");
    out.push("    meta_columns: { exported_at: true, row_hash: true }");
    if (s.rowGroupMb !== null) {
      out.push(`    parquet: { row_group_strategy: auto, target_row_group_mb: ${s.rowGroupMb} }`);
    }
    if (s.decimals.length > 0) {
      out.push("    columns:");
      for (const d of s.decimals) {
        out.push(
          `      ${y(d.column)}: ${y(d.type)}${
            d.review ? " # REVIEW: unbounded numeric in the catalog; pick a precision/scale" : ""
          }`,
        );
      }
    }
    out.push("    destination:", "      type: local", '      path: "./output/{export}"', "");
  }
  return out.join("\n").trimEnd() + "\n";
}

/** The `--discover` JSON artifact (spec 2.6). */
export function discoveryArtifact(
  suggestions: readonly TableSuggestion[],
  o: InitOptions,
): Record<string, unknown> {
  return {
    generated_at: o.generatedAt.toISOString(),
    source_type: o.dialect,
    tables: suggestions.map((s) => {
      const cursors = cursorCandidates(s.table);
      const top = cursors[0];
      let fallback: string | null = null;
      if (top?.is_nullable) {
        fallback = s.table.columns.find((c) =>
          c.name !== top.column && isTimestampType(c.dataType) && !c.nullable
        )?.name ?? null;
      }
      return {
        schema: s.table.schema,
        table: s.table.table,
        kind: s.table.kind,
        row_estimate: s.table.rowEstimate,
        total_bytes: s.table.totalBytes,
        suggested_mode: s.mode,
        cursor_candidates: cursors,
        suggested_cursor_fallback_column: fallback,
        chunk_candidates: chunkCandidates(s.table),
        notes: s.notes,
      };
    }),
  };
}
