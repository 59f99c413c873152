// Tests of the pure parts of reconcile and repair: classifying counts and turning a report into actions (no database).
import assert from "node:assert/strict";
import { classifyPartition, summarize } from "./reconcile.ts";
import { planRepair, repairRunId } from "./repair.ts";

Deno.test("classifyPartition follows spec 8.2.2 for every combination of counts", () => {
  const id = "chunk 0 [1..10]";
  for (
    const [s, e, status, note] of [
      [10, 10, "match", undefined],
      [10, 7, "mismatch", "source=10, exported=7, diff=3"],
      [null, 7, "unknown", "source count unavailable"],
      [10, null, "unknown", "exported count unavailable (partition never completed?)"],
      [null, null, "unknown", "no counts available"],
    ] as const
  ) {
    const p = classifyPartition(id, s, e);
    assert.equal(p.status, status);
    assert.equal(p.note, note);
  }
});

Deno.test("planRepair makes one action per non-matching chunk and skips unparseable identifiers", () => {
  const partitions = [
    classifyPartition("chunk 0 [1..10]", 10, 10),
    classifyPartition("chunk 1 [11..20]", 9, 10),
    classifyPartition("chunk 2 [NULL..NULL]", 3, null),
    classifyPartition("partition x", 1, 2),
  ];
  const plan = planRepair({
    rivet_version: "0",
    export_name: "e",
    run_id: "r",
    strategy: "chunked",
    partitions,
    summary: summarize(partitions),
  });
  assert.deepEqual(plan.actions, [
    { chunk_index: 1, start_key: "11", end_key: "20", reason: "source=9, exported=10, diff=-1" },
    {
      chunk_index: 2,
      start_key: "NULL",
      end_key: "NULL",
      reason: "exported count unavailable (partition never completed?)",
    },
  ]);
  assert.deepEqual(plan.skipped.map((s) => s.identifier), ["partition x"]);
  assert.equal(summarize(partitions).total_source_rows, 23);
});

Deno.test("repairRunId is repair-<UTC timestamp>", () => {
  assert.equal(repairRunId(new Date("2025-02-03T04:05:06Z")), "repair-20250203T040506");
});
