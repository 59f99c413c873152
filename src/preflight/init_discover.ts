// Catalog introspection for `rivet init`: tables and views, columns, primary keys, indexes, row estimates (preflight layer: reads database metadata, writes no data or state).
import type { Source } from "../source/source.ts";
import { type Dialect, quoteLiteral } from "../plan/sql_shapes.ts";
import { queryRows, type TextRow } from "./source_rows.ts";

export interface ColumnInfo {
  readonly name: string;
  /** Lower-case catalog type: `integer`, `timestamp with time zone`, `numeric`, `datetime`, ... */
  readonly dataType: string;
  readonly nullable: boolean;
  readonly precision: number | null;
  readonly scale: number | null;
}

export interface TableInfo {
  readonly schema: string;
  readonly table: string;
  readonly kind: "table" | "view";
  /** Planner estimate (PG reltuples, MySQL TABLE_ROWS); 0 when unknown. */
  readonly rowEstimate: number;
  readonly totalBytes: number;
  /** In ordinal order. */
  readonly columns: readonly ColumnInfo[];
  readonly primaryKey: readonly string[];
  /** Columns that are the first key of some index. */
  readonly indexedColumns: readonly string[];
}

export interface DiscoverScope {
  /** PG schema (default `public`) or MySQL database (default: the URL's database). */
  readonly schema: string | null;
  /** One table (`name` or `schema.name`), or null for all. */
  readonly table: string | null;
}

const num = (v: string | null | undefined): number | null =>
  v === null || v === undefined || v === "" ? null : Number(v);

function group(rows: readonly TextRow[], key: string): Map<string, TextRow[]> {
  const out = new Map<string, TextRow[]>();
  for (const r of rows) {
    const k = r[key] ?? "";
    const list = out.get(k) ?? [];
    list.push(r);
    out.set(k, list);
  }
  return out;
}

function assemble(
  schema: string,
  tables: readonly TextRow[],
  columns: readonly TextRow[],
  pks: readonly TextRow[],
  indexes: readonly TextRow[],
): TableInfo[] {
  const colsBy = group(columns, "tbl");
  const pkBy = group(pks, "tbl");
  const idxBy = group(indexes, "tbl");
  return tables.map((t) => {
    const name = t.name ?? "";
    return {
      schema,
      table: name,
      kind: t.kind === "view" ? "view" : "table",
      rowEstimate: Math.max(0, num(t.row_est) ?? 0),
      totalBytes: Math.max(0, num(t.bytes) ?? 0),
      columns: (colsBy.get(name) ?? []).map((c) => ({
        name: c.col ?? "",
        dataType: (c.data_type ?? "").toLowerCase(),
        nullable: c.nullable === "YES",
        precision: num(c.prec),
        scale: num(c.scale),
      })),
      primaryKey: (pkBy.get(name) ?? []).map((r) => r.col ?? ""),
      indexedColumns: [...new Set((idxBy.get(name) ?? []).map((r) => r.col ?? ""))],
    };
  });
}

function splitTable(
  scope: DiscoverScope,
  fallbackSchema: string,
): { schema: string; table: string | null } {
  if (scope.table !== null && scope.table.includes(".")) {
    const [s, t] = scope.table.split(".", 2) as [string, string];
    return { schema: s, table: t };
  }
  return { schema: scope.schema ?? fallbackSchema, table: scope.table };
}

async function discoverPg(source: Source, scope: DiscoverScope): Promise<TableInfo[]> {
  const { schema, table } = splitTable(scope, "public");
  const s = quoteLiteral("postgres", schema);
  const onlyTable = table === null ? "" : ` AND c.relname = ${quoteLiteral("postgres", table)}`;
  const tables = await queryRows(
    source,
    `SELECT c.relname::text AS name,
            CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END AS kind,
            greatest(c.reltuples, 0)::bigint::text AS row_est,
            pg_total_relation_size(c.oid)::text AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ${s} AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition${onlyTable}
      ORDER BY c.relname`,
  );
  const columns = await queryRows(
    source,
    `SELECT c.relname::text AS tbl, a.attname::text AS col,
            CASE WHEN t.typname IN ('int2', 'int4', 'int8', 'numeric', 'timestamp', 'timestamptz', 'date')
                 THEN format_type(a.atttypid, NULL) ELSE t.typname::text END AS data_type,
            CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS nullable,
            CASE WHEN t.typname = 'numeric' AND a.atttypmod > 0
                 THEN (((a.atttypmod - 4) >> 16) & 65535)::text END AS prec,
            CASE WHEN t.typname = 'numeric' AND a.atttypmod > 0
                 THEN ((a.atttypmod - 4) & 65535)::text END AS scale
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
      WHERE n.nspname = ${s} AND a.attnum > 0 AND NOT a.attisdropped${onlyTable}
      ORDER BY c.relname, a.attnum`,
  );
  const pks = await queryRows(
    source,
    `SELECT c.relname::text AS tbl, a.attname::text AS col
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indisprimary AND n.nspname = ${s}${onlyTable}
      ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)`,
  );
  const indexes = await queryRows(
    source,
    `SELECT c.relname::text AS tbl, a.attname::text AS col
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indisvalid AND n.nspname = ${s}${onlyTable}`,
  );
  return assemble(schema, tables, columns, pks, indexes);
}

async function discoverMysql(source: Source, scope: DiscoverScope): Promise<TableInfo[]> {
  const current = (await source.scalar("SELECT DATABASE()")) ?? "";
  const { schema, table } = splitTable(scope, current);
  const s = quoteLiteral("mysql", schema);
  const only = (col: string) =>
    table === null ? "" : ` AND ${col} = ${quoteLiteral("mysql", table)}`;
  const tables = await queryRows(
    source,
    `SELECT TABLE_NAME AS name,
            CASE WHEN TABLE_TYPE = 'VIEW' THEN 'view' ELSE 'table' END AS kind,
            CAST(COALESCE(TABLE_ROWS, 0) AS CHAR) AS row_est,
            CAST(COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) AS CHAR) AS bytes
       FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = ${s}${only("TABLE_NAME")}
      ORDER BY TABLE_NAME`,
  );
  const columns = await queryRows(
    source,
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS col, DATA_TYPE AS data_type,
            IS_NULLABLE AS nullable,
            CAST(NUMERIC_PRECISION AS CHAR) AS prec, CAST(NUMERIC_SCALE AS CHAR) AS scale
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ${s}${only("TABLE_NAME")}
      ORDER BY TABLE_NAME, ORDINAL_POSITION`,
  );
  const stats = await queryRows(
    source,
    `SELECT TABLE_NAME AS tbl, INDEX_NAME AS idx, COLUMN_NAME AS col,
            CAST(SEQ_IN_INDEX AS CHAR) AS seq
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ${s}${only("TABLE_NAME")}
      ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
  );
  const pks = stats.filter((r) => r.idx === "PRIMARY");
  const indexes = stats.filter((r) => r.seq === "1");
  return assemble(schema, tables, columns, pks, indexes);
}

/** Reads the catalog of the tables and views in scope. */
export async function discoverTables(
  source: Source,
  dialect: Dialect,
  scope: DiscoverScope,
): Promise<TableInfo[]> {
  return dialect === "postgres"
    ? await discoverPg(source, scope)
    : await discoverMysql(source, scope);
}
