// Test fixture: one record batch with every Rivet type and edge values, shared by the format tests (execution layer, tests only).
import type * as arrow from "apache-arrow";
import { BatchBuilder } from "../source/batch_builder.ts";
import type { ColumnSpec, RivetType } from "../source/rivet_types.ts";

const col = (name: string, type: RivetType, nativeType: string): ColumnSpec => ({
  name,
  type,
  nativeType,
  fidelity: "exact",
});

export const ALL_TYPES: readonly ColumnSpec[] = [
  col("b", { kind: "bool" }, "bool"),
  col("i16", { kind: "int16" }, "int2"),
  col("i32", { kind: "int32" }, "int4"),
  col("i64", { kind: "int64" }, "int8"),
  col("u64", { kind: "uint64" }, "bigint unsigned"),
  col("f32", { kind: "float32" }, "float4"),
  col("f64", { kind: "float64" }, "float8"),
  col("d38", { kind: "decimal", precision: 38, scale: 10 }, "numeric(38,10)"),
  col("d50", { kind: "decimal", precision: 50, scale: 10 }, "numeric(50,10)"),
  col("dt", { kind: "date" }, "date"),
  col("tm", { kind: "time" }, "time"),
  col("ts", { kind: "timestamp" }, "timestamp"),
  col("tstz", { kind: "timestamp_tz" }, "timestamptz"),
  col("s", { kind: "string" }, "text"),
  col("j", { kind: "string", logical: "json" }, "jsonb"),
  col("bin", { kind: "binary" }, "bytea"),
  col("li", { kind: "list", item: { kind: "int32" } }, "_int4"),
  col("ls", { kind: "list", item: { kind: "string" } }, "_text"),
];

const D38_MAX = 10n ** 38n - 1n;
const D50_MAX = 10n ** 50n - 1n;

/** Row values in BatchBuilder conventions, column order as ALL_TYPES. */
export const ALL_TYPES_ROWS: readonly (readonly unknown[])[] = [
  // minimums, pre-1970 with fractions, quotes/commas/newlines
  [
    true,
    -32768,
    -2147483648,
    -(2n ** 63n),
    0n,
    NaN,
    -Infinity,
    -D38_MAX,
    -D50_MAX,
    -719162, // 0001-01-01
    0n,
    -1n, // 1969-12-31T23:59:59.999999
    -86_400_000_001n, // 1969-12-30T23:59:59.999999
    'he said "hi", then\nleft\r',
    '{"a":[1,2],"b":"x,y"}',
    new Uint8Array([0, 1, 255, 0]),
    [1, null, 3],
    ["a,b", null, 'q"uote'],
  ],
  // maximums, far future
  [
    false,
    32767,
    2147483647,
    2n ** 63n - 1n,
    2n ** 64n - 1n,
    Infinity,
    Infinity,
    D38_MAX,
    D50_MAX,
    2932896, // 9999-12-31
    86_399_999_999n, // 23:59:59.999999
    253_402_300_799_999_999n, // 9999-12-31T23:59:59.999999
    4_102_444_800_000_001n, // 2100-01-01T00:00:00.000001
    "unicode ☃ 𝄞 ü",
    "[]",
    new Uint8Array([]),
    [],
    [],
  ],
  // NULL in every column
  [
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
  ],
  // ordinary values
  [
    true,
    -1,
    42,
    1234567890123n,
    18446744073709551614n,
    0.1,
    NaN,
    -5n, // -0.0000000005
    7n, // 0.0000000007
    19723, // 2024-01-01
    3_723_000_001n, // 01:02:03.000001
    -2_208_988_800_000_000n + 500_000n, // 1900-01-01T00:00:00.5
    1_700_000_000_123_456n, // 2023-11-14T22:13:20.123456
    "",
    "null",
    new Uint8Array([0]),
    [null],
    [""],
  ],
  // more floats and decimals
  [
    false,
    0,
    0,
    -1n,
    1n,
    -0,
    1.5,
    123456789012345678901234567890n, // 12345678901234567890.1234567890
    -(10n ** 45n) - 1n,
    -1, // 1969-12-31
    1n,
    0n,
    -62_135_596_800_000_000n, // 0001-01-01T00:00:00
    "plain",
    '"quoted"',
    new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
    [-2147483648, 2147483647],
    ["x"],
  ],
];

/** The fixture as one record batch. */
export function allTypesBatch(): arrow.RecordBatch {
  const builder = new BatchBuilder(ALL_TYPES);
  for (const row of ALL_TYPES_ROWS) {
    row.forEach((v, c) => builder.columns[c]!.append(v));
    builder.endRow();
  }
  return builder.finish();
}
