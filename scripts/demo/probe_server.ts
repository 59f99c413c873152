// Layer: dev tooling (not shipped in the CLI): checks the demo database the way the CLI reads it.
//
//   deno run -A scripts/demo/probe_server.ts [--compare postgres://postgres@127.0.0.1:5432/test]
//
// Starts the seeded PGlite socket server and, over TCP with the `pg` client:
// 1. reads every table with the CLI's protocol (BEGIN; SET LOCAL ...; SHOW work_mem; DECLARE
//    _rivet NO SCROLL CURSOR; FETCH 500, then FETCH 2000 until short; CLOSE; COMMIT) and checks
//    the row counts against DEMO_TABLES;
// 2. runs the CLI's metadata queries (pg_backend_pid twice, regclass lookup, numeric precision
//    from information_schema, pg_stat_database.temp_bytes on an extra connection);
// 3. checks spot values of timestamptz/timestamp/uuid/numeric/arrays/jsonb/bytea as text;
// 4. connects, disconnects and reconnects 20 times, and holds 2 connections at once;
// 5. with --compare URL: loads seed.sql into a throwaway database on that real PostgreSQL and
//    compares every row of every table, as text, with what PGlite returned (then drops it).
// Exits 1 on the first mismatch.

import pg from "pg";
import { createHash } from "node:crypto";
import { DEMO_TABLES, startDemoDatabase } from "./demo_database.ts";

type Row = Record<string, string | null>;
/** Every column as the server's text output: no client-side parsing at all. */
const rawText = { getTypeParser: () => (value: string) => value };

function fail(message: string): never {
  console.error(`FAIL: ${message}`);
  Deno.exit(1);
}
function expectEqual(what: string, actual: unknown, expected: unknown): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: got ${a}, expected ${e}`);
  console.log(`ok   ${what} = ${a}`);
}
async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, types: rawText });
  await client.connect();
  return client;
}
/** The CLI's read protocol (spec 4.3); returns every row as text. */
async function readWithCursor(client: pg.Client, sql: string): Promise<Row[]> {
  const rows: Row[] = [];
  await client.query("BEGIN");
  try {
    await client.query("SET LOCAL statement_timeout = '300s'");
    await client.query("SET LOCAL lock_timeout = '30s'");
    await client.query("SHOW work_mem");
    await client.query(`DECLARE _rivet NO SCROLL CURSOR FOR ${sql}`);
    for (let n = 500;; n = 2000) {
      const res = await client.query<Row>(`FETCH ${n} FROM _rivet`);
      rows.push(...res.rows);
      if (res.rows.length < n) break;
    }
    await client.query("CLOSE _rivet");
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  return rows;
}
const md5uuid = (s: string) =>
  createHash("md5").update(s).digest("hex").replace(
    /^(.{8})(.{4})(.{4})(.{4})(.{12})$/,
    "$1-$2-$3-$4-$5",
  );
const orderBy: Record<string, string> = { order_items: "order_id, line_no" };

const compareIndex = Deno.args.indexOf("--compare");
const compareUrl = compareIndex >= 0 ? Deno.args[compareIndex + 1] : undefined;

const started = performance.now();
const demo = await startDemoDatabase();
console.log(
  `demo database ready at ${demo.url} in ${((performance.now() - started) / 1000).toFixed(1)}s`,
);
const tables: Record<string, Row[]> = {};
try {
  // 1. cursor reads
  const main = await connect(demo.url);
  for (const [table, count] of Object.entries(DEMO_TABLES)) {
    const t = performance.now();
    const rows = await readWithCursor(
      main,
      `SELECT * FROM ${table} ORDER BY ${orderBy[table] ?? "id"}`,
    );
    tables[table] = rows;
    expectEqual(
      `rows of ${table} via cursor (${(performance.now() - t).toFixed(0)} ms)`,
      rows.length,
      count,
    );
  }

  // 2. metadata queries the CLI runs
  const pid1 = (await main.query("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
  const pid2 = (await main.query("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
  expectEqual("pg_backend_pid stable on one connection", pid1 === pid2, true);
  const rel = await main.query(
    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
      "WHERE c.oid = ($1::text)::regclass",
    ["orders"],
  );
  expectEqual("regclass lookup of orders", rel.rows[0], { nspname: "public", relname: "orders" });
  const num = await main.query(
    "SELECT column_name, numeric_precision, numeric_scale FROM information_schema.columns " +
      "WHERE table_schema = $1 AND table_name = $2 AND data_type IN ('numeric', 'decimal')",
    ["public", "orders"],
  );
  expectEqual("numeric columns of orders", num.rows, [
    { column_name: "total", numeric_precision: "12", numeric_scale: "2" },
  ]);
  const extra = await connect(demo.url);
  const temp = await extra.query(
    "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()",
  );
  expectEqual("pg_stat_database.temp_bytes readable on a 2nd connection", temp.rows.length, 1);

  // 3. values as text
  const c1 = tables.customers?.[0] ?? fail("no customers");
  expectEqual("customers[1].customer_uuid", c1.customer_uuid, md5uuid("customer-1"));
  expectEqual(
    "customers[1].created_at (timestamptz, µs)",
    c1.created_at,
    "2020-01-01 03:17:13.123457+00",
  );
  expectEqual(
    "customers[1].updated_at (timestamp, µs)",
    c1.updated_at,
    "2024-01-01 00:11:00.000001",
  );
  expectEqual("customers[1].credit_limit (numeric(12,2))", c1.credit_limit, "79.19");
  expectEqual("customers[1].full_name (unicode)", c1.full_name, 'José "Pepe" García #1');
  expectEqual("customers[1].tags (text[])", c1.tags, "{vip}");
  expectEqual(
    "customers[2].tags (text[] with quotes)",
    tables.customers?.[1]?.tags,
    '{newsletter,"beta, \\"early\\" access"}',
  );
  expectEqual(
    "customers[2].notes (newline)",
    tables.customers?.[1]?.notes,
    'Line one\nLine two, with "quotes"',
  );
  expectEqual("customers[3].tags (empty array)", tables.customers?.[2]?.tags, "{}");
  expectEqual("customers[4].tags (NULL)", tables.customers?.[3]?.tags, null);
  expectEqual("customers[11].credit_limit (NULL)", tables.customers?.[10]?.credit_limit, null);
  const p1 = tables.products?.[0] ?? fail("no products");
  expectEqual("products[1].ratings (int[] with NULL)", p1.ratings, "{2,4,NULL,3}");
  expectEqual("products[1].price", p1.price, "0.38");
  expectEqual(
    "products[1].thumbnail (bytea hex)",
    p1.thumbnail,
    "\\x" + createHash("md5").update("product-1").digest("hex"),
  );
  expectEqual(
    "products[1].attributes (jsonb)",
    p1.attributes,
    '{"dims": [1, 1, 1], "size": 1, "color": "green", "fragile": false}',
  );
  const o1 = tables.orders?.[0] ?? fail("no orders");
  expectEqual("orders[1].ordered_at", o1.ordered_at, "2023-01-01 01:43:00.654321+00");
  expectEqual("orders[1].order_uuid", o1.order_uuid, md5uuid("order-1"));
  const sum = await main.query(
    "SELECT sum(total) AS s, count(*) FILTER (WHERE shipped_at IS NULL) AS unshipped FROM orders",
  );
  console.log(`info orders: sum(total)=${sum.rows[0]?.s} unshipped=${sum.rows[0]?.unshipped}`);
  const e1 = tables.events?.[0] ?? fail("no events");
  expectEqual("events[1].occurred_at", e1.occurred_at, "2024-03-01 00:00:41.987654+00");
  expectEqual("events[1].duration_ms (double)", e1.duration_ms, "1.25");
  expectEqual("events[1].labels", e1.labels, "{src:seo,ab:1}");
  await extra.end();
  await main.end();

  // 4. connection churn and concurrency
  for (let i = 0; i < 20; i++) {
    const c = await connect(demo.url);
    await c.query("SELECT 1");
    await c.end();
  }
  console.log("ok   20 connect/query/disconnect cycles");
  const [a, b] = [await connect(demo.url), await connect(demo.url)];
  const [ra, rb] = await Promise.all([
    readWithCursor(a, "SELECT * FROM events"),
    readWithCursor(b, "SELECT * FROM order_items"),
  ]);
  expectEqual("2 concurrent cursor reads (events, order_items)", [ra.length, rb.length], [
    DEMO_TABLES.events,
    DEMO_TABLES.order_items,
  ]);
  await a.end();
  await b.end();

  // 5. compare with a real PostgreSQL
  if (compareUrl) {
    const admin = new pg.Client({ connectionString: compareUrl });
    await admin.connect();
    const dbName = `rivet_demo_probe_${Deno.pid}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    try {
      const url = new URL(compareUrl);
      url.pathname = `/${dbName}`;
      const real = await connect(url.toString());
      await real.query(await Deno.readTextFile(new URL("./seed.sql", import.meta.url)));
      for (const table of Object.keys(DEMO_TABLES)) {
        const rows = await readWithCursor(
          real,
          `SELECT * FROM ${table} ORDER BY ${orderBy[table] ?? "id"}`,
        );
        const mine = tables[table] ?? [];
        if (rows.length !== mine.length) fail(`${table}: ${mine.length} rows vs ${rows.length}`);
        rows.forEach((row, i) => {
          const a = JSON.stringify(mine[i]);
          const b = JSON.stringify(row);
          if (a !== b) fail(`${table} row ${i + 1} differs:\n  pglite: ${a}\n  real:   ${b}`);
        });
        console.log(`ok   ${table}: all ${rows.length} rows identical as text to real PostgreSQL`);
      }
      await real.end();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
      await admin.end();
    }
  }
} finally {
  await demo.stop();
}
console.log("probe passed");
Deno.exit(0);
