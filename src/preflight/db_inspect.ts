// Dialect-specific metadata reads for `rivet check`: EXPLAIN, index catalogs, limits, pooler detection (preflight layer: reads database metadata, writes no data or state).
import type { Source } from "../source/source.ts";
import { type Dialect, quoteIdent, quoteLiteral } from "../plan/sql_shapes.ts";
import { queryRows } from "./source_rows.ts";

/** What EXPLAIN says about reading a query. */
export interface ExplainInfo {
  /** Planner row estimate of the top line, or null when the plan has none. */
  readonly rows: number | null;
  /** The scan of the base relation, e.g. `Seq Scan`, `Index Scan`, `ALL`, `range`. */
  readonly scan: string | null;
  /** Whether the plan reads through an index. */
  readonly indexUsed: boolean;
}

/** A table reference as written in a query. */
export interface TableRef {
  readonly schema: string | null;
  readonly table: string;
}

/** The metadata reads `check` needs, implemented per database. */
export interface DbInspector {
  readonly dialect: Dialect;
  explain(query: string): Promise<ExplainInfo>;
  /** Whether a valid btree index has `column` as its first key; null when it cannot be read. */
  columnIndexed(table: TableRef, column: string): Promise<boolean | null>;
  /** The single-column integer primary key of a table, or null. */
  integerPrimaryKey(table: TableRef): Promise<string | null>;
  maxConnections(): Promise<number | null>;
  /** A warning when a connection pooler or proxy sits between Rivet and the server. */
  poolerWarning(): Promise<string | null>;
}

/** A column reference for SQL: quoted when it is a plain name, as written otherwise. */
export function columnSql(dialect: Dialect, column: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(column) ? quoteIdent(dialect, column) : column;
}

/** `min(col)` and `max(col)` of a query, as text. */
export async function columnRange(
  source: Source,
  dialect: Dialect,
  query: string,
  column: string,
): Promise<{ min: string | null; max: string | null }> {
  const col = columnSql(dialect, column);
  const from = `FROM (${query}) AS _rivet_range`;
  const min = await source.scalar(`SELECT min(${col}) ${from}`);
  const max = await source.scalar(`SELECT max(${col}) ${from}`);
  return { min, max };
}

interface PgPlanNode {
  readonly "Node Type"?: string;
  readonly "Plan Rows"?: number;
  readonly Plans?: readonly PgPlanNode[];
}

/** The first scan node of a PG plan, depth-first. */
function firstScan(node: PgPlanNode): string | null {
  const t = node["Node Type"] ?? "";
  if (/Scan$/.test(t)) return t;
  for (const child of node.Plans ?? []) {
    const s = firstScan(child);
    if (s !== null) return s;
  }
  return null;
}

function anyIndexScan(node: PgPlanNode): boolean {
  if (/Index/.test(node["Node Type"] ?? "")) return true;
  return (node.Plans ?? []).some(anyIndexScan);
}

/** Parses `EXPLAIN (FORMAT JSON)` output. */
export function parsePgExplain(json: string): ExplainInfo {
  const parsed = JSON.parse(json) as readonly { Plan?: PgPlanNode }[];
  const plan = parsed[0]?.Plan;
  if (!plan) return { rows: null, scan: null, indexUsed: false };
  return {
    rows: typeof plan["Plan Rows"] === "number" ? plan["Plan Rows"] : null,
    scan: firstScan(plan),
    indexUsed: anyIndexScan(plan),
  };
}

export class PgInspector implements DbInspector {
  readonly dialect = "postgres" as const;
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  async explain(query: string): Promise<ExplainInfo> {
    const text = await this.#source.scalar(`EXPLAIN (FORMAT JSON) ${query}`);
    return text === null ? { rows: null, scan: null, indexUsed: false } : parsePgExplain(text);
  }

  #regclass(t: TableRef): string {
    const name = t.schema === null
      ? quoteIdent("postgres", t.table)
      : `${quoteIdent("postgres", t.schema)}.${quoteIdent("postgres", t.table)}`;
    return `(${quoteLiteral("postgres", name)}::text)::regclass`;
  }

  async columnIndexed(t: TableRef, column: string): Promise<boolean | null> {
    try {
      const n = await this.#source.scalar(
        `SELECT count(*) FROM pg_index i
           JOIN pg_class ic ON ic.oid = i.indexrelid
           JOIN pg_am am ON am.oid = ic.relam
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
          WHERE i.indrelid = ${this.#regclass(t)} AND i.indisvalid AND am.amname = 'btree'
            AND a.attname = ${quoteLiteral("postgres", column)}`,
      );
      return Number(n ?? 0) > 0;
    } catch {
      return null;
    }
  }

  async integerPrimaryKey(t: TableRef): Promise<string | null> {
    const rows = await queryRows(
      this.#source,
      `SELECT a.attname::text AS col, format_type(a.atttypid, NULL)::text AS type
         FROM pg_index i JOIN pg_attribute a
           ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = ${this.#regclass(t)} AND i.indisprimary`,
    );
    if (rows.length !== 1) return null;
    const r = rows[0]!;
    return /^(smallint|integer|bigint)$/.test(r.type ?? "") ? r.col ?? null : null;
  }

  async maxConnections(): Promise<number | null> {
    try {
      const v = Number(await this.#source.scalar("SHOW max_connections"));
      return Number.isFinite(v) && v > 0 ? v : null;
    } catch {
      return null;
    }
  }

  poolerWarning(): Promise<string | null> {
    const detected = (this.#source as { poolerDetected?: boolean }).poolerDetected === true;
    return Promise.resolve(
      detected
        ? "connection pooler detected: two pg_backend_pid() calls returned different backends " +
          "(transaction-mode pooling, e.g. PgBouncer). Exports run in one transaction each, which " +
          "is safe; connect directly or use session pooling for chunk checkpoints and long reads"
        : null,
    );
  }
}

export class MysqlInspector implements DbInspector {
  readonly dialect = "mysql" as const;
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  async explain(query: string): Promise<ExplainInfo> {
    const rows = await queryRows(this.#source, `EXPLAIN ${query}`);
    const first = rows[0];
    if (!first) return { rows: null, scan: null, indexUsed: false };
    const n = first.rows === null || first.rows === undefined ? null : Number(first.rows);
    const key = first.key ?? null;
    const type = first.type ?? null;
    return {
      rows: n,
      scan: type === null ? null : key ? `${type} (key ${key})` : type,
      indexUsed: key !== null && key !== "",
    };
  }

  #schemaSql(t: TableRef): string {
    return t.schema === null ? "DATABASE()" : quoteLiteral("mysql", t.schema);
  }

  async columnIndexed(t: TableRef, column: string): Promise<boolean | null> {
    try {
      const n = await this.#source.scalar(
        `SELECT COUNT(*) FROM information_schema.STATISTICS
          WHERE TABLE_SCHEMA = ${this.#schemaSql(t)} AND TABLE_NAME = ${
          quoteLiteral("mysql", t.table)
        }
            AND COLUMN_NAME = ${quoteLiteral("mysql", column)} AND SEQ_IN_INDEX = 1
            AND INDEX_TYPE = 'BTREE'`,
      );
      return Number(n ?? 0) > 0;
    } catch {
      return null;
    }
  }

  async integerPrimaryKey(t: TableRef): Promise<string | null> {
    const rows = await queryRows(
      this.#source,
      `SELECT s.COLUMN_NAME AS col, c.DATA_TYPE AS type
         FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c
           ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME
          AND c.COLUMN_NAME = s.COLUMN_NAME
        WHERE s.TABLE_SCHEMA = ${this.#schemaSql(t)} AND s.TABLE_NAME = ${
        quoteLiteral("mysql", t.table)
      } AND s.INDEX_NAME = 'PRIMARY'`,
    );
    if (rows.length !== 1) return null;
    const r = rows[0]!;
    return /^(tinyint|smallint|mediumint|int|bigint)$/i.test(r.type ?? "") ? r.col ?? null : null;
  }

  async maxConnections(): Promise<number | null> {
    try {
      const v = Number(await this.#source.scalar("SELECT @@max_connections"));
      return Number.isFinite(v) && v > 0 ? v : null;
    } catch {
      return null;
    }
  }

  async poolerWarning(): Promise<string | null> {
    const comment = (await this.#source.scalar("SELECT @@version_comment").catch(() => null)) ??
      "";
    if (/proxysql/i.test(comment)) {
      return "ProxySQL detected (@@version_comment): connection multiplexing can move a session " +
        "between backends; disable multiplexing for the export user or connect directly";
    }
    if (/maxscale/i.test(comment)) {
      return "MaxScale detected (@@version_comment): make sure reads are routed to one server " +
        "for the whole export, or connect directly";
    }
    const a = await this.#source.scalar("SELECT CONNECTION_ID()").catch(() => null);
    const b = await this.#source.scalar("SELECT CONNECTION_ID()").catch(() => null);
    if (a !== null && b !== null && a !== b) {
      return `connection multiplexing detected: CONNECTION_ID() changed between two queries (${a} -> ${b}); ` +
        "connect directly or pin the session";
    }
    return null;
  }
}

export function inspectorFor(dialect: Dialect, source: Source): DbInspector {
  return dialect === "postgres" ? new PgInspector(source) : new MysqlInspector(source);
}
