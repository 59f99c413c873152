// Test helper: connection URLs of the real test databases and one-shot SQL execution.
import pg from "pg";
import mysql from "mysql2/promise";

export const PG_URL = Deno.env.get("RIVET_TEST_PG_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = Deno.env.get("RIVET_TEST_MYSQL_URL") ?? "mysql://root@127.0.0.1:3306/test";

/** Runs statements on PostgreSQL and returns the rows of the last one. */
export async function pgExec(...sql: string[]): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const s of sql) rows = (await client.query(s)).rows;
    return rows;
  } finally {
    await client.end();
  }
}

/** Runs statements on MySQL/MariaDB and returns the rows of the last one. */
export async function mysqlExec(...sql: string[]): Promise<Record<string, unknown>[]> {
  const conn = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: false });
  try {
    let rows: Record<string, unknown>[] = [];
    for (const s of sql) {
      const [r] = await conn.query(s);
      rows = Array.isArray(r) ? r as Record<string, unknown>[] : [];
    }
    return rows;
  } finally {
    await conn.end();
  }
}
