import assert from "node:assert/strict";
import { dataFileName, expandPathTemplate, fileTimestamp, makeRunId } from "./naming.ts";

const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 67));

Deno.test("makeRunId renders the export name and UTC time to the millisecond", () => {
  assert.equal(makeRunId("orders", at), "orders_20260102T030405.067");
  assert.equal(fileTimestamp(at), "20260102_030405");
});

Deno.test("dataFileName adds an unpadded part number only when there are several parts", () => {
  const cases: Array<[number, number, string]> = [
    [0, 1, "orders_20260102_030405.parquet"],
    [0, 3, "orders_20260102_030405_part0.parquet"],
    [2, 3, "orders_20260102_030405_part2.parquet"],
  ];
  for (const [index, count, want] of cases) {
    assert.equal(dataFileName("orders", at, "parquet", { index, count }), want);
  }
});

Deno.test("expandPathTemplate fills known tokens and keeps unknown ones", () => {
  assert.equal(
    expandPathTemplate("./out/{export}/{date}/{run_id}/{table}/{other}", {
      exportName: "orders",
      runId: "orders_20260102T030405.067",
      at,
    }),
    "./out/orders/2026-01-02/orders_20260102T030405.067/orders/{other}",
  );
});
