// Benchmark fixtures: defines narrow/lineitem/wide and creates them server-side in PostgreSQL and MariaDB.
import pg from "pg";
import mysql from "mysql2/promise";
import { byteCount, psqlArgs } from "./commands.ts";

export type FixtureName = "narrow" | "lineitem" | "wide";
export const FIXTURE_NAMES: readonly FixtureName[] = ["narrow", "lineitem", "wide"];

/** Bumped whenever a fixture's definition changes, so stale tables are rebuilt. */
const FIXTURE_VERSION = 1;
export const BENCH_SCHEMA = "rivet_bench";

export interface Fixture {
  readonly name: FixtureName;
  /** Column name -> DuckDB type, in table order (for reading the psql CSV in the DuckDB pipeline). */
  readonly duckColumns: readonly (readonly [string, string])[];
  /** Column the chunked runs split on (integer, indexed). */
  readonly chunkColumn: string;
  readonly pgCreate: string;
  readonly pgFill: (rows: number) => string;
  readonly myCreate: string;
  readonly myFill: (rows: number) => string;
}

/** What a fixture looks like once it exists at the size a run needs. */
export interface ReadyFixture {
  readonly fixture: Fixture;
  readonly rows: number;
  /** Bytes of `psql \copy (SELECT * ...) TO STDOUT (FORMAT csv)`: the reference "source MB". */
  readonly csvBytes: number;
}

export function fixtureRows(name: FixtureName, quick: boolean): number {
  const full = { narrow: 1_000_000, lineitem: 1_000_000, wide: 200_000 } as const;
  const small = { narrow: 200_000, lineitem: 100_000, wide: 20_000 } as const;
  return (quick ? small : full)[name];
}

/** `md5(<seed> || '-i')` pieces joined by `sep`: cheap, poorly compressible text of 32*n chars. */
function md5Pieces(n: number, seed: string, tag: string, dialect: "pg" | "my"): string[] {
  return Array.from(
    { length: n },
    (_, i) =>
      dialect === "pg"
        ? `md5(${seed}::text || '-${tag}${i}')`
        : `MD5(CONCAT(${seed}, '-${tag}${i}'))`,
  );
}

const narrow: Fixture = {
  name: "narrow",
  duckColumns: [
    ["id", "BIGINT"],
    ["label", "VARCHAR"],
    ["amount", "DECIMAL(12,2)"],
    ["created_at", "TIMESTAMPTZ"],
    ["flag", "BOOLEAN"],
  ],
  chunkColumn: "id",
  pgCreate: `CREATE TABLE ${BENCH_SCHEMA}.narrow (
    id bigint PRIMARY KEY, label text NOT NULL, amount numeric(12,2) NOT NULL,
    created_at timestamptz NOT NULL, flag boolean NOT NULL)`,
  pgFill: (n) =>
    `INSERT INTO ${BENCH_SCHEMA}.narrow
     SELECT g, md5(g::text) || lpad(g::text, 8, '0'), ((g::bigint * 7919) % 10000000) / 100.0,
            timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' + (g % 1000) * interval '1 microsecond',
            g % 3 = 0
     FROM generate_series(1, ${n}) g`,
  myCreate: `CREATE TABLE narrow (
    id BIGINT PRIMARY KEY, label VARCHAR(64) NOT NULL, amount DECIMAL(12,2) NOT NULL,
    created_at TIMESTAMP(6) NULL, flag BOOLEAN NOT NULL) ENGINE=InnoDB`,
  myFill: (n) =>
    `INSERT INTO narrow
     SELECT seq, CONCAT(MD5(seq), LPAD(seq, 8, '0')), ((seq * 7919) % 10000000) / 100,
            TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq SECOND + INTERVAL (seq % 1000) MICROSECOND,
            seq % 3 = 0
     FROM seq_1_to_${n}`,
};

const lineitem: Fixture = {
  name: "lineitem",
  duckColumns: [
    ["l_orderkey", "BIGINT"],
    ["l_partkey", "BIGINT"],
    ["l_suppkey", "BIGINT"],
    ["l_linenumber", "INTEGER"],
    ["l_quantity", "DECIMAL(15,2)"],
    ["l_extendedprice", "DECIMAL(15,2)"],
    ["l_discount", "DECIMAL(15,2)"],
    ["l_tax", "DECIMAL(15,2)"],
    ["l_returnflag", "VARCHAR"],
    ["l_linestatus", "VARCHAR"],
    ["l_shipdate", "DATE"],
    ["l_commitdate", "DATE"],
    ["l_receiptdate", "DATE"],
    ["l_shipinstruct", "VARCHAR"],
    ["l_shipmode", "VARCHAR"],
    ["l_comment", "VARCHAR"],
  ],
  chunkColumn: "l_orderkey",
  pgCreate: `CREATE TABLE ${BENCH_SCHEMA}.lineitem (
    l_orderkey bigint NOT NULL, l_partkey bigint NOT NULL, l_suppkey bigint NOT NULL,
    l_linenumber integer NOT NULL, l_quantity numeric(15,2) NOT NULL,
    l_extendedprice numeric(15,2) NOT NULL, l_discount numeric(15,2) NOT NULL,
    l_tax numeric(15,2) NOT NULL, l_returnflag char(1) NOT NULL, l_linestatus char(1) NOT NULL,
    l_shipdate date NOT NULL, l_commitdate date NOT NULL, l_receiptdate date NOT NULL,
    l_shipinstruct char(25) NOT NULL, l_shipmode char(10) NOT NULL, l_comment varchar(44) NOT NULL,
    PRIMARY KEY (l_orderkey, l_linenumber))`,
  pgFill: (n) =>
    `INSERT INTO ${BENCH_SCHEMA}.lineitem
     SELECT (g - 1) / 4 + 1, (g * 7) % 200000 + 1, (g * 13) % 10000 + 1, (g - 1) % 4 + 1,
            g % 50 + 1, (g % 50 + 1) * (900 + (g % 1000) / 10.0), (g % 11) / 100.0, (g % 9) / 100.0,
            (ARRAY['A','N','R'])[g % 3 + 1], CASE WHEN g % 2 = 0 THEN 'O' ELSE 'F' END,
            date '1992-01-01' + g % 2500, date '1992-01-01' + g % 2500 + g % 61 - 30,
            date '1992-01-01' + g % 2500 + g % 30 + 1,
            (ARRAY['DELIVER IN PERSON','COLLECT COD','NONE','TAKE BACK RETURN'])[g % 4 + 1],
            (ARRAY['REG AIR','AIR','RAIL','SHIP','TRUCK','MAIL','FOB'])[g % 7 + 1],
            left(md5(g::text) || ' ' || md5((g + 1)::text), 10 + g % 34)
     FROM generate_series(1, ${n}) g`,
  myCreate: `CREATE TABLE lineitem (
    l_orderkey BIGINT NOT NULL, l_partkey BIGINT NOT NULL, l_suppkey BIGINT NOT NULL,
    l_linenumber INT NOT NULL, l_quantity DECIMAL(15,2) NOT NULL,
    l_extendedprice DECIMAL(15,2) NOT NULL, l_discount DECIMAL(15,2) NOT NULL,
    l_tax DECIMAL(15,2) NOT NULL, l_returnflag CHAR(1) NOT NULL, l_linestatus CHAR(1) NOT NULL,
    l_shipdate DATE NOT NULL, l_commitdate DATE NOT NULL, l_receiptdate DATE NOT NULL,
    l_shipinstruct CHAR(25) NOT NULL, l_shipmode CHAR(10) NOT NULL, l_comment VARCHAR(44) NOT NULL,
    PRIMARY KEY (l_orderkey, l_linenumber)) ENGINE=InnoDB`,
  myFill: (n) =>
    `INSERT INTO lineitem
     SELECT (seq - 1) DIV 4 + 1, (seq * 7) % 200000 + 1, (seq * 13) % 10000 + 1, (seq - 1) % 4 + 1,
            seq % 50 + 1, (seq % 50 + 1) * (900 + (seq % 1000) / 10), (seq % 11) / 100, (seq % 9) / 100,
            ELT(seq % 3 + 1, 'A', 'N', 'R'), IF(seq % 2 = 0, 'O', 'F'),
            DATE('1992-01-01') + INTERVAL (seq % 2500) DAY,
            DATE('1992-01-01') + INTERVAL (seq % 2500 + seq % 61) DAY - INTERVAL 30 DAY,
            DATE('1992-01-01') + INTERVAL (seq % 2500 + seq % 30 + 1) DAY,
            ELT(seq % 4 + 1, 'DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'),
            ELT(seq % 7 + 1, 'REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'),
            LEFT(CONCAT(MD5(seq), ' ', MD5(seq + 1)), 10 + seq % 34)
     FROM seq_1_to_${n}`,
};

// ~2 KB of text in body plus ~2 KB of JSON in attrs: about 4 KB per row.
const wide: Fixture = {
  name: "wide",
  duckColumns: [
    ["id", "BIGINT"],
    ["title", "VARCHAR"],
    ["body", "VARCHAR"],
    ["attrs", "VARCHAR"],
    ["updated_at", "TIMESTAMPTZ"],
  ],
  chunkColumn: "id",
  pgCreate: `CREATE TABLE ${BENCH_SCHEMA}.wide (
    id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL, attrs jsonb NOT NULL,
    updated_at timestamptz NOT NULL)`,
  pgFill: (n) =>
    `INSERT INTO ${BENCH_SCHEMA}.wide
     SELECT g, 'Item ' || g || ': ' || md5(g::text),
            ${md5Pieces(64, "g", "b", "pg").join(" || ")},
            jsonb_build_object('id', g, 'kind', (ARRAY['order','refund','note'])[g % 3 + 1],
              'tags', jsonb_build_array(${md5Pieces(8, "g", "t", "pg").join(", ")}),
              'notes', concat_ws(' ', ${md5Pieces(44, "g", "n", "pg").join(", ")}),
              'score', round(g % 997 / 7.0, 3)),
            timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
     FROM generate_series(1, ${n}) g`,
  myCreate: `CREATE TABLE wide (
    id BIGINT PRIMARY KEY, title VARCHAR(100) NOT NULL, body TEXT NOT NULL, attrs JSON NOT NULL,
    updated_at TIMESTAMP(6) NULL) ENGINE=InnoDB`,
  myFill: (n) =>
    `INSERT INTO wide
     SELECT seq, CONCAT('Item ', seq, ': ', MD5(seq)),
            CONCAT(${md5Pieces(64, "seq", "b", "my").join(", ")}),
            JSON_OBJECT('id', seq, 'kind', ELT(seq % 3 + 1, 'order', 'refund', 'note'),
              'tags', JSON_ARRAY(${md5Pieces(8, "seq", "t", "my").join(", ")}),
              'notes', CONCAT_WS(' ', ${md5Pieces(44, "seq", "n", "my").join(", ")}),
              'score', ROUND(seq % 997 / 7, 3)),
            TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq MINUTE
     FROM seq_1_to_${n}`,
};

export const FIXTURES: Readonly<Record<FixtureName, Fixture>> = { narrow, lineitem, wide };

/** What we store in the table comment to recognise a fixture we made. */
interface FixtureStamp {
  readonly v: number;
  readonly rows: number;
  readonly csv_bytes?: number;
}

function parseStamp(text: unknown): FixtureStamp | null {
  if (typeof text !== "string") return null;
  try {
    const s = JSON.parse(text) as Partial<FixtureStamp>;
    return typeof s.v === "number" && typeof s.rows === "number" ? s as FixtureStamp : null;
  } catch {
    return null;
  }
}

/** Creates (or keeps) the PostgreSQL copy of a fixture; returns its CSV size. */
export async function ensurePgFixture(
  url: string,
  fixture: Fixture,
  rows: number,
  log: (msg: string) => void,
): Promise<ReadyFixture> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const table = `${BENCH_SCHEMA}.${fixture.name}`;
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${BENCH_SCHEMA}`);
    const found = await client.query<{ c: string | null }>(
      `SELECT obj_description(to_regclass($1), 'pg_class') AS c`,
      [table],
    );
    const stamp = parseStamp(found.rows[0]?.c);
    if (stamp && stamp.v === FIXTURE_VERSION && stamp.rows === rows && stamp.csv_bytes) {
      const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      if (Number(count.rows[0]?.n) === rows) {
        log(`  pg ${table}: present (${rows} rows), kept`);
        return { fixture, rows, csvBytes: stamp.csv_bytes };
      }
    }
    const t0 = performance.now();
    log(`  pg ${table}: creating ${rows} rows ...`);
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.query(fixture.pgCreate);
    await client.query(fixture.pgFill(rows));
    // Freeze now so the first measured read does not pay for setting hint bits.
    await client.query(`VACUUM (FREEZE, ANALYZE) ${table}`);
    const csvBytes = await byteCount(
      "psql",
      psqlArgs(url, `\\copy (SELECT * FROM ${table}) TO STDOUT WITH (FORMAT csv)`),
    );
    const newStamp: FixtureStamp = { v: FIXTURE_VERSION, rows, csv_bytes: csvBytes };
    await client.query(`COMMENT ON TABLE ${table} IS '${JSON.stringify(newStamp)}'`);
    log(`  pg ${table}: created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { fixture, rows, csvBytes };
  } finally {
    await client.end();
  }
}

/** Creates (or keeps) the MariaDB copy of a fixture in database `rivet_bench`. */
export async function ensureMysqlFixture(
  url: string,
  fixture: Fixture,
  rows: number,
  log: (msg: string) => void,
): Promise<void> {
  const conn = await mysql.createConnection({ uri: url });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${BENCH_SCHEMA}`);
    await conn.query(`USE ${BENCH_SCHEMA}`);
    await conn.query(`SET time_zone = '+00:00'`);
    const [found] = await conn.query(
      `SELECT TABLE_COMMENT AS c FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
      [BENCH_SCHEMA, fixture.name],
    );
    const stamp = parseStamp((found as { c?: unknown }[])[0]?.c);
    if (stamp && stamp.v === FIXTURE_VERSION && stamp.rows === rows) {
      const [count] = await conn.query(`SELECT COUNT(*) AS n FROM ${fixture.name}`);
      if (Number((count as { n?: unknown }[])[0]?.n) === rows) {
        log(`  mariadb ${BENCH_SCHEMA}.${fixture.name}: present (${rows} rows), kept`);
        return;
      }
    }
    const t0 = performance.now();
    log(`  mariadb ${BENCH_SCHEMA}.${fixture.name}: creating ${rows} rows ...`);
    await conn.query(`DROP TABLE IF EXISTS ${fixture.name}`);
    await conn.query(fixture.myCreate);
    await conn.query(fixture.myFill(rows));
    await conn.query(`ANALYZE TABLE ${fixture.name}`);
    const newStamp: FixtureStamp = { v: FIXTURE_VERSION, rows };
    await conn.query(`ALTER TABLE ${fixture.name} COMMENT = '${JSON.stringify(newStamp)}'`);
    log(
      `  mariadb ${BENCH_SCHEMA}.${fixture.name}: created in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
  } finally {
    await conn.end();
  }
}
