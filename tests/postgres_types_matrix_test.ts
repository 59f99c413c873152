// End-to-end: every PostgreSQL type through PostgresSource → Parquet → DuckDB, compared with PostgreSQL's own rendering (execution layer tests).
import assert from "node:assert/strict";
import pg from "pg";
import * as arrow from "apache-arrow";
import * as pq from "parquet-wasm";
import { DuckDBInstance } from "@duckdb/node-api";
import { SourceError } from "../src/errors.ts";
import { ParquetFormat } from "../src/format/parquet/parquet_format.ts";
import { PostgresSource } from "../src/source/postgres/postgres_source.ts";
import type { QueryResult, ReadRequest } from "../src/source/source.ts";
import { startRejectingPgServer } from "./helpers/pg_fake_auth_server.ts";

const PG_URL = Deno.env.get("RIVET_TEST_PG_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA = "rivet_pg_types";

/** One matrix column: its PG type, six SQL literals (row 5 is all NULL) and how to compare it. */
interface MatrixColumn {
  readonly name: string;
  readonly type: string;
  readonly values: readonly string[];
  /** PostgreSQL expression rendering the column as text ({c} is the column). */
  readonly pg: string;
  /** DuckDB expression rendering the Parquet column as VARCHAR. */
  readonly duck: string;
  /** Normalizes both renderings before comparing (default: as is). */
  readonly norm?: (s: string) => unknown;
}

const N = "NULL";

function parseFloatLoose(s: string): number {
  const l = s.toLowerCase();
  if (l === "nan" || l === "-nan") return NaN;
  if (l === "inf" || l === "infinity") return Infinity;
  if (l === "-inf" || l === "-infinity") return -Infinity;
  return Number(s);
}

const asText = { pg: "{c}::text", duck: "{c}::VARCHAR" };
/** The type's output function, as psql shows it (`::text` differs for inet and char(n)). */
const asOutput = {
  pg: "CASE WHEN {c} IS NULL THEN NULL ELSE format('%s', {c}) END",
  duck: "{c}::VARCHAR",
};
const asJsonList = {
  pg: "array_to_json({c})::text",
  duck: "to_json({c})::VARCHAR",
  norm: (s: string) => JSON.parse(s),
};
const asTextList = {
  pg: "array_to_json({c}::text[])::text",
  duck: "to_json({c})::VARCHAR",
  norm: (s: string) => JSON.parse(s),
};
const asVarcharList = {
  pg: "array_to_json({c}::text[])::text",
  duck: "to_json(list_transform({c}, x -> x::VARCHAR))::VARCHAR",
  norm: (s: string) => JSON.parse(s),
};

const COLUMNS: readonly MatrixColumn[] = [
  {
    name: "c_bool",
    type: "bool",
    values: ["true", "false", "true", "false", N, "true"],
    ...asText,
    norm: (s) => s[0],
  },
  {
    name: "c_int2",
    type: "int2",
    values: ["-32768", "32767", "0", "1", N, "-1"],
    ...asText,
  },
  {
    name: "c_int4",
    type: "int4",
    values: ["-2147483648", "2147483647", "0", "1", N, "-1"],
    ...asText,
  },
  {
    name: "c_int8",
    type: "int8",
    values: ["-9223372036854775808", "9223372036854775807", "0", "1", N, "-1"],
    ...asText,
  },
  { name: "c_oid", type: "oid", values: ["0", "4294967295", "1", "2", N, "3"], ...asText },
  {
    name: "c_float4",
    type: "float4",
    values: ["-3.4028235e38", "1.17549435e-38", "'NaN'", "'-0'", N, "1.1"],
    ...asText,
    norm: (s) => Math.fround(parseFloatLoose(s)),
  },
  {
    name: "c_float8",
    type: "float8",
    values: ["'-Infinity'", "1.7976931348623157e308", "'NaN'", "'-0'", N, "0.1"],
    ...asText,
    norm: parseFloatLoose,
  },
  {
    name: "c_num38",
    type: "numeric(38,9)",
    values: [
      "-99999999999999999999999999999.999999999",
      "99999999999999999999999999999.999999999",
      "0.000000001",
      "12345.5",
      N,
      "-0.5",
    ],
    ...asText,
  },
  {
    name: "c_num_free",
    type: "numeric",
    values: [
      "123456789012345678901234567890123456789012345678901234567890",
      "-0.000000000000000000000000000001",
      "'NaN'",
      "1.50",
      N,
      "'Infinity'",
    ],
    ...asText,
  },
  {
    name: "c_money",
    type: "money",
    values: ["-92233720368547758.08", "92233720368547758.07", "0", "1234.5", N, "0.01"],
    pg: "{c}::numeric::text",
    duck: "{c}::VARCHAR",
  },
  {
    name: "c_date",
    type: "date",
    values: [
      "'4713-01-01 BC'",
      "'5874897-12-31'",
      "'1969-12-31'",
      "'2000-02-29'",
      N,
      "'1970-01-01'",
    ],
    pg: "({c} - date '1970-01-01')::text",
    duck: "({c} - DATE '1970-01-01')::VARCHAR",
  },
  {
    name: "c_time",
    type: "time",
    values: [
      "'00:00:00'",
      "'24:00:00'",
      "'23:59:59.999999'",
      "'12:34:56.000001'",
      N,
      "'00:00:00.5'",
    ],
    ...asText,
  },
  {
    name: "c_ts",
    type: "timestamp",
    values: [
      "'4713-01-01 00:00:00 BC'",
      "'294246-12-31 23:59:59.999999'",
      "'1969-12-31 23:59:59.999999'",
      "'1900-01-01 00:00:00.000001'",
      N,
      "'2024-02-29 12:00:00.5'",
    ],
    pg: "(extract(epoch from {c}) * 1000000)::int8::text",
    duck: "epoch_us({c})::VARCHAR",
  },
  {
    name: "c_tstz",
    type: "timestamptz",
    values: [
      "'1900-01-01 00:00:00.000001+00'",
      "'9999-12-31 23:59:59.999999+00'",
      "'1969-12-31 23:59:59.999999-05:30'",
      "'2024-11-03 01:30:00.123456-04'",
      N,
      "'0044-03-15 12:00:00+00 BC'",
    ],
    pg: "(extract(epoch from {c}) * 1000000)::int8::text",
    duck: "epoch_us({c})::VARCHAR",
  },
  {
    name: "c_timetz",
    type: "timetz",
    values: [
      "'12:00:00+05:30'",
      "'23:59:59.999999-12'",
      "'00:00:00+00'",
      "'01:02:03.5+01'",
      N,
      "'10:00:00-03'",
    ],
    ...asText,
  },
  {
    name: "c_text",
    type: "text",
    values: [
      `E'h\\u00e9llo, "w\\u00f6rld"\\nnew line'`,
      "''",
      "E'tab\\tand\\\\backslash, ''quote'''",
      "'🎉 emoji, 中文 {braces}'",
      N,
      "'NULL'",
    ],
    ...asText,
  },
  {
    name: "c_varchar",
    type: "varchar(10)",
    values: ["'abc'", "''", "'ünïcödé'", "'x,y'", N, "' lead'"],
    ...asText,
  },
  {
    name: "c_char",
    type: "char(5)",
    values: ["'ab'", "''", "'ü'", "'abcde'", N, "' '"],
    ...asOutput,
  },
  {
    name: "c_name",
    type: "name",
    values: ["'pg_class'", "''", "'Mixed Case'", "'ü'", N, "'x'"],
    ...asText,
  },
  {
    name: "c_qchar",
    type: '"char"',
    values: ["'a'", "'z'", "'\"'", "','", N, "'0'"],
    ...asText,
  },
  {
    name: "c_bytea",
    type: "bytea",
    values: ["'\\x00ff00'", "'\\x'", "'\\x0000'", "'\\xdeadbeef'", N, "'\\x41'"],
    pg: "encode({c}, 'hex')",
    duck: "lower(hex({c}))",
  },
  {
    name: "c_json",
    type: "json",
    values: [`'{"b": 1,  "a": [1, 2]}'`, "'[]'", `'"str\\n"'`, "'null'", N, `'{"k":"ü"}'`],
    ...asText,
  },
  {
    name: "c_jsonb",
    type: "jsonb",
    values: [`'{"b": 1, "a": [1, 2.50]}'`, "'[]'", `'"str\\n"'`, "'null'", N, `'{"k":"ü"}'`],
    ...asText,
  },
  {
    name: "c_uuid",
    type: "uuid",
    values: [
      "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
      "'00000000-0000-0000-0000-000000000000'",
      "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
      "'{12345678-1234-1234-1234-123456789abc}'",
      N,
      "'a0eebc999c0b4ef8bb6d6bb9bd380a12'",
    ],
    ...asText,
  },
  {
    name: "c_interval",
    type: "interval",
    values: [
      "'1 year 2 months 3 days 04:05:06.789'",
      "'-1 day'",
      "'0'",
      "'178000000 years'",
      N,
      "'1 mon -1 day -00:00:00.000001'",
    ],
    ...asText,
  },
  {
    name: "c_enum",
    type: `${SCHEMA}.mood`,
    values: ["'sad'", "'happy'", "'ok, \"fine\"'", "'sad'", N, "'happy'"],
    ...asText,
  },
  {
    name: "c_domain",
    type: `${SCHEMA}.price`,
    values: ["'9999999999.99'", "'-0.01'", "'0'", "'12.5'", N, "'-9999999999.99'"],
    ...asText,
  },
  {
    name: "c_inet",
    type: "inet",
    values: ["'192.168.0.1/24'", "'::1'", "'10.0.0.1'", "'2001:db8::/32'", N, "'0.0.0.0/0'"],
    ...asOutput,
  },
  {
    name: "c_cidr",
    type: "cidr",
    values: ["'192.168.0.0/24'", "'::/0'", "'10.0.0.0/8'", "'2001:db8::/32'", N, "'1.2.3.4/32'"],
    ...asText,
  },
  {
    name: "c_macaddr",
    type: "macaddr",
    values: [
      "'08:00:2b:01:02:03'",
      "'ff:ff:ff:ff:ff:ff'",
      "'00:00:00:00:00:00'",
      "'AA-BB-CC-DD-EE-FF'",
      N,
      "'0800.2b01.0203'",
    ],
    ...asText,
  },
  {
    name: "c_macaddr8",
    type: "macaddr8",
    values: [
      "'08:00:2b:01:02:03:04:05'",
      "'ff:ff:ff:ff:ff:ff:ff:ff'",
      "'00:00:00:00:00:00:00:00'",
      "'08:00:2b:01:02:03'",
      N,
      "'0102030405060708'",
    ],
    ...asText,
  },
  {
    name: "c_bit",
    type: "bit(4)",
    values: ["B'1010'", "B'0000'", "B'1111'", "B'0001'", N, "B'1000'"],
    ...asText,
  },
  {
    name: "c_varbit",
    type: "varbit",
    values: ["B''", "B'1'", "B'101010101010101010101'", "B'0'", N, "B'11'"],
    ...asText,
  },
  {
    name: "c_xml",
    type: "xml",
    values: ["'<a x=\"1\">t &amp; u</a>'", "''", "'<b/>'", "'text only'", N, "'<c>ü</c>'"],
    ...asText,
  },
  {
    name: "c_int4range",
    type: "int4range",
    values: ["'[1,5)'", "'empty'", "'(,)'", "'[-10,)'", N, "'(1,2]'"],
    ...asText,
  },
  {
    name: "c_tstzrange",
    type: "tstzrange",
    values: [
      "'[2024-01-01 00:00:00.5+00,2024-02-01 00:00:00+00)'",
      "'empty'",
      "'(,infinity)'",
      "'[-infinity,2000-01-01 00:00:00+00]'",
      N,
      "'[2024-01-01 00:00:00+00,)'",
    ],
    ...asText,
  },
  {
    name: "c_multirange",
    type: "int4multirange",
    values: ["'{[1,3), [5,7)}'", "'{}'", "'{(,)}'", "'{[1,2]}'", N, "'{[10,20)}'"],
    ...asText,
  },
  {
    name: "c_tsvector",
    type: "tsvector",
    values: ["'a fat cat'", "''", "'''quoted word'':1A'", "'x:1,2,3'", N, "'ü'"],
    ...asText,
  },
  {
    name: "c_point",
    type: "point",
    values: ["'(1,2)'", "'(-1.5,0)'", "'(1e300,-1e-300)'", "'(0,0)'", N, "'(3,4)'"],
    ...asText,
  },
  {
    name: "c_box",
    type: "box",
    values: [
      "'(1,1),(0,0)'",
      "'(0,0),(0,0)'",
      "'(3,4),(1,2)'",
      "'(-1,-1),(-2,-2)'",
      N,
      "'(5,5),(4,4)'",
    ],
    ...asText,
  },
  {
    name: "c_int_arr",
    type: "int4[]",
    values: ["'{1,NULL,-3}'", "'{}'", "'{2147483647,-2147483648}'", "'{NULL}'", N, "'[0:1]={7,8}'"],
    ...asJsonList,
  },
  {
    name: "c_int8_arr",
    type: "int8[]",
    values: ["'{1,NULL,-3}'", "'{}'", "'{9007199254740991}'", "'{NULL,NULL}'", N, "'{0}'"],
    pg: "array_to_json({c}::text[])::text",
    duck: "to_json(list_transform({c}, x -> x::VARCHAR))::VARCHAR",
    norm: (s) => JSON.parse(s),
  },
  {
    name: "c_bool_arr",
    type: "bool[]",
    values: ["'{t,NULL,f}'", "'{}'", "'{true}'", "'{NULL}'", N, "'{f,f}'"],
    ...asJsonList,
  },
  {
    name: "c_float8_arr",
    type: "float8[]",
    values: ["'{NaN,Infinity,-Infinity}'", "'{}'", "'{-0,0.1,NULL}'", "'{1e308}'", N, "'{5e-324}'"],
    pg: "array_to_json({c}::text[])::text",
    duck: "to_json(list_transform({c}, x -> x::VARCHAR))::VARCHAR",
    norm: (s) =>
      (JSON.parse(s) as (string | null)[]).map((x) => x === null ? null : parseFloatLoose(x)),
  },
  {
    name: "c_text_arr",
    type: "text[]",
    values: [
      `ARRAY['a,b', 'c"d', E'e\\\\f', NULL, 'NULL', '', E'line\\nbreak', ' lead', '{x}']`,
      "'{}'",
      `'{"ü","中文 🎉"}'`,
      "'{NULL}'",
      N,
      "'{null,\"null\"}'",
    ],
    ...asTextList,
  },
  {
    name: "c_num_arr",
    type: "numeric(10,2)[]",
    values: ["'{1.50,NULL,-2}'", "'{}'", "'{99999999.99}'", "'{NULL}'", N, "'{0.01}'"],
    ...asVarcharList,
  },
  {
    name: "c_num_free_arr",
    type: "numeric[]",
    values: [
      "'{1.50,NaN,NULL}'",
      "'{}'",
      "'{123456789012345678901234567890.123456789}'",
      "'{Infinity}'",
      N,
      "'{0}'",
    ],
    ...asTextList,
  },
  {
    name: "c_date_arr",
    type: "date[]",
    values: [
      "'{2024-01-01,NULL}'",
      "'{}'",
      "'{1900-02-28}'",
      "'{NULL}'",
      N,
      "'{1970-01-01,1970-01-02}'",
    ],
    ...asVarcharList,
  },
  {
    name: "c_tstz_arr",
    type: "timestamptz[]",
    values: [
      "'{\"2024-01-01 12:00:00.123456+00\",NULL}'",
      "'{}'",
      "'{\"1969-12-31 23:59:59.999999+00\"}'",
      "'{NULL}'",
      N,
      "'{\"2000-01-01 00:00:00+05\"}'",
    ],
    pg: `array_to_json(${SCHEMA}.epoch_us({c}))::text`,
    duck: "to_json(list_transform({c}, x -> epoch_us(x)))::VARCHAR",
    norm: (s) => JSON.parse(s),
  },
  {
    name: "c_uuid_arr",
    type: "uuid[]",
    values: [
      "'{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11,NULL}'",
      "'{}'",
      "'{00000000-0000-0000-0000-000000000000}'",
      "'{NULL}'",
      N,
      "'{}'",
    ],
    ...asTextList,
  },
  {
    name: "c_bytea_arr",
    type: "bytea[]",
    values: [
      "ARRAY['\\x00'::bytea, NULL, '\\xdeadbeef']",
      "'{}'",
      "ARRAY[''::bytea]",
      "'{NULL}'",
      N,
      "ARRAY['\\x4142'::bytea]",
    ],
    pg: "array_to_json({c}::text[])::text",
    duck:
      "to_json(list_transform({c}, x -> CASE WHEN x IS NULL THEN NULL ELSE '\\x' || lower(hex(x)) END))::VARCHAR",
    norm: (s) => JSON.parse(s),
  },
  {
    name: "c_jsonb_arr",
    type: "jsonb[]",
    values: [
      `ARRAY['{"a": 1}'::jsonb, NULL, '[1, "x,y"]']`,
      "'{}'",
      `ARRAY['"s"'::jsonb]`,
      "'{NULL}'",
      N,
      `ARRAY['null'::jsonb]`,
    ],
    ...asTextList,
  },
  {
    name: "c_enum_arr",
    type: `${SCHEMA}.mood[]`,
    values: [
      `ARRAY['sad', NULL, 'ok, "fine"']::${SCHEMA}.mood[]`,
      "'{}'",
      "'{happy}'",
      "'{NULL}'",
      N,
      "'{sad,sad}'",
    ],
    ...asTextList,
  },
  {
    name: "c_box_arr",
    type: "box[]",
    values: [
      "'{(1,1),(0,0);(3,3),(2,2)}'",
      "'{}'",
      "'{(0,0),(0,0)}'",
      "'{NULL}'",
      N,
      "ARRAY['(5,5),(4,4)'::box]",
    ],
    ...asTextList,
  },
  {
    name: "c_domain_arr",
    type: `${SCHEMA}.price[]`,
    values: ["'{1.5,NULL,-2}'", "'{}'", "'{9999999999.99}'", "'{NULL}'", N, "'{0.01}'"],
    ...asVarcharList,
  },
  {
    name: "c_int_2d",
    type: "int4[][]",
    values: ["'{{1,2},{3,NULL}}'", "'{}'", "'{{5}}'", "'{{NULL,NULL}}'", N, "'{{1},{2},{3}}'"],
    ...asJsonList,
  },
];

/** numeric(50,10) goes to Decimal256, which DuckDB 1.5.6 misreads (see the test below). */
const WIDE_DECIMALS = [
  "-9999999999999999999999999999999999999999.9999999999",
  "1234567890123456789012345678901234567890.0123456789",
  "0",
  "-1.5",
  N,
  "0.0000000001",
];

const ROWS = 6;

async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let fixture: Promise<void> | undefined;

/** Creates schema rivet_pg_types with the matrix table (once per test process). */
function ensureFixture(): Promise<void> {
  fixture ??= withPg(async (c) => {
    const cols = [
      "id int PRIMARY KEY",
      ...COLUMNS.map((col) => `${col.name} ${col.type}`),
      "c_num50 numeric(50,10)",
    ];
    const rows = Array.from(
      { length: ROWS },
      (_, r) =>
        `(${
          [String(r + 1), ...COLUMNS.map((col) => col.values[r]!), WIDE_DECIMALS[r]!].join(", ")
        })`,
    );
    await c.query(`
      DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE;
      CREATE SCHEMA ${SCHEMA};
      CREATE TYPE ${SCHEMA}.mood AS ENUM ('sad', 'ok, "fine"', 'happy');
      CREATE DOMAIN ${SCHEMA}.price AS numeric(12,2);
      CREATE FUNCTION ${SCHEMA}.epoch_us(a timestamptz[]) RETURNS int8[] LANGUAGE sql IMMUTABLE AS
        $$ SELECT CASE WHEN a IS NULL THEN NULL ELSE COALESCE(
             (SELECT array_agg((extract(epoch FROM x) * 1000000)::int8 ORDER BY o)
              FROM unnest(a) WITH ORDINALITY AS u(x, o)), '{}') END $$;
      CREATE TABLE ${SCHEMA}.matrix (${cols.join(", ")});
      INSERT INTO ${SCHEMA}.matrix VALUES ${rows.join(",\n")};
    `);
  });
  return fixture;
}

function request(query: string, over: Partial<ReadRequest> = {}): ReadRequest {
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

async function collect(result: QueryResult): Promise<arrow.RecordBatch[]> {
  const out: arrow.RecordBatch[] = [];
  for await (const b of result.batches) out.push(b);
  return out;
}

async function toParquet(result: QueryResult, batches: arrow.RecordBatch[]): Promise<Uint8Array> {
  const enc = await new ParquetFormat({ codec: "zstd" }).encoder(result.schema);
  const bytes = new Response(enc.stream.readable).arrayBuffer();
  const w = enc.stream.writable.getWriter();
  for (const b of batches) await w.write(b);
  await w.close();
  return new Uint8Array(await bytes);
}

async function duckQuery(sql: string): Promise<(string | null)[][]> {
  const db = await DuckDBInstance.create(":memory:");
  const con = await db.connect();
  try {
    const reader = await con.runAndReadAll(sql);
    return reader.getRowsJS().map((r) => r.map((v) => (v === null ? null : String(v))));
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

async function pgQuery(sql: string): Promise<(string | null)[][]> {
  return await withPg(async (c) => {
    await c.query(
      "SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET IntervalStyle = 'iso_8601'",
    );
    const r = await c.query({
      text: sql,
      rowMode: "array",
      types: { getTypeParser: () => (v: string) => v },
    } as pg.QueryConfig);
    return r.rows as (string | null)[][];
  });
}

async function readMatrix(): Promise<{ result: QueryResult; file: string }> {
  await ensureFixture();
  const src = await PostgresSource.connect({ type: "postgres", url: PG_URL });
  try {
    const result = await src.query(request(`SELECT * FROM ${SCHEMA}.matrix ORDER BY id`));
    const batches = await collect(result);
    const file = await Deno.makeTempFile({ prefix: "rivet_pg_types_", suffix: ".parquet" });
    await Deno.writeFile(file, await toParquet(result, batches));
    return { result, file };
  } finally {
    await src.close();
  }
}

let matrix: Promise<{ result: QueryResult; file: string }> | undefined;
const readMatrixOnce = () => (matrix ??= readMatrix());

Deno.test("PostgresSource reads every PostgreSQL type so that DuckDB sees what PostgreSQL renders", async () => {
  const { file } = await readMatrixOnce();
  const pgSql = `SELECT ${
    COLUMNS.map((c) => c.pg.replaceAll("{c}", c.name)).join(", ")
  } FROM ${SCHEMA}.matrix ORDER BY id`;
  const duckSql = `SELECT ${
    COLUMNS.map((c) => c.duck.replaceAll("{c}", c.name)).join(", ")
  } FROM read_parquet('${file}') ORDER BY id`;
  const want = await pgQuery(pgSql);
  const got = await duckQuery(duckSql);
  assert.equal(got.length, ROWS);
  const mismatches: string[] = [];
  for (let r = 0; r < ROWS; r++) {
    COLUMNS.forEach((col, i) => {
      const p = want[r]![i] ?? null;
      const d = got[r]![i] ?? null;
      const norm = col.norm ?? ((s: string) => s);
      try {
        assert.deepStrictEqual(d === null ? null : norm(d), p === null ? null : norm(p));
      } catch {
        mismatches.push(
          `row ${r + 1} ${col.name}: PostgreSQL ${JSON.stringify(p)} DuckDB ${JSON.stringify(d)}`,
        );
      }
    });
  }
  assert.deepEqual(mismatches, []);
});

Deno.test("PostgresSource writes a row of NULLs as NULL in every column", async () => {
  const { file } = await readMatrixOnce();
  const rows = await duckQuery(
    `SELECT ${
      COLUMNS.map((c) => `(${c.name} IS NULL)::VARCHAR`).join(", ")
    }, (c_num50 IS NULL)::VARCHAR
     FROM read_parquet('${file}') WHERE id = 5`,
  );
  assert.deepEqual(rows[0], Array(COLUMNS.length + 1).fill("true"));
});

Deno.test("PostgresSource keeps decimal sums exact: numeric(38,9), money and the numeric(12,2) domain", async () => {
  const { file } = await readMatrixOnce();
  const want = await pgQuery(
    `SELECT sum(c_num38)::text, sum(c_money)::numeric::text, sum(c_domain)::text FROM ${SCHEMA}.matrix`,
  );
  const got = await duckQuery(
    `SELECT sum(c_num38)::VARCHAR, sum(c_money)::VARCHAR, sum(c_domain)::VARCHAR FROM read_parquet('${file}')`,
  );
  assert.deepEqual(got, want);
});

/** Unscaled bigint of a Decimal cell as apache-arrow returns it (little-endian 32-bit words). */
function decimalWords(words: Uint32Array): bigint {
  let v = 0n;
  for (let i = words.length - 1; i >= 0; i--) v = (v << 32n) | BigInt(words[i]!);
  const bits = BigInt(words.length * 32);
  return v >= 1n << (bits - 1n) ? v - (1n << bits) : v;
}

function decimalText(v: bigint, scale: number): string {
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString().padStart(scale + 1, "0");
  const s = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return neg ? `-${s}` : s;
}

Deno.test("PostgresSource maps numeric(50,10) to Decimal256 and the Parquet file holds the exact values", async () => {
  // DuckDB 1.5.6 reads Parquet DECIMAL with precision > 38 as DOUBLE and gets the value wrong
  // (5e-10 comes back as 0.008388608), so this column is read back with arrow-rs (parquet-wasm).
  const { result, file } = await readMatrixOnce();
  const spec = result.columns.find((c) => c.name === "c_num50");
  assert.deepEqual(spec?.type, { kind: "decimal", precision: 50, scale: 10 });
  const table = arrow.tableFromIPC(pq.readParquet(await Deno.readFile(file)).intoIPCStream());
  const field = table.schema.fields.find((f) => f.name === "c_num50")!;
  assert.equal(String(field.type), "Decimal[50e+10]");
  assert.equal((field.type as arrow.Decimal).bitWidth, 256);
  const col = table.getChild("c_num50")!;
  const got = Array.from({ length: ROWS }, (_, i) => {
    const cell = col.get(i) as Uint32Array | null;
    return cell === null ? null : decimalText(decimalWords(cell), 10);
  });
  const want = (await pgQuery(`SELECT c_num50::text FROM ${SCHEMA}.matrix ORDER BY id`)).map((r) =>
    r[0]
  );
  assert.deepEqual(got, want);
  const sum = got.reduce((a, s) => a + (s === null ? 0n : BigInt(s.replace(".", ""))), 0n);
  const pgSum = (await pgQuery(`SELECT sum(c_num50)::text FROM ${SCHEMA}.matrix`))[0]![0]!;
  assert.equal(decimalText(sum, 10), pgSum);
});

Deno.test("PostgresSource describes columns with Rivet types, native types and fidelity", async () => {
  const { result } = await readMatrixOnce();
  const by = new Map(result.columns.map((c) => [c.name, c]));
  const cases: [string, unknown, string, string][] = [
    ["c_num38", { kind: "decimal", precision: 38, scale: 9 }, "numeric(38,9)", "exact"],
    ["c_num_free", { kind: "string", logical: "decimal" }, "numeric", "compatible"],
    ["c_money", { kind: "decimal", precision: 19, scale: 2 }, "money", "exact"],
    // The wire reports a domain column as its base type.
    ["c_domain", { kind: "decimal", precision: 12, scale: 2 }, "numeric(12,2)", "exact"],
    [
      "c_domain_arr",
      { kind: "list", item: { kind: "decimal", precision: 12, scale: 2 } },
      `${SCHEMA}.price[]`,
      "compatible",
    ],
    ["c_uuid", { kind: "string", logical: "uuid" }, "uuid", "logical_string"],
    ["c_jsonb", { kind: "string", logical: "json" }, "jsonb", "logical_string"],
    ["c_enum", { kind: "string", logical: "enum" }, `${SCHEMA}.mood`, "compatible"],
    ["c_tstz", { kind: "timestamp_tz" }, "timestamp with time zone", "exact"],
    [
      "c_int_2d",
      { kind: "list", item: { kind: "list", item: { kind: "int32" } } },
      "integer[]",
      "compatible",
    ],
  ];
  for (const [name, type, native, fidelity] of cases) {
    const c = by.get(name);
    assert.deepEqual([c?.type, c?.nativeType, c?.fidelity], [type, native, fidelity], name);
  }
  const meta = result.schema.fields.find((f) => f.name === "c_interval")!.metadata;
  assert.equal(meta.get("rivet.logical_type"), "interval");
});

// ---- protocol, limits and errors ------------------------------------------------------------

async function connect(): Promise<PostgresSource> {
  return await PostgresSource.connect({ type: "postgres", url: PG_URL });
}

async function backendState(pid: number): Promise<string | null> {
  const rows = await pgQuery(`SELECT state FROM pg_stat_activity WHERE pid = ${pid}`);
  return rows[0]?.[0] ?? null;
}

Deno.test("PostgresSource splits a result larger than the batch size into several batches with the same rows", async () => {
  const src = await connect();
  try {
    const result = await src.query(
      request("SELECT g AS n FROM generate_series(1, 2345) AS g ORDER BY g", { batchSize: 1000 }),
    );
    const batches = await collect(result);
    assert.deepEqual(batches.map((b) => b.numRows), [500, 1000, 845]);
    const ids = batches.flatMap((b) => Array.from(b.getChild("n")!.toArray() as Int32Array));
    assert.deepEqual(ids, Array.from({ length: 2345 }, (_, i) => i + 1));
    assert.equal(await backendState(src.backendPid), "idle");
  } finally {
    await src.close();
  }
});

Deno.test("PostgresSource applies the statement timeout and reports it as permanent", async () => {
  const src = await connect();
  try {
    const started = Date.now();
    const err = await src.query(request("SELECT pg_sleep(5)", { statementTimeoutS: 1 })).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof SourceError, String(err));
    assert.equal(err.retryable, false);
    assert.match(err.message, /statement timeout/);
    assert.ok(Date.now() - started < 4000, "the timeout did not stop the query");
    assert.equal(await backendState(src.backendPid), "idle");
    assert.equal(await src.scalar("SELECT 41 + 1"), "42");
  } finally {
    await src.close();
  }
});

Deno.test("PostgresSource cancel closes the cursor and the transaction", async () => {
  const src = await connect();
  try {
    const result = await src.query(
      request("SELECT g FROM generate_series(1, 100000) AS g", { batchSize: 1000 }),
    );
    const reader = result.batches.getReader();
    const first = await reader.read();
    assert.equal(first.value?.numRows, 500);
    assert.equal(await backendState(src.backendPid), "idle in transaction");
    await reader.cancel();
    assert.equal(await backendState(src.backendPid), "idle");
    const again = await collect(await src.query(request("SELECT 1 AS one")));
    assert.equal(again[0]?.numRows, 1);
  } finally {
    await src.close();
  }
});

Deno.test("PostgresSource abort stops a running FETCH and rolls back", async () => {
  const src = await connect();
  try {
    const ac = new AbortController();
    const result = await src.query(
      request(
        "SELECT g, CASE WHEN g > 500 THEN pg_sleep(10) END AS s FROM generate_series(1, 1000) AS g",
        { batchSize: 1000 },
      ),
      ac.signal,
    );
    const reader = result.batches.getReader();
    await reader.read(); // the 500-row probe
    const started = Date.now();
    setTimeout(() => ac.abort(new Error("user pressed ctrl-c")), 300);
    const err = await reader.read().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SourceError, String(err));
    assert.match(err.message, /aborted \(user pressed ctrl-c\)/);
    assert.ok(Date.now() - started < 5000, "abort did not interrupt the FETCH");
    assert.equal(await backendState(src.backendPid), "idle");
  } finally {
    await src.close();
  }
});

Deno.test("PostgresSource refuses a value over maxValueBytes with RIVET_VALUE_TOO_LARGE", async () => {
  const src = await connect();
  try {
    const err = await src.query(
      request("SELECT 1 AS id, repeat('x', 2 * 1024 * 1024) AS big", {
        maxValueBytes: 1024 * 1024,
      }),
    ).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SourceError, String(err));
    assert.equal(err.retryable, false);
    assert.match(err.message, /^RIVET_VALUE_TOO_LARGE: column 'big' has a single value of 2\.0 MB/);
  } finally {
    await src.close();
  }
});

Deno.test("PostgresSource names the column, export row and value it cannot convert", async () => {
  const src = await connect();
  try {
    const result = await src.query(
      request(
        "SELECT g, CASE WHEN g = 1234 THEN 'infinity'::date ELSE current_date END AS d FROM generate_series(1, 2000) AS g ORDER BY g",
        { batchSize: 1000 },
      ),
    );
    const err = await collect(result).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SourceError, String(err));
    assert.match(
      err.message,
      /column 'd' \(date\), row 1234 of this export: cannot store value 'infinity'/,
    );
    assert.equal(await backendState(src.backendPid), "idle");
  } finally {
    await src.close();
  }
});

Deno.test("PostgresSource applies a decimal column override and fails on a value that does not fit", async () => {
  const src = await connect();
  try {
    const overrides = { x: { kind: "decimal", precision: 10, scale: 2 } } as const;
    const ok = await src.query(request("SELECT 1.5::numeric AS x", { columnOverrides: overrides }));
    assert.deepEqual(ok.columns[0]?.type, overrides.x);
    const [batch] = await collect(ok);
    assert.equal(String(batch!.getChild("x")!.get(0)), "150");
    const err = await src.query(
      request("SELECT 1.555::numeric AS x", { columnOverrides: overrides }),
    )
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SourceError);
    assert.match(err.message, /column 'x'.*'1\.555'.*more than 2 fraction digits/);
  } finally {
    await src.close();
  }
});

Deno.test("PostgresSource reports a missing table as permanent with the server's message", async () => {
  const src = await connect();
  try {
    const err = await src.query(request(`SELECT * FROM ${SCHEMA}.no_such_table`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof SourceError);
    assert.equal(err.retryable, false);
    assert.match(err.message, /127\.0\.0\.1:\d+\/\w+/);
    assert.match(err.message, /relation "rivet_pg_types\.no_such_table" does not exist \(42P01\)/);
    assert.equal(await backendState(src.backendPid), "idle");
  } finally {
    await src.close();
  }
});

Deno.test("PostgresSource reports an unreachable port as retryable without the password", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const err = await PostgresSource.connect({
    type: "postgres",
    url: `postgres://app:pw-s3cret@127.0.0.1:${port}/test`,
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SourceError);
  assert.equal(err.retryable, true);
  assert.equal(
    err.message,
    `cannot connect to PostgreSQL at 127.0.0.1:${port}/test: connection refused — is the server running and the port right?`,
  );
  assert.doesNotMatch(JSON.stringify([err.message, err.hint]), /pw-s3cret/);
});

Deno.test("PostgresSource reports a wrong password as permanent with a hint and no secret", async () => {
  const server = startRejectingPgServer();
  try {
    const err = await PostgresSource.connect({
      type: "postgres",
      url: `postgres://app:hunter2-secret@127.0.0.1:${server.port}/sales`,
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SourceError, String(err));
    assert.equal(err.retryable, false);
    assert.equal(
      err.message,
      `cannot connect to PostgreSQL at 127.0.0.1:${server.port}/sales: password authentication failed for user 'app' (28P01)`,
    );
    assert.match(err.hint ?? "", /password/);
    assert.doesNotMatch(JSON.stringify([err.message, err.hint]), /hunter2/);
  } finally {
    await server.stop();
  }
});

Deno.test("PostgresSource refuses TLS against a server without it, saying what to change", async () => {
  const err = await PostgresSource.connect({
    type: "postgres",
    url: PG_URL,
    tls: { mode: "require" },
  }).then(async (s) => {
    await s.close();
    return undefined;
  }, (e: unknown) => e);
  // The CI server runs without TLS; where it has TLS, `require` must simply connect.
  if (err === undefined) return;
  assert.ok(err instanceof SourceError, String(err));
  assert.equal(err.retryable, false);
  assert.match(err.message, /does not accept TLS/);
  assert.match(err.hint ?? "", /tls\.mode: disable/);
});

Deno.test("PostgresSource returns the columns of an empty result and no batches", async () => {
  const src = await connect();
  try {
    const result = await src.query(request("SELECT 1::int8 AS a, 'x'::text AS b WHERE false"));
    assert.deepEqual(result.columns.map((c) => [c.name, c.type.kind]), [["a", "int64"], [
      "b",
      "string",
    ]]);
    assert.deepEqual(await collect(result), []);
    assert.equal(await backendState(src.backendPid), "idle");
  } finally {
    await src.close();
  }
});
