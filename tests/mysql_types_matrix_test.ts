// End-to-end type matrix: every MySQL type through MysqlSource → Parquet → DuckDB, compared with the server's own renderings (execution layer, tests).
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import * as pq from "parquet-wasm";
import { MysqlSource } from "../src/source/mysql/mysql_source.ts";
import {
  duckdb,
  MYSQL_URL,
  RawMysql,
  readBatches,
  readRequest,
  toParquet,
} from "./helpers/mysql_fixture.ts";

const TABLE = "rivet_my_matrix";

const DDL = `CREATE TABLE ${TABLE} (
  id INT PRIMARY KEY,
  b1 TINYINT(1), ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  f FLOAT, d DOUBLE, d38 DECIMAL(38,9), d65 DECIMAL(65,30), du DECIMAL(10,2) UNSIGNED,
  c CHAR(10), vc VARCHAR(200), tx TEXT, bn BINARY(4), vb VARBINARY(16), bl BLOB,
  j JSON, e ENUM('small','medium','large'), st SET('a','b','c'),
  dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(6) NULL,
  bit1 BIT(1), bit8 BIT(8), y YEAR
) DEFAULT CHARSET=utf8mb4`;

const NINES_29 = "9".repeat(29);
const NINES_35 = "9".repeat(35);
const ROWS = [
  // minimum of every type
  `(1, 0, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
    -3.40282e38, -1.7976931348623157e308, -${NINES_29}.999999999, -${NINES_35}.${"9".repeat(30)},
    0.00, '', '', '', X'00000000', X'', X'00', '[]', 'small', '',
    '1000-01-01', '-838:59:59.000000', '1000-01-01 00:00:00.000000',
    '1970-01-01 00:00:01.000000', b'0', b'00000000', 1901)`,
  // maximum of every type
  `(2, 1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
    9223372036854775807, 18446744073709551615,
    3.40282e38, 1.7976931348623157e308, ${NINES_29}.999999999, ${NINES_35}.${"9".repeat(30)},
    99999999.99, 'abcdefghij', 'quote " comma , newline \n tab \t emoji 😀 é — ✓',
    REPEAT('üñí€𝄞 ', 500), X'00FF00FF', X'000102030405060708090A0B0C0D0E0F',
    X'00FF0000FE01000000', '{"k": "v\\\\"q", "n": [1, 2.5, null], "u": "😀"}', 'large', 'a,b,c',
    '9999-12-31', '838:59:59.999999', '9999-12-31 23:59:59.999999',
    '2038-01-19 03:14:07.999999', b'1', b'11111111', 2155)`,
  // everyday and tricky values
  `(3, 5, 0, 1, -1, 1, -1, 1, 0, 1, -1, 1,
    0.1234567, 0.30000000000000004, 0.000000001, 0.000000000000000000000000000001,
    12.34, 'x', 'O''Brien, "Jr."', 'line1\r\nline2', X'61626300', X'00', X'', 'null',
    'medium', 'b', '1969-12-31', '-00:00:00.000001', '1969-12-31 23:59:59.999999',
    '2000-02-29 12:34:56.000001', b'0', b'10000001', 2000)`,
  // NULL in every column
  `(4, ${Array(32).fill("NULL").join(", ")})`,
];

/** Per column: the server's text of the value, DuckDB's text of the Parquet value, and how to compare. */
interface Check {
  readonly col: string;
  readonly maria: string;
  readonly duck: string;
  readonly norm?: (text: string, side: "maria" | "duck") => string;
}
const int = (col: string): Check => ({
  col,
  maria: `CAST(${col} AS CHAR)`,
  duck: `CAST(${col} AS VARCHAR)`,
});
const same = (col: string): Check => ({ col, maria: col, duck: col });
const hex = (col: string): Check => ({ col, maria: `HEX(${col})`, duck: `hex(${col})` });
const micros = (col: string): Check => ({
  col,
  maria: `CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${col}) AS CHAR)`,
  duck: `CAST(epoch_us(${col}) AS VARCHAR)`,
});

const CHECKS: readonly Check[] = [
  { col: "b1", maria: `CAST(b1 <> 0 AS CHAR)`, duck: `CAST(CAST(b1 AS INT) AS VARCHAR)` },
  ...["ti", "tiu", "si", "siu", "mi", "miu", "i", "iu", "bi", "biu", "y"].map(int),
  {
    col: "f",
    maria: `CAST(f AS CHAR)`,
    duck: `CAST(CAST(f AS DOUBLE) AS VARCHAR)`,
    // The text protocol carries 6 significant digits (FLOAT is documented as lossy).
    norm: (t, side) => String(side === "maria" ? Math.fround(Number(t)) : Number(t)),
  },
  {
    col: "d",
    maria: `CAST(d AS CHAR)`,
    duck: `CAST(d AS VARCHAR)`,
    norm: (t) => String(Number(t)),
  },
  int("d38"),
  int("du"),
  ...["c", "vc", "tx", "j", "e", "st"].map(same),
  ...["bn", "vb", "bl"].map(hex),
  int("dt"),
  {
    col: "dt",
    maria: `CAST(DATEDIFF(dt, '1970-01-01') AS CHAR)`,
    duck: `CAST(dt - DATE '1970-01-01' AS VARCHAR)`,
  },
  {
    col: "tm",
    maria: `CAST(CAST(TIME_TO_SEC(tm) * 1000000 AS SIGNED) AS CHAR)`,
    duck: `CAST(epoch_us(tm) AS VARCHAR)`,
  },
  micros("dtm"),
  micros("ts"),
  { col: "bit1", maria: `CAST(bit1 + 0 AS CHAR)`, duck: `CAST(CAST(bit1 AS INT) AS VARCHAR)` },
  { col: "bit8", maria: `CAST(bit8 + 0 AS CHAR)`, duck: `CAST(bit8 AS VARCHAR)` },
];

const EXPECTED_DUCK_TYPES: Record<string, string> = {
  b1: "BOOLEAN",
  ti: "SMALLINT",
  tiu: "SMALLINT",
  si: "SMALLINT",
  siu: "INTEGER",
  mi: "INTEGER",
  miu: "BIGINT",
  i: "INTEGER",
  iu: "BIGINT",
  bi: "BIGINT",
  biu: "UBIGINT",
  f: "FLOAT",
  d: "DOUBLE",
  d38: "DECIMAL(38,9)",
  du: "DECIMAL(10,2)",
  c: "VARCHAR",
  vc: "VARCHAR",
  tx: "VARCHAR",
  bn: "BLOB",
  vb: "BLOB",
  bl: "BLOB",
  j: "VARCHAR", // parquet-wasm 0.8 does not write the JSON annotation for arrow.json fields
  e: "VARCHAR",
  st: "VARCHAR",
  dt: "DATE",
  tm: "TIME",
  dtm: "TIMESTAMP",
  ts: "TIMESTAMP WITH TIME ZONE",
  bit1: "BOOLEAN",
  bit8: "BIGINT",
  y: "SMALLINT",
};

/** Exact unscaled integer of decimal text, without going through Rivet's parser. */
function unscaled(text: string, scale: number): bigint {
  const neg = text.startsWith("-");
  const [ip, fp = ""] = text.replace(/^[-+]/, "").split(".");
  const v = BigInt(ip! + fp.padEnd(scale, "0"));
  return neg ? -v : v;
}

async function withMatrix(fn: (raw: RawMysql, file: string) => Promise<void>): Promise<void> {
  const raw = await RawMysql.open();
  const file = await Deno.makeTempFile({ prefix: "rivet_my_matrix_", suffix: ".parquet" });
  try {
    await raw.exec(`DROP TABLE IF EXISTS ${TABLE}`);
    await raw.exec(DDL);
    await raw.exec(`INSERT INTO ${TABLE} VALUES ${ROWS.join(",\n")}`);
    const source = await MysqlSource.connect({ type: "mysql", url: MYSQL_URL });
    try {
      const result = await source.query(readRequest(`SELECT * FROM ${TABLE} ORDER BY id`));
      await Deno.writeFile(file, await toParquet(result));
    } finally {
      await source.close();
    }
    await fn(raw, file);
  } finally {
    await raw.exec(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => {});
    await raw.close();
    await Deno.remove(file).catch(() => {});
  }
}

Deno.test("MysqlSource exports every MySQL type to Parquet that DuckDB reads back cell for cell", async () => {
  await withMatrix(async (raw, file) => {
    const types = await duckdb(`DESCRIBE SELECT * FROM '${file}'`);
    const got = Object.fromEntries(types.map((r) => [String(r[0]), String(r[1])]));
    for (const [col, t] of Object.entries(EXPECTED_DUCK_TYPES)) {
      assert.deepEqual(got[col], t, `DuckDB type of ${col}`);
    }

    const maria = await raw.exec(
      `SELECT id, ${CHECKS.map((c) => c.maria).join(", ")} FROM ${TABLE} ORDER BY id`,
    );
    const duck = await duckdb(
      `SELECT CAST(id AS VARCHAR), ${
        CHECKS.map((c) => c.duck).join(", ")
      } FROM '${file}' ORDER BY id`,
    );
    assert.deepEqual(duck.length, ROWS.length);
    let compared = 0;
    for (let r = 0; r < ROWS.length; r++) {
      for (let k = 0; k < CHECKS.length; k++) {
        const check = CHECKS[k]!;
        const m = maria[r]![k + 1] ?? null;
        const d = duck[r]![k + 1] as string | null;
        const norm = check.norm ?? ((t: string) => t);
        assert.deepEqual(
          d === null ? null : norm(d, "duck"),
          m === null ? null : norm(m, "maria"),
          `row ${r + 1}, column ${check.col} (${check.duck})`,
        );
        compared++;
      }
    }
    assert.deepEqual(compared, ROWS.length * CHECKS.length);
    // The NULL row is NULL in every column.
    assert(duck[3]!.slice(1).every((c) => c === null));
  });
});

Deno.test("MysqlSource keeps decimal sums exact through Parquet", async () => {
  await withMatrix(async (raw, file) => {
    const [m] = await raw.exec(
      `SELECT CAST(SUM(d38) AS CHAR), CAST(SUM(du) AS CHAR), CAST(SUM(du * 3) AS CHAR) FROM ${TABLE}`,
    );
    const [d] = await duckdb(
      `SELECT CAST(SUM(d38) AS VARCHAR), CAST(SUM(du) AS VARCHAR), CAST(SUM(du * 3) AS VARCHAR) FROM '${file}'`,
    );
    assert.deepEqual(d, m);
    assert.deepEqual(d![0], "0.000000001");
  });
});

Deno.test("MysqlSource writes DECIMAL(65,30) as an exact Decimal256 column", async () => {
  // DuckDB reads Parquet decimals wider than 38 digits as DOUBLE and mis-scales byte lengths that
  // are not a multiple of 8 (duckdb/duckdb#25058), so the values are checked with arrow-rs
  // (parquet-wasm) and DuckDB checks the column's Parquet annotation.
  await withMatrix(async (raw, file) => {
    const schema = await duckdb(
      `SELECT type, precision, scale FROM parquet_schema('${file}') WHERE name = 'd65'`,
    );
    assert.deepEqual(schema[0]!.map(String), ["FIXED_LEN_BYTE_ARRAY", "65", "30"]);
    const table = arrow.tableFromIPC(pq.readParquet(await Deno.readFile(file)).intoIPCStream());
    const column = table.getChild("d65")!;
    assert.deepEqual(String(column.type), "Decimal[65e+30]");
    const maria = await raw.exec(`SELECT CAST(d65 AS CHAR) FROM ${TABLE} ORDER BY id`);
    for (let r = 0; r < maria.length; r++) {
      const text = maria[r]![0] ?? null;
      if (text === null) {
        assert(!column.isValid(r));
        continue;
      }
      const words = column.data[0]!.values as Uint32Array;
      let v = 0n;
      for (let w = 7; w >= 0; w--) v = (v << 32n) | BigInt(words[r * 8 + w]!);
      assert.deepEqual(BigInt.asIntN(256, v), unscaled(text, 30), `row ${r + 1}`);
    }
  });
});

Deno.test("MysqlSource marks each column with its native type, fidelity and logical type", async () => {
  await withMatrix(async (_raw, file) => {
    const table = arrow.tableFromIPC(pq.readParquet(await Deno.readFile(file)).intoIPCStream());
    const md = (name: string, key: string) =>
      table.schema.fields.find((f) => f.name === name)!.metadata.get(key);
    assert.deepEqual(md("biu", "rivet.native_type"), "bigint unsigned");
    assert.deepEqual(md("b1", "rivet.native_type"), "tinyint(1)");
    assert.deepEqual(md("j", "rivet.logical_type"), "json");
    assert.deepEqual(md("e", "rivet.logical_type"), "enum");
    assert.deepEqual(md("st", "rivet.native_type"), "set");
    assert.deepEqual(md("f", "rivet.fidelity"), "lossy");
    assert.deepEqual(md("d38", "rivet.fidelity"), "exact");
  });
});

Deno.test("MysqlSource exports zero and invalid dates as NULL", async () => {
  const raw = await RawMysql.open();
  const table = "rivet_my_zero_dates";
  try {
    await raw.exec(`DROP TABLE IF EXISTS ${table}`);
    await raw.exec(`CREATE TABLE ${table} (id INT, dt DATE, dtm DATETIME(6), ts TIMESTAMP NULL)`);
    await raw.exec("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'");
    await raw.exec(
      `INSERT INTO ${table} VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
       (2, '2024-02-30', '2024-00-10 01:02:03', NULL), (3, '2024-02-29', '2024-02-29 01:02:03.5', '2024-02-29 01:02:03')`,
    );
    const source = await MysqlSource.connect({ type: "mysql", url: MYSQL_URL });
    try {
      const [batch] = await readBatches(
        await source.query(readRequest(`SELECT * FROM ${table} ORDER BY id`)),
      );
      const rows = batch!.toArray().map((r) => r.toJSON());
      assert.deepEqual(rows.map((r) => [r.dt, r.dtm, r.ts]).slice(0, 2), [
        [null, null, null],
        [null, null, null],
      ]);
      assert.deepEqual(rows[2]!.dt, 19782 * 86_400_000); // Arrow JS renders Date32 as epoch ms
      assert.deepEqual(batch!.getChild("dtm")!.data[0]!.values[2], 1709168523500000n);
    } finally {
      await source.close();
    }
  } finally {
    await raw.exec(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await raw.close();
  }
});
