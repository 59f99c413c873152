// Tests of the CSV format: golden bytes, DuckDB read-back, quoting, row counting (execution layer tests).
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { DuckDBInstance } from "@duckdb/node-api";
import { ConfigError, DataIntegrityError } from "../../errors.ts";
import { BatchBuilder } from "../../source/batch_builder.ts";
import { ALL_TYPES, allTypesBatch } from "../all_types_fixture.ts";
import { decimalText, float32Text, float64Text } from "./csv_cells.ts";
import { countCsvRecords, CsvFormat } from "./csv_format.ts";

async function encode(
  batches: arrow.RecordBatch[],
  schema = batches[0]!.schema,
): Promise<Uint8Array> {
  const enc = await new CsvFormat().encoder(schema);
  const writing = (async () => {
    const w = enc.stream.writable.getWriter();
    for (const b of batches) await w.write(b);
    await w.close();
  })();
  const bytes = new Uint8Array(await new Response(enc.stream.readable).arrayBuffer());
  await writing;
  return bytes;
}

async function duckRows(sql: string): Promise<unknown[][]> {
  const db = await DuckDBInstance.create();
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(sql)).getRows() as unknown[][];
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

const GOLDEN = [
  "b,i16,i32,i64,u64,f32,f64,d38,d50,dt,tm,ts,tstz,s,j,bin,li,ls",
  "true,-32768,-2147483648,-9223372036854775808,0,NaN,-inf," +
  "-9999999999999999999999999999.9999999999," +
  "-9999999999999999999999999999999999999999.9999999999," +
  "0001-01-01,00:00:00.000000,1969-12-31T23:59:59.999999,1969-12-30T23:59:59.999999," +
  '"he said ""hi"", then\nleft\r","{""a"":[1,2],""b"":""x,y""}",0001ff00,"[1,null,3]",' +
  '"[""a,b"",null,""q\\""uote""]"',
  "false,32767,2147483647,9223372036854775807,18446744073709551615,inf,inf," +
  "9999999999999999999999999999.9999999999," +
  "9999999999999999999999999999999999999999.9999999999," +
  "9999-12-31,23:59:59.999999,9999-12-31T23:59:59.999999,2100-01-01T00:00:00.000001," +
  "unicode ☃ 𝄞 ü,[],,[],[]",
  ",,,,,,,,,,,,,,,,,",
  "true,-1,42,1234567890123,18446744073709551614,0.1,NaN,-0.0000000005,0.0000000007," +
  "2024-01-01,01:02:03.000001,1900-01-01T00:00:00.500000,2023-11-14T22:13:20.123456," +
  ',null,00,[null],"[""""]"',
  "false,0,0,-1,1,-0,1.5,12345678901234567890.1234567890," +
  "-100000000000000000000000000000000000.0000000001," +
  "1969-12-31,00:00:00.000001,1970-01-01T00:00:00.000000,0001-01-01T00:00:00.000000," +
  'plain,"""quoted""",deadbeef,"[-2147483648,2147483647]","[""x""]"',
  "",
].join("\n");

Deno.test("CsvFormat writes the every-type batch as exactly the golden bytes", async () => {
  const bytes = await encode([allTypesBatch()]);
  assert.deepEqual(new TextDecoder().decode(bytes), GOLDEN);
});

Deno.test("CsvFormat output reads back cell by cell in DuckDB read_csv", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/all.csv`;
    await Deno.writeFile(path, await encode([allTypesBatch()]));
    const text = await duckRows(
      `SELECT * FROM read_csv('${path}', header = true, all_varchar = true, delim = ',', quote = '"', escape = '"')`,
    );
    assert.deepEqual(text.length, 5);
    assert.deepEqual(text[0]![13], 'he said "hi", then\nleft\r');
    assert.deepEqual(text[0]![14], '{"a":[1,2],"b":"x,y"}');
    assert.deepEqual(text[0]![17], '["a,b",null,"q\\"uote"]');
    assert.deepEqual(text[1]![13], "unicode ☃ 𝄞 ü");
    assert.deepEqual(text[2], new Array(ALL_TYPES.length).fill(null));
    assert.deepEqual(text[4]![14], '"quoted"');

    const typed = await duckRows(
      `SELECT i64::VARCHAR, u64::VARCHAR, f64::VARCHAR, d38::VARCHAR, dt::VARCHAR, tm::VARCHAR,
              ts::VARCHAR, hex(unhex(bin)), to_json(li::INTEGER[])::VARCHAR
       FROM read_csv('${path}', header = true, columns = {
         'b': 'BOOLEAN', 'i16': 'SMALLINT', 'i32': 'INTEGER', 'i64': 'BIGINT', 'u64': 'UBIGINT',
         'f32': 'FLOAT', 'f64': 'DOUBLE', 'd38': 'DECIMAL(38,10)', 'd50': 'VARCHAR', 'dt': 'DATE',
         'tm': 'TIME', 'ts': 'TIMESTAMP', 'tstz': 'TIMESTAMP', 's': 'VARCHAR', 'j': 'VARCHAR',
         'bin': 'VARCHAR', 'li': 'VARCHAR', 'ls': 'VARCHAR'})`,
    );
    assert.deepEqual(typed[0], [
      "-9223372036854775808",
      "0",
      "-inf",
      "-9999999999999999999999999999.9999999999",
      "0001-01-01",
      "00:00:00",
      "1969-12-31 23:59:59.999999",
      "0001FF00",
      "[1,null,3]",
    ]);
    assert.deepEqual(typed[1]!.slice(0, 7), [
      "9223372036854775807",
      "18446744073709551615",
      "inf",
      "9999999999999999999999999999.9999999999",
      "9999-12-31",
      "23:59:59.999999",
      "9999-12-31 23:59:59.999999",
    ]);
    assert.deepEqual(typed[3]![6], "1900-01-01 00:00:00.5");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CsvFormat quotes a header cell that contains a comma or a quote", async () => {
  const b = new BatchBuilder([
    { name: "a,b", type: { kind: "int32" }, nativeType: "int4", fidelity: "exact" },
    { name: 'q"x', type: { kind: "int32" }, nativeType: "int4", fidelity: "exact" },
    { name: "plain", type: { kind: "int32" }, nativeType: "int4", fidelity: "exact" },
  ]);
  for (const c of b.columns) c.append(1);
  b.endRow();
  const text = new TextDecoder().decode(await encode([b.finish()]));
  assert.deepEqual(text, '"a,b","q""x",plain\n1,1,1\n');
});

Deno.test("CsvFormat quotes a value that holds only a carriage return", async () => {
  const b = new BatchBuilder([{
    name: "s",
    type: { kind: "string" },
    nativeType: "text",
    fidelity: "exact",
  }]);
  for (const v of ["a\rb", "\r", "ok"]) {
    b.columns[0]!.append(v);
    b.endRow();
  }
  assert.deepEqual(new TextDecoder().decode(await encode([b.finish()])), 's\n"a\rb"\n"\r"\nok\n');
});

Deno.test("CsvFormat writes a sliced batch the same as the rows it covers", async () => {
  const full = new TextDecoder().decode(await encode([allTypesBatch()])).split("\n");
  const sliced = new TextDecoder().decode(await encode([allTypesBatch().slice(2, 5)]));
  // row 0 holds one quoted newline, so rows 2..4 are lines 4..6 of the full output
  assert.deepEqual(sliced, [full[0], full[4], full[5], full[6], ""].join("\n"));
});

Deno.test("CsvFormat writes the header once for several batches and also for none", async () => {
  const two = new TextDecoder().decode(await encode([allTypesBatch(), allTypesBatch()]));
  assert.deepEqual(two, GOLDEN + GOLDEN.slice(GOLDEN.indexOf("\n") + 1));
  const none = new TextDecoder().decode(await encode([], allTypesBatch().schema));
  assert.deepEqual(none, GOLDEN.slice(0, GOLDEN.indexOf("\n") + 1));
});

Deno.test("CsvFormat countRows does not count newlines inside quoted cells", async () => {
  const fmt = new CsvFormat();
  assert.deepEqual(await fmt.countRows(await encode([allTypesBatch(), allTypesBatch()])), 10);
  const enc = new TextEncoder();
  assert.deepEqual(await fmt.countRows(enc.encode('a,b\n"x\n\ny",1\n"""",2')), 2);
  assert.deepEqual(await fmt.countRows(enc.encode("a\n")), 0);
  assert.deepEqual(await fmt.countRows(new Uint8Array()), 0);
  await assert.rejects(() => fmt.countRows(enc.encode('a\n"open\n')), DataIntegrityError);
  assert.throws(() => countCsvRecords(enc.encode('"')), DataIntegrityError);
});

Deno.test("CsvFormat refuses a millisecond timestamp column, naming it", async () => {
  const schema = new arrow.Schema([
    new arrow.Field("created", new arrow.TimestampMillisecond(), true),
  ]);
  await assert.rejects(() => new CsvFormat().encoder(schema), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /CSV cannot serialize column 'created'/);
    return true;
  });
});

Deno.test("CsvFormat renders floats as the shortest text that round-trips", () => {
  const cases: [number, boolean, string][] = [
    [0.1, false, "0.1"],
    [Math.fround(0.1), true, "0.1"],
    [Math.fround(16777217), true, "16777216"],
    [Math.fround(3.4028234663852886e38), true, "3.4028235e+38"],
    [3, false, "3"],
    [-0, false, "-0"],
    [1e21, false, "1e+21"],
    [5e-324, false, "5e-324"],
    [NaN, true, "NaN"],
    [-Infinity, false, "-inf"],
  ];
  for (const [v, single, want] of cases) {
    assert.deepEqual(single ? float32Text(v) : float64Text(v), want, `${v} single=${single}`);
  }
});

Deno.test("CsvFormat renders decimals exactly with scale digits, also past 2^53 and 2^128", () => {
  const words = (x: bigint, n: number): Uint32Array => {
    let u = x < 0n ? (1n << BigInt(32 * n)) + x : x;
    const out = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      out[k] = Number(u & 0xffffffffn);
      u >>= 32n;
    }
    return out;
  };
  const cases: [bigint, number, number, string][] = [
    [12340n, 2, 4, "123.40"],
    [-5n, 2, 4, "-0.05"],
    [0n, 3, 4, "0.000"],
    [0n, 0, 4, "0"],
    [-(2n ** 53n), 0, 4, "-9007199254740992"],
    [2n ** 53n + 1n, 1, 4, "900719925474099.3"],
    [-(2n ** 53n) - 1n, 0, 4, "-9007199254740993"],
    [12n, -2, 4, "1200"],
    [2n ** 200n, 0, 8, (2n ** 200n).toString()],
    [-(10n ** 75n), 75, 8, "-1." + "0".repeat(75)],
  ];
  for (const [x, scale, n, want] of cases) {
    assert.deepEqual(decimalText(words(x, n), 0, n, scale), want);
  }
});
