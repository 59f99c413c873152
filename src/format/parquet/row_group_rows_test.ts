// Table-driven tests of the row group size computation, spec 3.7 (execution layer tests, pure).
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { estimatedRowBytes, type RowGroupOptions, rowGroupRowsFor } from "./row_group_rows.ts";

const f = (name: string, type: arrow.DataType) => new arrow.Field(name, type, true);
// (1+1) + (2+1) + (4+1) + (8+1) + (16+1) + (256+1) + (64+1) = 358 bytes per row
const MIXED = new arrow.Schema([
  f("b", new arrow.Bool()),
  f("i16", new arrow.Int16()),
  f("d", new arrow.DateDay()),
  f("ts", new arrow.TimestampMicrosecond("UTC")),
  f("dec", new arrow.Decimal(2, 50, 256)),
  f("s", new arrow.Utf8()),
  f("l", new arrow.List(f("item", new arrow.Int32()))),
]);
const ONE_INT64 = new arrow.Schema([f("id", new arrow.Int64())]); // 9 bytes per row
const ONE_TEXT = new arrow.Schema([f("s", new arrow.Utf8())]); // 257 bytes per row
const EMPTY = new arrow.Schema([]);

Deno.test("rowGroupRowsFor estimates row width per spec 3.7", () => {
  assert.equal(estimatedRowBytes(MIXED), 358);
  assert.equal(estimatedRowBytes(ONE_INT64), 9);
  assert.equal(estimatedRowBytes(EMPTY), 1);
  assert.equal(
    estimatedRowBytes(
      new arrow.Schema([f("t", new arrow.TimeMicrosecond()), f("x", new arrow.Float32())]),
    ),
    14,
  );
});

Deno.test("rowGroupRowsFor follows each strategy, target, cap and clamp", () => {
  const cases: [string, arrow.Schema, RowGroupOptions | undefined, number][] = [
    ["no parquet block: library default", MIXED, undefined, 1_048_576],
    ["empty block means auto with 128 MiB", MIXED, {}, Math.floor((128 * 2 ** 20) / 358)],
    ["fixed_rows uses row_group_rows", MIXED, {
      row_group_strategy: "fixed_rows",
      row_group_rows: 5000,
    }, 5000],
    ["fixed_rows without rows: default", MIXED, { row_group_strategy: "fixed_rows" }, 1_048_576],
    [
      "fixed_rows is not clamped",
      MIXED,
      { row_group_strategy: "fixed_rows", row_group_rows: 10 },
      10,
    ],
    [
      "auto ignores row_group_rows",
      ONE_TEXT,
      { row_group_strategy: "auto", row_group_rows: 5 },
      Math.floor((128 * 2 ** 20) / 257),
    ],
    ["fixed_memory with a target", ONE_TEXT, {
      row_group_strategy: "fixed_memory",
      target_row_group_mb: 64,
    }, Math.floor((64 * 2 ** 20) / 257)],
    ["clamped up to 1 000", ONE_TEXT, { target_row_group_mb: 0 }, 1000],
    ["clamped down to 10 000 000", ONE_INT64, { target_row_group_mb: 1024 }, 10_000_000],
    [
      "max_row_group_mb caps",
      ONE_INT64,
      { target_row_group_mb: 128, max_row_group_mb: 16 },
      Math.floor((16 * 2 ** 20) / 9),
    ],
    ["max_row_group_mb never below 1 000", ONE_TEXT, { max_row_group_mb: 0 }, 1000],
    ["max_row_group_mb above target changes nothing", ONE_TEXT, {
      target_row_group_mb: 8,
      max_row_group_mb: 512,
    }, Math.floor((8 * 2 ** 20) / 257)],
    ["empty schema counts 1 byte per row", EMPTY, { target_row_group_mb: 1 }, 1_048_576],
  ];
  for (const [what, schema, options, want] of cases) {
    assert.equal(rowGroupRowsFor(schema, options), want, what);
  }
});
