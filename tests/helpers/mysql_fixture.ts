// Test helpers for MySQL source tests: a raw driver connection for setup and as the oracle, Parquet and DuckDB read-back (execution layer, tests only).
import mysql from "mysql2";
import type * as arrow from "apache-arrow";
import { DuckDBInstance } from "@duckdb/node-api";
import { ParquetFormat } from "../../src/format/parquet/parquet_format.ts";
import type { QueryResult, ReadRequest } from "../../src/source/source.ts";

export const MYSQL_URL = Deno.env.get("RIVET_TEST_MYSQL_URL") ??
  "mysql://root@127.0.0.1:3306/test";

/** A ReadRequest with test defaults. */
export function readRequest(query: string, over: Partial<ReadRequest> = {}): ReadRequest {
  return {
    query,
    batchSize: 10_000,
    statementTimeoutS: 0,
    lockTimeoutS: 0,
    throttleMs: 0,
    columnOverrides: {},
    maxValueBytes: 0,
    ...over,
  };
}

type Row = (string | null)[];
interface RawConn {
  query(
    opts: { sql: string; rowsAsArray: true; typeCast: false },
    cb: (err: Error | null, rows: (Uint8Array | null)[][] | object) => void,
  ): void;
  end(cb: () => void): void;
}

/** A plain mysql2 connection (UTC session) for DDL and for reading the server's own text renderings. */
export class RawMysql {
  private constructor(private readonly conn: RawConn) {}

  static async open(): Promise<RawMysql> {
    const u = new URL(MYSQL_URL);
    const conn = mysql.createConnection({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: u.pathname.slice(1),
      charset: "utf8mb4",
    }) as unknown as RawConn;
    const raw = new RawMysql(conn);
    await raw.exec("SET time_zone = '+00:00'");
    return raw;
  }

  /** Runs SQL; returns rows with every cell as UTF-8 text (null for NULL). */
  exec(sql: string): Promise<Row[]> {
    return new Promise((resolve, reject) => {
      this.conn.query({ sql, rowsAsArray: true, typeCast: false }, (err, rows) => {
        if (err) return reject(err);
        if (!Array.isArray(rows)) return resolve([]);
        const dec = new TextDecoder();
        resolve(
          rows.map((r) => r.map((c: Uint8Array | null) => (c === null ? null : dec.decode(c)))),
        );
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.conn.end(() => resolve()));
  }
}

/** Reads every batch of a query result. */
export async function readBatches(result: QueryResult): Promise<arrow.RecordBatch[]> {
  const out: arrow.RecordBatch[] = [];
  for await (const b of result.batches) out.push(b);
  return out;
}

/** Encodes a query result to Parquet bytes with the project's ParquetFormat. */
export async function toParquet(result: QueryResult): Promise<Uint8Array> {
  const enc = await new ParquetFormat({ codec: "zstd" }).encoder(result.schema);
  return new Uint8Array(await new Response(result.batches.pipeThrough(enc.stream)).arrayBuffer());
}

/** Runs SQL in a fresh in-memory DuckDB; cells come back as DuckDB's JS values. */
export async function duckdb(sql: string): Promise<unknown[][]> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try {
    const res = await conn.runAndReadAll(sql);
    return res.getRows() as unknown[][];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
