// Table-driven tests of the pure MySQL column mapping and cell converters (execution layer, tests).
import assert from "node:assert/strict";
import { ValueError } from "../text_values.ts";
import {
  mapMysqlColumn,
  mysqlCellConverter,
  mysqlColumnMapping,
  type MysqlFieldMeta,
  MysqlFlag,
  MysqlType,
  unsupportedColumnsMessage,
} from "./mysql_types.ts";

const UNS = MysqlFlag.UNSIGNED;
const field = (
  columnType: number,
  over: Partial<MysqlFieldMeta> = {},
): MysqlFieldMeta => ({
  name: "c",
  columnType,
  flags: 0,
  characterSet: 63,
  columnLength: 11,
  decimals: 0,
  ...over,
});

// [description, field, expected Rivet label-ish type, native type, fidelity]
const MAPPING: ReadonlyArray<[string, MysqlFieldMeta, unknown, string, string]> = [
  [
    "TINYINT(1)",
    field(MysqlType.TINY, { columnLength: 1 }),
    { kind: "bool" },
    "tinyint(1)",
    "exact",
  ],
  ["TINYINT", field(MysqlType.TINY, { columnLength: 4 }), { kind: "int16" }, "tinyint", "exact"],
  [
    "TINYINT UNSIGNED",
    field(MysqlType.TINY, { columnLength: 3, flags: UNS }),
    { kind: "int16" },
    "tinyint unsigned",
    "exact",
  ],
  ["SMALLINT", field(MysqlType.SHORT), { kind: "int16" }, "smallint", "exact"],
  [
    "SMALLINT UNSIGNED",
    field(MysqlType.SHORT, { flags: UNS }),
    { kind: "int32" },
    "smallint unsigned",
    "exact",
  ],
  ["MEDIUMINT", field(MysqlType.INT24), { kind: "int32" }, "mediumint", "exact"],
  [
    "MEDIUMINT UNSIGNED",
    field(MysqlType.INT24, { flags: UNS }),
    { kind: "int64" },
    "mediumint unsigned",
    "exact",
  ],
  ["INT", field(MysqlType.LONG), { kind: "int32" }, "int", "exact"],
  [
    "INT UNSIGNED",
    field(MysqlType.LONG, { flags: UNS }),
    { kind: "int64" },
    "int unsigned",
    "exact",
  ],
  ["BIGINT", field(MysqlType.LONGLONG), { kind: "int64" }, "bigint", "exact"],
  [
    "BIGINT UNSIGNED",
    field(MysqlType.LONGLONG, { flags: UNS }),
    { kind: "uint64" },
    "bigint unsigned",
    "exact",
  ],
  ["FLOAT", field(MysqlType.FLOAT), { kind: "float32" }, "float", "lossy"],
  ["DOUBLE", field(MysqlType.DOUBLE), { kind: "float64" }, "double", "exact"],
  [
    "DECIMAL(38,9)",
    field(MysqlType.NEWDECIMAL, { columnLength: 40, decimals: 9 }),
    { kind: "decimal", precision: 38, scale: 9 },
    "decimal",
    "exact",
  ],
  [
    "DECIMAL(65,30)",
    field(MysqlType.NEWDECIMAL, { columnLength: 67, decimals: 30 }),
    { kind: "decimal", precision: 65, scale: 30 },
    "decimal",
    "exact",
  ],
  [
    "DECIMAL(10,0) UNSIGNED",
    field(MysqlType.NEWDECIMAL, { columnLength: 10, flags: UNS }),
    { kind: "decimal", precision: 10, scale: 0 },
    "decimal",
    "exact",
  ],
  [
    "DECIMAL(5,2) UNSIGNED",
    field(MysqlType.NEWDECIMAL, { columnLength: 6, decimals: 2, flags: UNS }),
    { kind: "decimal", precision: 5, scale: 2 },
    "decimal",
    "exact",
  ],
  [
    "CHAR utf8mb4",
    field(MysqlType.STRING, { characterSet: 45 }),
    { kind: "string" },
    "char",
    "exact",
  ],
  [
    "VARCHAR _bin collation (BINARY flag, text charset)",
    field(MysqlType.VAR_STRING, { characterSet: 46, flags: MysqlFlag.BINARY }),
    { kind: "string" },
    "varchar",
    "exact",
  ],
  ["TEXT", field(MysqlType.BLOB, { characterSet: 45 }), { kind: "string" }, "text", "exact"],
  [
    "BINARY",
    field(MysqlType.STRING, { flags: MysqlFlag.BINARY }),
    { kind: "binary" },
    "binary",
    "exact",
  ],
  ["VARBINARY", field(MysqlType.VAR_STRING), { kind: "binary" }, "varbinary", "exact"],
  ["LONGBLOB", field(MysqlType.BLOB), { kind: "binary" }, "blob", "exact"],
  [
    "ENUM flag",
    field(MysqlType.STRING, { characterSet: 45, flags: MysqlFlag.ENUM }),
    { kind: "string", logical: "enum" },
    "enum",
    "compatible",
  ],
  [
    "SET flag",
    field(MysqlType.STRING, { characterSet: 45, flags: MysqlFlag.SET }),
    { kind: "string", logical: "enum" },
    "set",
    "compatible",
  ],
  [
    "MySQL JSON",
    field(MysqlType.JSON),
    { kind: "string", logical: "json" },
    "json",
    "logical_string",
  ],
  [
    "MariaDB JSON (LONGTEXT + extended format)",
    field(MysqlType.BLOB, { characterSet: 45, extendedFormat: "json" }),
    { kind: "string", logical: "json" },
    "json",
    "logical_string",
  ],
  [
    "MariaDB UUID",
    field(MysqlType.STRING, { characterSet: 45, extendedTypeName: "uuid" }),
    { kind: "string", logical: "uuid" },
    "uuid",
    "compatible",
  ],
  ["DATE", field(MysqlType.DATE), { kind: "date" }, "date", "exact"],
  ["TIME", field(MysqlType.TIME), { kind: "time" }, "time", "exact"],
  ["DATETIME", field(MysqlType.DATETIME), { kind: "timestamp" }, "datetime", "exact"],
  ["TIMESTAMP", field(MysqlType.TIMESTAMP), { kind: "timestamp_tz" }, "timestamp", "exact"],
  ["BIT(1)", field(MysqlType.BIT, { columnLength: 1 }), { kind: "bool" }, "bit(1)", "exact"],
  ["BIT(8)", field(MysqlType.BIT, { columnLength: 8 }), { kind: "int64" }, "bit", "exact"],
  ["YEAR", field(MysqlType.YEAR), { kind: "int16" }, "year", "exact"],
  ["GEOMETRY", field(MysqlType.GEOMETRY), { kind: "binary" }, "geometry", "compatible"],
];

Deno.test("mapMysqlColumn maps every MySQL column kind per spec 6.8.3", () => {
  for (const [what, f, type, native, fidelity] of MAPPING) {
    const { spec, unsupportedReason } = mapMysqlColumn(f);
    assert.deepEqual(
      [spec.type, spec.nativeType, spec.fidelity, unsupportedReason],
      [type, native, fidelity, undefined],
      what,
    );
  }
});

Deno.test("mapMysqlColumn marks VECTOR and out-of-range decimals unsupported with a reason", () => {
  const cases = [
    field(MysqlType.VECTOR),
    field(MysqlType.NEWDECIMAL, { columnLength: 70, decimals: 2 }),
    field(MysqlType.NEWDECIMAL, { columnLength: 20, decimals: 39 }),
    field(0x99),
  ];
  for (const f of cases) {
    const m = mapMysqlColumn(f);
    assert.equal(m.spec.fidelity, "unsupported");
    assert.ok(m.unsupportedReason);
  }
  const msg = unsupportedColumnsMessage(cases.map(mapMysqlColumn));
  assert.match(
    msg!,
    /^4 column\(s\) have no safe Rivet mapping — add column overrides in rivet\.yaml:\n• c \(MySQL type 'vector'\)/,
  );
  assert.equal(unsupportedColumnsMessage([mapMysqlColumn(field(MysqlType.LONG))]), null);
});

Deno.test("mysqlColumnMapping lets an override win, matching the name case-insensitively", () => {
  const f = { ...field(MysqlType.VAR_STRING, { characterSet: 45 }), name: "Amount" };
  const m = mysqlColumnMapping(f, { amount: { kind: "decimal", precision: 12, scale: 2 } });
  assert.deepEqual(m.spec.type, { kind: "decimal", precision: 12, scale: 2 });
  assert.equal(m.spec.nativeType, "varchar");
  assert.deepEqual(mysqlColumnMapping(f, {}).spec.type, { kind: "string" });
});

const bytes = (s: string) => new TextEncoder().encode(s);

// [description, field, target, raw text or bytes, expected value or ValueError]
const CONVERT: ReadonlyArray<[string, MysqlFieldMeta, unknown, string | Uint8Array, unknown]> = [
  ["tinyint(1) non-zero", field(MysqlType.TINY), { kind: "bool" }, "-3", true],
  ["tinyint(1) zero", field(MysqlType.TINY), { kind: "bool" }, "0", false],
  ["int16 min", field(MysqlType.SHORT), { kind: "int16" }, "-32768", -32768],
  ["int16 overflow", field(MysqlType.LONG), { kind: "int16" }, "32768", ValueError],
  ["int32 max", field(MysqlType.LONG), { kind: "int32" }, "2147483647", 2147483647],
  [
    "int32 from unsigned int overflow",
    field(MysqlType.LONG),
    { kind: "int32" },
    "4294967295",
    ValueError,
  ],
  ["int64 min", field(MysqlType.LONGLONG), { kind: "int64" }, "-9223372036854775808", -(2n ** 63n)],
  [
    "int64 overflow",
    field(MysqlType.LONGLONG),
    { kind: "int64" },
    "9223372036854775808",
    ValueError,
  ],
  [
    "uint64 max",
    field(MysqlType.LONGLONG),
    { kind: "uint64" },
    "18446744073709551615",
    2n ** 64n - 1n,
  ],
  ["uint64 negative", field(MysqlType.LONGLONG), { kind: "uint64" }, "-1", ValueError],
  ["not an integer", field(MysqlType.VAR_STRING), { kind: "int32" }, "12a", ValueError],
  [
    "float32 rounds to single",
    field(MysqlType.FLOAT),
    { kind: "float32" },
    "0.1",
    Math.fround(0.1),
  ],
  ["float64 subnormal", field(MysqlType.DOUBLE), { kind: "float64" }, "5e-324", 5e-324],
  [
    "decimal exact",
    field(MysqlType.NEWDECIMAL),
    { kind: "decimal", precision: 38, scale: 9 },
    "-12.000000001",
    -12000000001n,
  ],
  [
    "decimal too many digits",
    field(MysqlType.NEWDECIMAL),
    { kind: "decimal", precision: 5, scale: 2 },
    "1234.5",
    ValueError,
  ],
  [
    "decimal extra fraction digits",
    field(MysqlType.NEWDECIMAL),
    { kind: "decimal", precision: 5, scale: 1 },
    "1.25",
    ValueError,
  ],
  ["date", field(MysqlType.DATE), { kind: "date" }, "1969-12-31", -1],
  ["zero date", field(MysqlType.DATE), { kind: "date" }, "0000-00-00", null],
  ["invalid date", field(MysqlType.DATE), { kind: "date" }, "2023-02-29", null],
  ["leap day", field(MysqlType.DATE), { kind: "date" }, "2024-02-29", 19782],
  ["time negative", field(MysqlType.TIME), { kind: "time" }, "-838:59:59.000000", -3020399000000n],
  ["time over 24h", field(MysqlType.TIME), { kind: "time" }, "100:00:00.5", 360000500000n],
  [
    "datetime pre-1970 micros",
    field(MysqlType.DATETIME),
    { kind: "timestamp" },
    "1969-12-31 23:59:59.999999",
    -1n,
  ],
  [
    "timestamp UTC",
    field(MysqlType.TIMESTAMP),
    { kind: "timestamp_tz" },
    "2038-01-19 03:14:07.999999",
    2147483647999999n,
  ],
  ["zero datetime", field(MysqlType.DATETIME), { kind: "timestamp" }, "0000-00-00 00:00:00", null],
  [
    "date as timestamp override",
    field(MysqlType.DATE),
    { kind: "timestamp" },
    "1970-01-02",
    86400000000n,
  ],
  [
    "bit(1)",
    field(MysqlType.BIT, { columnLength: 1 }),
    { kind: "bool" },
    new Uint8Array([1]),
    true,
  ],
  ["bit(16) big-endian", field(MysqlType.BIT), { kind: "int64" }, new Uint8Array([1, 2]), 258n],
  [
    "bit(64) above int64",
    field(MysqlType.BIT),
    { kind: "int64" },
    new Uint8Array(8).fill(255),
    ValueError,
  ],
  ["year", field(MysqlType.YEAR), { kind: "int16" }, "2155", 2155],
  [
    "geometry strips the SRID",
    field(MysqlType.GEOMETRY),
    { kind: "binary" },
    new Uint8Array([0xe6, 0x10, 0, 0, 1, 2]),
    new Uint8Array([1, 2]),
  ],
  [
    "binary with zero bytes",
    field(MysqlType.STRING),
    { kind: "binary" },
    new Uint8Array([0, 0, 7]),
    new Uint8Array([0, 0, 7]),
  ],
  [
    "valid UTF-8 passes as bytes",
    field(MysqlType.VAR_STRING, { characterSet: 45 }),
    { kind: "string" },
    bytes('😀,"\n'),
    bytes('😀,"\n'),
  ],
  [
    "invalid UTF-8 becomes U+FFFD",
    field(MysqlType.VAR_STRING),
    { kind: "string" },
    new Uint8Array([0x61, 0xff]),
    "a\ufffd",
  ],
  [
    "16 bytes as uuid text",
    field(MysqlType.STRING),
    { kind: "string", logical: "uuid" },
    new Uint8Array(16).fill(0xab),
    "abababab-abab-abab-abab-abababababab",
  ],
];

Deno.test("mysqlCellConverter converts raw text-protocol cells exactly and rejects values that do not fit", () => {
  for (const [what, f, target, raw, expected] of CONVERT) {
    const convert = mysqlCellConverter(f, target as never);
    const input = typeof raw === "string" ? bytes(raw) : raw;
    if (expected === ValueError) {
      assert.throws(() => convert(input), ValueError, what);
    } else {
      assert.deepEqual(convert(input), expected, what);
    }
  }
});
