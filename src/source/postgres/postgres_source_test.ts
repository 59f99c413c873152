// Table-driven tests of the pure PostgreSQL type mapping, decoders and array parser (execution layer).
import assert from "node:assert/strict";
import type { RivetType } from "../rivet_types.ts";
import { parsePgArray, pgArrayDims } from "./postgres_array.ts";
import { parsePgTarget, parseWorkMem } from "./postgres_source.ts";
import {
  detectMoneyFormat,
  numericTypmod,
  parseMoneyText,
  type PgCatalog,
  type PgColumnInput,
  type PgTypeInfo,
  planPgColumn,
} from "./postgres_types.ts";

function t(oid: number, name: string, extra: Partial<PgTypeInfo> = {}): [number, PgTypeInfo] {
  return [oid, {
    oid,
    name,
    typtype: "b",
    category: "U",
    elem: 0,
    baseType: 0,
    typmod: -1,
    delimiter: ",",
    ...extra,
  }];
}

const arr = (oid: number, name: string, elem: number): [number, PgTypeInfo] =>
  t(oid, name, { category: "A", elem });

/** Typmod of numeric(p,s). */
const nm = (p: number, s: number) => ((p << 16) | (s & 0x7ff)) + 4;

const CATALOG: PgCatalog = new Map([
  t(16, "bool"),
  t(21, "int2"),
  t(23, "int4"),
  t(20, "int8"),
  t(26, "oid"),
  t(700, "float4"),
  t(701, "float8"),
  t(1700, "numeric"),
  t(790, "money"),
  t(1082, "date"),
  t(1083, "time"),
  t(1114, "timestamp"),
  t(1184, "timestamptz"),
  t(25, "text"),
  t(1043, "varchar"),
  t(1042, "bpchar"),
  t(18, "char"),
  t(19, "name", { elem: 18, category: "S" }),
  t(17, "bytea"),
  t(114, "json"),
  t(3802, "jsonb"),
  t(2950, "uuid"),
  t(1186, "interval"),
  t(1266, "timetz"),
  t(869, "inet"),
  t(774, "macaddr8"),
  t(1562, "varbit"),
  t(603, "box", { elem: 600, delimiter: ";", category: "G" }),
  t(600, "point", { elem: 701, category: "G" }),
  t(3904, "int4range", { typtype: "r" }),
  t(4451, "int4multirange", { typtype: "m" }),
  t(3614, "tsvector"),
  t(22, "int2vector", { category: "A", elem: 21 }),
  t(90001, "mood", { typtype: "e", category: "E" }),
  t(90002, "price", { typtype: "d", baseType: 1700, typmod: nm(12, 2) }),
  t(90003, "free_num", { typtype: "d", baseType: 1700 }),
  t(90004, "pair", { typtype: "c", category: "C" }),
  arr(1007, "_int4", 23),
  arr(1020, "_box", 603),
  arr(1231, "_numeric", 1700),
  arr(1182, "_date", 1082),
  arr(1001, "_bytea", 17),
  arr(90011, "_mood", 90001),
  arr(90012, "_price", 90002),
]);

function plan(typeOid: number, typmod = -1, extra: Partial<PgColumnInput> = {}) {
  return planPgColumn({ name: "c", typeOid, typmod, nativeType: "x", ...extra }, CATALOG, {
    money: { fractionDigits: 2, decimalSeparator: "." },
  });
}

const MAPPINGS: readonly [string, number, number, RivetType, string][] = [
  ["bool", 16, -1, { kind: "bool" }, "exact"],
  ["int2", 21, -1, { kind: "int16" }, "exact"],
  ["int4", 23, -1, { kind: "int32" }, "exact"],
  ["int8", 20, -1, { kind: "int64" }, "exact"],
  ["oid", 26, -1, { kind: "int64" }, "exact"],
  ["float4", 700, -1, { kind: "float32" }, "exact"],
  ["float8", 701, -1, { kind: "float64" }, "exact"],
  ["numeric(38,9)", 1700, nm(38, 9), { kind: "decimal", precision: 38, scale: 9 }, "exact"],
  ["numeric(50,10)", 1700, nm(50, 10), { kind: "decimal", precision: 50, scale: 10 }, "exact"],
  ["numeric(5,-2)", 1700, nm(5, -2), { kind: "decimal", precision: 7, scale: 0 }, "exact"],
  ["numeric(2,4)", 1700, nm(2, 4), { kind: "decimal", precision: 4, scale: 4 }, "exact"],
  ["numeric(100,2)", 1700, nm(100, 2), { kind: "string", logical: "decimal" }, "compatible"],
  ["numeric", 1700, -1, { kind: "string", logical: "decimal" }, "compatible"],
  ["money", 790, -1, { kind: "decimal", precision: 19, scale: 2 }, "exact"],
  ["date", 1082, -1, { kind: "date" }, "exact"],
  ["time", 1083, -1, { kind: "time" }, "exact"],
  ["timestamp", 1114, -1, { kind: "timestamp" }, "exact"],
  ["timestamptz", 1184, -1, { kind: "timestamp_tz" }, "exact"],
  ["text", 25, -1, { kind: "string" }, "exact"],
  ["varchar", 1043, -1, { kind: "string" }, "exact"],
  ["bpchar", 1042, -1, { kind: "string" }, "exact"],
  ['"char"', 18, -1, { kind: "string" }, "exact"],
  ["name", 19, -1, { kind: "string" }, "exact"],
  ["bytea", 17, -1, { kind: "binary" }, "exact"],
  ["json", 114, -1, { kind: "string", logical: "json" }, "logical_string"],
  ["jsonb", 3802, -1, { kind: "string", logical: "json" }, "logical_string"],
  ["uuid", 2950, -1, { kind: "string", logical: "uuid" }, "logical_string"],
  ["interval", 1186, -1, { kind: "string", logical: "interval" }, "compatible"],
  ["timetz", 1266, -1, { kind: "string", logical: "timetz" }, "compatible"],
  ["inet", 869, -1, { kind: "string", logical: "inet" }, "compatible"],
  ["macaddr8", 774, -1, { kind: "string", logical: "macaddr" }, "compatible"],
  ["varbit", 1562, -1, { kind: "string", logical: "bit" }, "compatible"],
  [
    "box (not an array despite typelem)",
    603,
    -1,
    { kind: "string", logical: "other" },
    "compatible",
  ],
  ["point", 600, -1, { kind: "string", logical: "other" }, "compatible"],
  ["int4range", 3904, -1, { kind: "string", logical: "range" }, "compatible"],
  ["int4multirange", 4451, -1, { kind: "string", logical: "range" }, "compatible"],
  ["tsvector", 3614, -1, { kind: "string", logical: "other" }, "compatible"],
  ["int2vector", 22, -1, { kind: "string", logical: "other" }, "compatible"],
  ["enum", 90001, -1, { kind: "string", logical: "enum" }, "compatible"],
  ["composite", 90004, -1, { kind: "string", logical: "other" }, "compatible"],
  ["domain over numeric(12,2)", 90002, -1, { kind: "decimal", precision: 12, scale: 2 }, "exact"],
  ["domain over numeric", 90003, -1, { kind: "string", logical: "decimal" }, "compatible"],
  ["unknown oid", 123456, -1, { kind: "string", logical: "other" }, "compatible"],
  ["int4[]", 1007, -1, { kind: "list", item: { kind: "int32" } }, "compatible"],
  ["box[]", 1020, -1, { kind: "list", item: { kind: "string", logical: "other" } }, "compatible"],
  [
    "numeric(10,2)[]",
    1231,
    nm(10, 2),
    { kind: "list", item: { kind: "decimal", precision: 10, scale: 2 } },
    "compatible",
  ],
  ["mood[]", 90011, -1, { kind: "list", item: { kind: "string", logical: "enum" } }, "compatible"],
  [
    "price[]",
    90012,
    -1,
    { kind: "list", item: { kind: "decimal", precision: 12, scale: 2 } },
    "compatible",
  ],
];

for (const [label, oid, typmod, type, fidelity] of MAPPINGS) {
  Deno.test(`PostgresSource maps ${label} to ${JSON.stringify(type)} (${fidelity})`, () => {
    const p = plan(oid, typmod);
    assert.deepEqual(p.spec.type, type);
    assert.equal(p.spec.fidelity, fidelity);
  });
}

Deno.test("PostgresSource maps a 2-dimensional int4[] column to nested lists", () => {
  const p = plan(1007, -1, { arrayDims: 2 });
  assert.deepEqual(p.spec.type, { kind: "list", item: { kind: "list", item: { kind: "int32" } } });
  assert.deepEqual(p.decode("{{1,2},{3,NULL}}"), [[1, 2], [3, null]]);
  assert.throws(() => p.decode("{1,2}"), /fewer than 2 dimensions/);
  assert.deepEqual(p.decode("{}"), []);
});

Deno.test("PostgresSource keeps money as exact text when the server's format is unknown", () => {
  const p = planPgColumn({ name: "m", typeOid: 790, typmod: -1, nativeType: "money" }, CATALOG);
  assert.deepEqual(p.spec.type, { kind: "string", logical: "money" });
  assert.equal(p.decode("$1,234.56"), "$1,234.56");
});

const DECODES: readonly [string, number, number, string, unknown][] = [
  ["bool true", 16, -1, "t", true],
  ["int2 min", 21, -1, "-32768", -32768],
  ["int4 max", 23, -1, "2147483647", 2147483647],
  ["int8 min", 20, -1, "-9223372036854775808", -(2n ** 63n)],
  ["oid max", 26, -1, "4294967295", 4294967295n],
  ["float8 NaN", 701, -1, "NaN", NaN],
  ["float8 -Infinity", 701, -1, "-Infinity", -Infinity],
  ["float8 -0", 701, -1, "-0", -0],
  ["float8 shortest repr", 701, -1, "0.1", 0.1],
  [
    "numeric(38,9) max",
    1700,
    nm(38, 9),
    "99999999999999999999999999999.999999999",
    10n ** 38n - 1n,
  ],
  ["numeric(10,2) negative", 1700, nm(10, 2), "-0.05", -5n],
  ["numeric(5,-2)", 1700, nm(5, -2), "1234500", 1234500n],
  ["unconstrained numeric NaN stays text", 1700, -1, "NaN", "NaN"],
  ["money with grouping", 790, -1, "-$92,233,720,368,547,758.08", -9223372036854775808n],
  ["date BC", 1082, -1, "0044-03-15 BC", -735160],
  ["date far future", 1082, -1, "5874897-12-31", 2145042905],
  ["time 24:00", 1083, -1, "24:00:00", 86_400_000_000n],
  ["timestamp pre-1970 micros", 1114, -1, "1969-12-31 23:59:59.999999", -1n],
  ["timestamptz with offset", 1184, -1, "2024-02-29 12:00:00.5+00", 1709208000500000n],
  ["bytea zero bytes", 17, -1, "\\x00ff00", new Uint8Array([0, 255, 0])],
  [
    "uuid lowercased",
    2950,
    -1,
    "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
  ],
  ["int4[] with NULL elements", 1007, -1, "{1,NULL,-3}", [1, null, -3]],
  ["empty array", 1007, -1, "{}", []],
  ["array with lower bound decoration", 1007, -1, "[0:1]={7,8}", [7, 8]],
  ["box[] with ; delimiter", 1020, -1, "{(1,1),(0,0);(3,3),(2,2)}", ["(1,1),(0,0)", "(3,3),(2,2)"]],
  ["numeric(10,2)[]", 1231, nm(10, 2), '{1.50,NULL,"-2.00"}', [150n, null, -200n]],
  ["bytea[]", 1001, -1, '{"\\\\x0001",NULL}', [new Uint8Array([0, 1]), null]],
];

for (const [label, oid, typmod, text, expected] of DECODES) {
  Deno.test(`PostgresSource decodes ${label}`, () => {
    assert.deepEqual(plan(oid, typmod).decode(text), expected);
  });
}

const REJECTS: readonly [string, number, number, string, RegExp][] = [
  ["NaN into numeric(10,2)", 1700, nm(10, 2), "NaN", /NaN cannot be stored in decimal\(10,2\)/],
  ["Infinity into numeric(10,2)", 1700, nm(10, 2), "Infinity", /Infinity cannot be stored/],
  ["date infinity", 1082, -1, "infinity", /date 'infinity' has no Arrow/],
  ["timestamp -infinity", 1114, -1, "-infinity", /timestamp '-infinity'/],
  ["int2 out of range", 21, -1, "40000", /not a int16/],
  [
    "a timestamp beyond 64-bit microseconds",
    1114,
    -1,
    "294276-12-31 23:59:59.999999",
    /outside the range of microseconds/,
  ],
  ["an unterminated array", 1007, -1, '{"a', /unterminated/],
  ["a 2-D value in a 1-D column", 1007, -1, "{{1},{2}}", /more than 1 dimension/],
];

for (const [label, oid, typmod, text, re] of REJECTS) {
  Deno.test(`PostgresSource rejects ${label} instead of storing NULL`, () => {
    assert.throws(() => plan(oid, typmod).decode(text), re);
  });
}

Deno.test('parsePgArray handles quotes, backslashes, NULL vs "NULL" and delimiters', () => {
  const cases: [string, unknown[]][] = [
    ['{"a,b","c\\"d","e\\\\f",NULL,"NULL",null,"",x y}', [
      "a,b",
      'c"d',
      "e\\f",
      null,
      "NULL",
      null,
      "",
      "x y",
    ]],
    ['{"{}","line\nbreak"," lead"}', ["{}", "line\nbreak", " lead"]],
    ["{ 1 , 2 }", ["1", "2"]],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(parsePgArray(text, ",", 1, (s) => s), expected, text);
  }
  assert.equal(pgArrayDims("{}"), 0);
  assert.equal(pgArrayDims("{{1}}"), 2);
  assert.equal(pgArrayDims("[2:3]={1,2}"), 1);
});

Deno.test("PostgresSource applies a decimal override and refuses values that do not fit it", () => {
  const override: RivetType = { kind: "decimal", precision: 6, scale: 2 };
  const p = plan(1700, -1, { override });
  assert.deepEqual(p.spec.type, override);
  assert.equal(p.decode("1234.5"), 123450n);
  assert.throws(() => p.decode("1.234"), /more than 2 fraction digits/);
  assert.throws(() => p.decode("12345.1"), /does not fit decimal\(6,2\)/);
  assert.throws(() => p.decode("NaN"), /NaN cannot be stored/);
});

Deno.test("PostgresSource applies string, uuid, json and int overrides", () => {
  assert.equal(plan(1186, -1, { override: { kind: "string" } }).decode("P1D"), "P1D");
  assert.equal(
    plan(25, -1, { override: { kind: "string", logical: "uuid" } }).decode(
      "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}",
    ),
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
  );
  assert.throws(
    () => plan(25, -1, { override: { kind: "string", logical: "json" } }).decode("{x"),
    /not valid JSON/,
  );
  assert.equal(plan(1700, nm(10, 0), { override: { kind: "int32" } }).decode("42"), 42);
  assert.deepEqual(
    plan(1007, -1, { override: { kind: "list", item: { kind: "int64" } } }).decode("{1}"),
    [1n],
  );
  assert.throws(() => plan(1007, -1, { override: { kind: "int32" } }), /cannot be read as int32/);
  assert.throws(
    () => plan(23, -1, { override: { kind: "list", item: { kind: "int32" } } }),
    /not an array/,
  );
});

Deno.test("numericTypmod decodes precision and signed scale", () => {
  assert.equal(numericTypmod(-1), undefined);
  assert.deepEqual(numericTypmod(nm(38, 9)), { precision: 38, scale: 9 });
  assert.deepEqual(numericTypmod(nm(5, -2)), { precision: 5, scale: -2 });
});

Deno.test("detectMoneyFormat learns fraction digits and separator from the server's rendering", () => {
  const cases: [string, unknown][] = [
    ["-$123,456.78", { fractionDigits: 2, decimalSeparator: "." }],
    ["-123.456,78 €", { fractionDigits: 2, decimalSeparator: "," }],
    ["-￥123,457", { fractionDigits: 0, decimalSeparator: "" }],
    ["-123,456.780 BD", { fractionDigits: 3, decimalSeparator: "." }],
    ["($123,456.78)", { fractionDigits: 2, decimalSeparator: "." }],
    ["garbage", undefined],
  ];
  for (const [probe, expected] of cases) {
    assert.deepEqual(detectMoneyFormat(probe), expected, probe);
  }
});

Deno.test("parseMoneyText reads locale renderings exactly", () => {
  const dot = { fractionDigits: 2, decimalSeparator: "." };
  const comma = { fractionDigits: 2, decimalSeparator: "," };
  assert.equal(parseMoneyText("$0.01", dot), 1n);
  assert.equal(parseMoneyText("($1,000.00)", dot), -100000n);
  assert.equal(parseMoneyText("-1.234,56 €", comma), -123456n);
  assert.equal(parseMoneyText("Fr. 1'234.50", dot), 123450n);
  assert.equal(parseMoneyText("1,234.50 kr.", dot), 123450n);
  assert.throws(() => parseMoneyText("$12", dot), /not a money value/);
});

Deno.test("parsePgTarget names host, port and database but keeps the password out of sight", () => {
  const t = parsePgTarget("postgres://app:s3cr%40t@db.example:6432/sales?sslmode=require");
  assert.deepEqual([t.host, t.port, t.database, t.user, t.password], [
    "db.example",
    6432,
    "sales",
    "app",
    "s3cr@t",
  ]);
});

Deno.test("parseWorkMem reads PostgreSQL memory units", () => {
  assert.equal(parseWorkMem("4MB"), 4 * 1024 * 1024);
  assert.equal(parseWorkMem("64kB"), 64 * 1024);
  assert.equal(parseWorkMem("1GB"), 1024 ** 3);
  assert.equal(parseWorkMem("1024"), 1024 * 1024);
  assert.equal(parseWorkMem("lots"), undefined);
});
