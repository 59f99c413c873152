// Tests of column override parsing (spec 6.8.4) and byte sizes (planning layer, pure).
import { assertEquals } from "./test_assert.ts";
import { parseByteSize, parseColumnOverride, SUPPORTED_COLUMN_TYPES } from "./column_types.ts";
import { configErrorOf } from "./testing.ts";
import type { RivetType } from "../source/rivet_types.ts";

const accepted: readonly [string, RivetType][] = [
  ["bool", { kind: "bool" }],
  ["BOOLEAN", { kind: "bool" }],
  ["smallint", { kind: "int16" }],
  ["int", { kind: "int32" }],
  ["Integer", { kind: "int32" }],
  ["bigint", { kind: "int64" }],
  ["real", { kind: "float32" }],
  ["double  precision", { kind: "float64" }],
  ["float64", { kind: "float64" }],
  ["bpchar", { kind: "string" }],
  ["name", { kind: "string" }],
  ["bytea", { kind: "binary" }],
  ["date", { kind: "date" }],
  ["jsonb", { kind: "string", logical: "json" }],
  ["uuid", { kind: "string", logical: "uuid" }],
  ["timestamp without time zone", { kind: "timestamp" }],
  ["TIMESTAMP WITH TIME ZONE", { kind: "timestamp_tz" }],
  ["timestamp_utc", { kind: "timestamp_tz" }],
  ["decimal(14,2)", { kind: "decimal", precision: 14, scale: 2 }],
  ["NUMERIC( 76 , 76 )", { kind: "decimal", precision: 76, scale: 76 }],
  ["numeric(1,0)", { kind: "decimal", precision: 1, scale: 0 }],
];
for (const [text, want] of accepted) {
  Deno.test(`parseColumnOverride maps '${text}' to ${JSON.stringify(want)}`, () => {
    assertEquals(parseColumnOverride(text), want);
  });
}

const rejected: readonly [string, string][] = [
  [
    "decimal(77,2)",
    "column type 'decimal(77,2)': decimal precision must be between 1 and 76, got 77. Use e.g. decimal(38,2).",
  ],
  [
    "numeric(0,0)",
    "column type 'numeric(0,0)': decimal precision must be between 1 and 76, got 0. Use e.g. decimal(38,0).",
  ],
  [
    "decimal(10,11)",
    "column type 'decimal(10,11)': decimal scale must be between 0 and the precision 10, got 11.",
  ],
  [
    "decimal(10,-2)",
    "column type 'decimal(10,-2)': decimal scale must be between 0 and the precision 10, got -2.",
  ],
  [
    "decimal",
    `unsupported column type 'decimal'. Supported (case-insensitive): ${SUPPORTED_COLUMN_TYPES}, with 1 <= p <= 76 and 0 <= s <= p.`,
  ],
  [
    "time",
    `unsupported column type 'time'. Supported (case-insensitive): ${SUPPORTED_COLUMN_TYPES}, with 1 <= p <= 76 and 0 <= s <= p.`,
  ],
];
for (const [text, message] of rejected) {
  Deno.test(`parseColumnOverride rejects '${text}' with a clear message`, () => {
    assertEquals(configErrorOf(() => parseColumnOverride(text)).message, message);
  });
}

Deno.test("parseColumnOverride lists every supported spelling", () => {
  assertEquals(
    SUPPORTED_COLUMN_TYPES,
    "bool, boolean, int2, smallint, int16, int4, int, integer, int32, int8, bigint, int64, " +
      "float4, real, float32, float8, double, double precision, float64, text, varchar, string, " +
      "char, bpchar, name, binary, bytea, blob, varbinary, date, json, jsonb, uuid, timestamp, " +
      "timestamp without time zone, timestamp_tz, timestamptz, timestamp with time zone, " +
      "timestamp_utc, decimal(p,s), numeric(p,s)",
  );
});

const sizes: readonly [string, number][] = [
  ["100", 100],
  ["100B", 100],
  ["1kb", 1024],
  ["512MB", 512 * 1024 * 1024],
  ["1.5 GB", 1610612736],
  [" 2 Mb ", 2 * 1024 * 1024],
  ["0.5KB", 512],
  ["1.7", 1],
];
for (const [text, bytes] of sizes) {
  Deno.test(`parseByteSize reads '${text}' as ${bytes} bytes`, () => {
    assertEquals(parseByteSize(text), bytes);
  });
}

for (const text of ["", "MB", "12 parsecs", "-5MB", "1TB", "5 M", "1e3"]) {
  Deno.test(`parseByteSize rejects '${text}'`, () => {
    assertEquals(
      configErrorOf(() => parseByteSize(text)).message,
      `'${text}' is not a size. Use a number with an optional unit B, KB, MB or GB ` +
        `(1024-based, case-insensitive), e.g. "512MB", "1.5 GB" or "1048576".`,
    );
  });
}
