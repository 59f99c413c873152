// Tests of the quality gate: every check failing and passing with exact messages, NULL handling, caps (execution layer tests).
import assert from "node:assert/strict";
import type * as arrow from "apache-arrow";
import type { QualityConfig } from "../config/config_types.ts";
import { BatchBuilder } from "../source/batch_builder.ts";
import type { ColumnSpec, RivetType } from "../source/rivet_types.ts";
import { ALL_TYPES, allTypesBatch } from "../format/all_types_fixture.ts";
import {
  formatQualityIssue,
  QualityGate,
  type QualityIssue,
  qualityPassed,
  rowCountIssues,
} from "./quality_gate.ts";

const spec = (name: string, type: RivetType): ColumnSpec => ({
  name,
  type,
  nativeType: "x",
  fidelity: "exact",
});

function batchOf(specs: readonly ColumnSpec[], rows: readonly (readonly unknown[])[]) {
  const b = new BatchBuilder(specs);
  for (const row of rows) {
    row.forEach((v, c) => b.columns[c]!.append(v));
    b.endRow();
  }
  return b.finish();
}

async function gateOver(config: QualityConfig, batches: readonly arrow.RecordBatch[]) {
  const gate = await QualityGate.create(config);
  await ReadableStream.from(batches).pipeThrough(gate.stream()).pipeTo(new WritableStream());
  return gate;
}

async function issuesOf(
  config: QualityConfig,
  batches: readonly arrow.RecordBatch[],
): Promise<QualityIssue[]> {
  const gate = await gateOver(config, batches);
  return gate.evaluate(gate.rows);
}

const fail = (message: string): QualityIssue => ({ severity: "fail", message });
const warn = (message: string): QualityIssue => ({ severity: "warn", message });

const ID = [spec("id", { kind: "int64" })];
const ids = (values: readonly (bigint | null)[]) => batchOf(ID, values.map((v) => [v]));

Deno.test("row_count_min fails below the minimum, also for 0 rows, and passes at it", async () => {
  assert.deepEqual(await issuesOf({ row_count_min: 3 }, [ids([1n, 2n])]), [
    fail("row_count 2 below minimum 3"),
  ]);
  assert.deepEqual(await issuesOf({ row_count_min: 1 }, []), [fail("row_count 0 below minimum 1")]);
  assert.deepEqual(await issuesOf({ row_count_min: 2 }, [ids([1n]), ids([2n])]), []);
});

Deno.test("row_count_max fails above the maximum and passes at it", async () => {
  assert.deepEqual(await issuesOf({ row_count_max: 1 }, [ids([1n, 2n])]), [
    fail("row_count 2 exceeds maximum 1"),
  ]);
  assert.deepEqual(await issuesOf({ row_count_max: 2 }, [ids([1n, 2n])]), []);
  assert.deepEqual(rowCountIssues({ row_count_min: 5, row_count_max: 9 }, 10), [
    fail("row_count 10 exceeds maximum 9"),
  ]);
});

Deno.test("null_ratio_max fails above the threshold with a 4-decimal message and passes at it", async () => {
  const rows = [ids([null, 1n, 2n]), ids([null, null, 3n])]; // 3 of 6 NULL, across batches
  assert.deepEqual(await issuesOf({ null_ratio_max: { id: 0.05 } }, rows), [
    fail("column 'id': null ratio 0.5000 exceeds threshold 0.0500"),
  ]);
  assert.deepEqual(await issuesOf({ null_ratio_max: { id: 0.5 } }, rows), []);
  const third = [ids([null, 1n, 2n])];
  assert.deepEqual(await issuesOf({ null_ratio_max: { id: 0.3 } }, third), [
    fail("column 'id': null ratio 0.3333 exceeds threshold 0.3000"),
  ]);
});

Deno.test("null_ratio_max counts a column absent from the result as having no NULLs", async () => {
  assert.deepEqual(await issuesOf({ null_ratio_max: { missing: 0 } }, [ids([null])]), []);
});

Deno.test("null and unique checks are skipped for 0 rows while row counts still apply", async () => {
  const config = { row_count_min: 0, null_ratio_max: { id: 0 }, unique_columns: ["id"] };
  assert.deepEqual(await issuesOf(config, [ids([])]), []);
});

Deno.test("unique_columns fails with the duplicate count across batches and passes when distinct", async () => {
  assert.deepEqual(await issuesOf({ unique_columns: ["id"] }, [ids([1n, 2n]), ids([2n, 1n, 3n])]), [
    fail("column 'id': 2 duplicate values out of 5 rows"),
  ]);
  assert.deepEqual(await issuesOf({ unique_columns: ["id"] }, [ids([1n, 2n]), ids([3n])]), []);
});

Deno.test("unique_columns does not count NULLs as duplicates of each other", async () => {
  const str = [spec("s", { kind: "string" })];
  assert.deepEqual(await issuesOf({ unique_columns: ["id"] }, [ids([null, 1n, null, null])]), []);
  assert.deepEqual(
    await issuesOf({ unique_columns: ["s"] }, [batchOf(str, [[null], [""], [null], ["a"]])]),
    [],
  );
  // The empty string is a value: two of them are a duplicate.
  assert.deepEqual(
    await issuesOf({ unique_columns: ["s"] }, [batchOf(str, [[""], [null], [""]])]),
    [fail("column 's': 1 duplicate values out of 3 rows")],
  );
});

Deno.test("unique_columns finds duplicates in every Rivet type and none in distinct values", async () => {
  const names = ALL_TYPES.map((c) => c.name);
  // Every fixture column holds 4 distinct non-NULL values, except bool (true, false twice each).
  const single = await issuesOf({ unique_columns: names }, [allTypesBatch()]);
  assert.deepEqual(single, [fail("column 'b': 2 duplicate values out of 5 rows")]);
  // The same rows again, once as a slice: every value is now a duplicate.
  const twice = await issuesOf({ unique_columns: names }, [
    allTypesBatch(),
    allTypesBatch().slice(0, 5),
  ]);
  assert.deepEqual(
    twice,
    names.map((c) => fail(`column '${c}': ${c === "b" ? 6 : 4} duplicate values out of 10 rows`)),
  );
});

Deno.test("unique_columns treats every NaN as one value and -0 as different from 0", async () => {
  const f = [spec("f", { kind: "float64" })];
  assert.deepEqual(
    await issuesOf({ unique_columns: ["f"] }, [batchOf(f, [[NaN], [0], [-0], [NaN], [null]])]),
    [fail("column 'f': 1 duplicate values out of 5 rows")],
  );
});

Deno.test("unique_columns compares strings, binaries and decimals by their exact bytes", async () => {
  const specs = [
    spec("d", { kind: "decimal", precision: 38, scale: 2 }),
    spec("s", { kind: "string" }),
    spec("b", { kind: "binary" }),
  ];
  const rows = [
    [100n, "1", new Uint8Array([0x31])],
    [101n, "1 ", new Uint8Array([0x31, 0x20])],
    [-100n, "01", new Uint8Array([0x30, 0x31])],
  ];
  assert.deepEqual(await issuesOf({ unique_columns: ["d", "s", "b"] }, [batchOf(specs, rows)]), []);
  const dup = [...rows, [10n ** 37n, "x", new Uint8Array([0x31])]];
  assert.deepEqual(await issuesOf({ unique_columns: ["b"] }, [batchOf(specs, dup)]), [
    fail("column 'b': 1 duplicate values out of 4 rows"),
  ]);
});

Deno.test("unique_max_entries warns when the cap is reached and stops tracking that column", async () => {
  const config = { unique_columns: ["id"], unique_max_entries: 3 };
  // 4 distinct values: the 4th finds the set full.
  assert.deepEqual(await issuesOf(config, [ids([1n, 2n, 3n, 4n, 4n])]), [
    warn("column 'id': uniqueness check capped at 3 entries; result may be incomplete"),
  ]);
  // A duplicate seen before the cap is still a failure.
  assert.deepEqual(await issuesOf(config, [ids([1n, 1n, 2n, 3n, 5n])]), [
    warn("column 'id': uniqueness check capped at 3 entries; result may be incomplete"),
    fail("column 'id': at least 1 duplicate values out of 5 rows"),
  ]);
  // Exactly the cap: no warning.
  assert.deepEqual(await issuesOf(config, [ids([1n, 2n, 3n])]), []);
});

Deno.test("unique_columns warns about a column that is not in the result", async () => {
  assert.deepEqual(await issuesOf({ unique_columns: ["nope"] }, [ids([1n])]), [
    warn("column 'nope': not in the result; uniqueness not checked"),
  ]);
});

Deno.test("evaluate uses the caller's total and issues render as quality FAIL/WARN lines", async () => {
  const gate = await gateOver({ row_count_min: 10, null_ratio_max: { id: 0.1 } }, [ids([null])]);
  assert.deepEqual(gate.evaluate(20), []);
  assert.deepEqual(gate.evaluate(5), [
    fail("row_count 5 below minimum 10"),
    fail("column 'id': null ratio 0.2000 exceeds threshold 0.1000"),
  ]);
  assert.equal(formatQualityIssue(fail("x")), "quality FAIL: x");
  assert.equal(formatQualityIssue(warn("y")), "quality WARN: y");
  assert.equal(qualityPassed([warn("y")]), true);
  assert.equal(qualityPassed([warn("y"), fail("x")]), false);
});
