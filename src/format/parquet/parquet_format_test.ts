// Tests of the Parquet format: every type and codec read back by DuckDB, Decimal256, metadata, streaming (execution layer tests).
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import * as pq from "parquet-wasm";
import { DuckDBInstance } from "@duckdb/node-api";
import { ConfigError, DataIntegrityError } from "../../errors.ts";
import { BatchBuilder } from "../../source/batch_builder.ts";
import { ALL_TYPES, ALL_TYPES_ROWS, allTypesBatch } from "../all_types_fixture.ts";
import { type ParquetCodec, ParquetFormat } from "./parquet_format.ts";
import { CREATED_BY } from "./created_by.ts";

async function encode(
  format: ParquetFormat,
  batches: Iterable<arrow.RecordBatch>,
  schema: arrow.Schema,
) {
  const enc = await format.encoder(schema);
  const writing = (async () => {
    const w = enc.stream.writable.getWriter();
    for (const b of batches) await w.write(b);
    await w.close();
  })();
  const bytes = new Uint8Array(await new Response(enc.stream.readable).arrayBuffer());
  await writing;
  return bytes;
}

async function withDuck<T>(
  fn: (q: (sql: string) => Promise<unknown[][]>) => Promise<T>,
): Promise<T> {
  const db = await DuckDBInstance.create();
  const con = await db.connect();
  try {
    await con.run("SET TimeZone = 'UTC'");
    return await fn(async (sql) => (await con.runAndReadAll(sql)).getRows() as unknown[][]);
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// DuckDB's text of every fixture cell except d50 (see the Decimal256 test), row by row.
const EXPECTED = [
  [
    "true",
    "-32768",
    "-2147483648",
    "-9223372036854775808",
    "0",
    "nan",
    "-inf",
    "-9999999999999999999999999999.9999999999",
    "0001-01-01",
    "00:00:00",
    "1969-12-31 23:59:59.999999",
    "1969-12-30 23:59:59.999999+00",
    'he said "hi", then\nleft\r',
    '{"a":[1,2],"b":"x,y"}',
    "0001FF00",
    "[1,null,3]",
    '["a,b",null,"q\\"uote"]',
  ],
  [
    "false",
    "32767",
    "2147483647",
    "9223372036854775807",
    "18446744073709551615",
    "inf",
    "inf",
    "9999999999999999999999999999.9999999999",
    "9999-12-31",
    "23:59:59.999999",
    "9999-12-31 23:59:59.999999",
    "2100-01-01 00:00:00.000001+00",
    "unicode ☃ 𝄞 ü",
    "[]",
    "",
    "[]",
    "[]",
  ],
  new Array(17).fill(null),
  [
    "true",
    "-1",
    "42",
    "1234567890123",
    "18446744073709551614",
    "0.1",
    "nan",
    "-0.0000000005",
    "2024-01-01",
    "01:02:03.000001",
    "1900-01-01 00:00:00.5",
    "2023-11-14 22:13:20.123456+00",
    "",
    "null",
    "00",
    "[null]",
    '[""]',
  ],
  [
    "false",
    "0",
    "0",
    "-1",
    "1",
    "-0.0",
    "1.5",
    "12345678901234567890.1234567890",
    "1969-12-31",
    "00:00:00.000001",
    "1970-01-01 00:00:00",
    "0001-01-01 00:00:00+00",
    "plain",
    '"quoted"',
    "DEADBEEF",
    "[-2147483648,2147483647]",
    '["x"]',
  ],
];

const SELECT_ALL_BUT_D50 = `b::VARCHAR, i16::VARCHAR, i32::VARCHAR, i64::VARCHAR, u64::VARCHAR,
  f32::VARCHAR, f64::VARCHAR, d38::VARCHAR, dt::VARCHAR, tm::VARCHAR, ts::VARCHAR, tstz::VARCHAR,
  s, j, hex(bin), to_json(li)::VARCHAR, to_json(ls)::VARCHAR`;

const DUCK_TYPES = [
  "BOOLEAN",
  "SMALLINT",
  "INTEGER",
  "BIGINT",
  "UBIGINT",
  "FLOAT",
  "DOUBLE",
  "DECIMAL(38,10)",
  "DOUBLE", // d50: DuckDB reads decimals over 38 digits as DOUBLE
  "DATE",
  "TIME",
  "TIMESTAMP",
  "TIMESTAMP WITH TIME ZONE",
  "VARCHAR",
  "VARCHAR",
  "BLOB",
  "INTEGER[]",
  "VARCHAR[]",
];

const CODEC_NAMES: Record<ParquetCodec, string> = {
  zstd: "ZSTD",
  snappy: "SNAPPY",
  gzip: "GZIP",
  lz4: "LZ4_RAW",
  none: "UNCOMPRESSED",
};

for (const codec of Object.keys(CODEC_NAMES) as ParquetCodec[]) {
  Deno.test(`ParquetFormat with ${codec} writes every Rivet type so DuckDB reads each cell back`, async () => {
    await inTempDir(async (dir) => {
      const path = `${dir}/all.parquet`;
      const format = new ParquetFormat({ codec, level: 5 });
      const bytes = await encode(format, [allTypesBatch()], allTypesBatch().schema);
      await Deno.writeFile(path, bytes);
      assert.equal(await format.countRows(bytes), ALL_TYPES_ROWS.length);
      await withDuck(async (q) => {
        assert.deepEqual(await q(`SELECT ${SELECT_ALL_BUT_D50} FROM '${path}'`), EXPECTED);
        const types = await q(
          `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '${path}')`,
        );
        assert.deepEqual(types, ALL_TYPES.map((c, i) => [c.name, DUCK_TYPES[i]]));
        const codecs = await q(`SELECT DISTINCT compression FROM parquet_metadata('${path}')`);
        assert.deepEqual(codecs, [[CODEC_NAMES[codec]]]);
        assert.deepEqual(await q(`SELECT created_by FROM parquet_file_metadata('${path}')`), [[
          CREATED_BY,
        ]]);
      });
    });
  });
}

Deno.test("ParquetFormat stores decimal(50,10) exactly as a 21-byte big-endian FIXED_LEN_BYTE_ARRAY", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/d50.parquet`;
    const bytes = await encode(
      new ParquetFormat({ codec: "zstd" }),
      [allTypesBatch()],
      allTypesBatch().schema,
    );
    await Deno.writeFile(path, bytes);
    // An independent reader of the annotation: DuckDB sees DECIMAL(50,10) in a 21-byte FLBA.
    await withDuck(async (q) => {
      const schema = await q(
        `SELECT type, type_length, logical_type FROM parquet_schema('${path}') WHERE name = 'd50'`,
      );
      assert.deepEqual(schema, [[
        "FIXED_LEN_BYTE_ARRAY",
        "21",
        "DecimalType(scale=10, precision=50)",
      ]]);
    });
    // DuckDB converts >38-digit decimals to DOUBLE and mis-scales FLBA widths that are not a
    // multiple of 8 (duckdb/duckdb PR #25058), so the values are checked through arrow-rs.
    const table = arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream());
    const col = table.getChild("d50")!;
    assert.ok(
      arrow.DataType.isDecimal(col.type) && col.type.bitWidth === 256 && col.type.precision === 50,
    );
    const got: (bigint | null)[] = [];
    for (const data of col.data) {
      const words = data.values as Uint32Array;
      for (let i = 0; i < data.length; i++) {
        if (!data.getValid(i)) {
          got.push(null);
          continue;
        }
        let x = 0n;
        for (let k = 7; k >= 0; k--) x = (x << 32n) | BigInt(words[i * 8 + k]!);
        got.push(x >= 1n << 255n ? x - (1n << 256n) : x);
      }
    }
    assert.deepEqual(got, ALL_TYPES_ROWS.map((r) => r[8] as bigint | null));
    // And the raw bytes: the unscaled value 10^50 - 1 as 21 big-endian bytes is in the file.
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.ok(hex.includes((10n ** 50n - 1n).toString(16).padStart(42, "0")));
  });
});

Deno.test("ParquetFormat keeps the rivet.* field metadata in the file's Arrow schema", async () => {
  const bytes = await encode(
    new ParquetFormat({ codec: "snappy" }),
    [allTypesBatch()],
    allTypesBatch().schema,
  );
  const schema = arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream()).schema;
  const j = schema.fields.find((f) => f.name === "j")!;
  assert.equal(j.metadata.get("rivet.logical_type"), "json");
  assert.equal(j.metadata.get("rivet.native_type"), "jsonb");
  assert.equal(
    schema.fields.find((f) => f.name === "u64")!.metadata.get("rivet.native_type"),
    "bigint unsigned",
  );
});

function intBatches(
  batches: number,
  rows: number,
): { schema: arrow.Schema; batches: Iterable<arrow.RecordBatch> } {
  const b = new BatchBuilder([
    { name: "id", type: { kind: "int64" }, nativeType: "int8", fidelity: "exact" },
    { name: "v", type: { kind: "float64" }, nativeType: "float8", fidelity: "exact" },
  ]);
  return {
    schema: b.schema,
    batches: (function* () {
      for (let n = 0; n < batches; n++) {
        for (let i = 0; i < rows; i++) {
          b.columns[0]!.append(BigInt(n * rows + i));
          b.columns[1]!.append(Math.sin(n * rows + i));
          b.endRow();
        }
        yield b.finish();
      }
    })(),
  };
}

Deno.test("ParquetFormat cuts row groups at rowGroupRows and countRows reads the footer", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/groups.parquet`;
    const format = new ParquetFormat({ codec: "zstd", rowGroupRows: 1000 });
    const { schema, batches } = intBatches(7, 1500);
    const bytes = await encode(format, batches, schema);
    await Deno.writeFile(path, bytes);
    assert.equal(await format.countRows(bytes), 10500);
    await withDuck(async (q) => {
      const groups = await q(
        `SELECT row_group_id, row_group_num_rows FROM parquet_metadata('${path}') WHERE column_id = 0 ORDER BY 1`,
      );
      assert.deepEqual(groups.map((g) => Number(g[1])), [...new Array(10).fill(1000), 500]);
      assert.deepEqual(await q(`SELECT count(*)::VARCHAR, sum(id)::VARCHAR FROM '${path}'`), [[
        "10500",
        String((10499 * 10500) / 2),
      ]]);
    });
  });
});

Deno.test("ParquetFormat emits bytes while batches are still coming in", async () => {
  const format = new ParquetFormat({ codec: "zstd", rowGroupRows: 1000 });
  const total = 200;
  const { schema, batches } = intBatches(total, 1000);
  const enc = await format.encoder(schema);
  let written = 0;
  let writtenAtFirstBytes = -1;
  let size = 0;
  const reading = (async () => {
    for await (const chunk of enc.stream.readable) {
      if (writtenAtFirstBytes < 0) writtenAtFirstBytes = written;
      size += chunk.length;
    }
  })();
  const w = enc.stream.writable.getWriter();
  for (const b of batches) {
    await w.write(b);
    written++;
  }
  await w.close();
  await reading;
  assert.ok(size > 0);
  assert.ok(
    writtenAtFirstBytes >= 0 && writtenAtFirstBytes < total / 10,
    `first bytes came after ${writtenAtFirstBytes} of ${total} batches`,
  );
});

Deno.test("ParquetFormat writes a valid empty file when no batch arrives", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/empty.parquet`;
    const format = new ParquetFormat({ codec: "gzip" });
    const schema = allTypesBatch().schema;
    const bytes = await encode(format, [], schema);
    await Deno.writeFile(path, bytes);
    assert.equal(await format.countRows(bytes), 0);
    await withDuck(async (q) => {
      assert.deepEqual(await q(`SELECT count(*)::VARCHAR FROM '${path}'`), [["0"]]);
      const cols = await q(`SELECT column_name FROM (DESCRIBE SELECT * FROM '${path}')`);
      assert.deepEqual(cols.map((c) => c[0]), ALL_TYPES.map((c) => c.name));
    });
  });
});

Deno.test("ParquetFormat refuses a decimal with a negative scale, naming the column", async () => {
  const schema = new arrow.Schema([
    new arrow.Field("amount", new arrow.Decimal(-2, 10, 128), true),
  ]);
  await assert.rejects(() => new ParquetFormat({ codec: "zstd" }).encoder(schema), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /column 'amount'/);
    return true;
  });
});

Deno.test("ParquetFormat countRows rejects bytes that are not Parquet", async () => {
  await assert.rejects(
    () => new ParquetFormat({ codec: "zstd" }).countRows(new TextEncoder().encode("a,b\n1,2\n")),
    DataIntegrityError,
  );
});
