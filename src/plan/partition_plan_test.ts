import assert from "node:assert/strict";
import type { ExportConfig } from "../config/config_types.ts";
import { ConfigError } from "../errors.ts";
import { daysFromCivil } from "./chunk_plan.ts";
import {
  checkPartitionConfig,
  childExportConfig,
  partitionBuckets,
  partitionConfigErrors,
  partitionProbes,
  planPartitions,
  substitutePartition,
} from "./partition_plan.ts";

const events: ExportConfig = {
  name: "events",
  table: "events",
  format: "parquet",
  partition_by: "created_at",
  partition_granularity: "month",
  destination: { type: "local", path: "./out/{partition}/{date}" },
};

Deno.test("partitionConfigErrors lists every reason an export cannot be partitioned", () => {
  const cases: Array<[string, ExportConfig, RegExp[]]> = [
    ["a valid export", events, []],
    ["time_window", { ...events, mode: "time_window" }, [/time_window/]],
    ["chunk_by_key", { ...events, mode: "chunked", chunk_by_key: "id" }, [/chunk_by_key/]],
    ["no token", { ...events, destination: { type: "local", path: "./out" } }, [/\{partition\}/]],
    ["token in prefix", { ...events, destination: { type: "s3", prefix: "p/{partition}/" } }, []],
    ["stdout", { ...events, destination: { type: "stdout" } }, [/\{partition\}/]],
    ["empty column", { ...events, partition_by: " " }, [/partition_by is empty/]],
    [
      "everything wrong",
      { ...events, mode: "time_window", chunk_by_key: "id", destination: { type: "stdout" } },
      [/time_window/, /chunk_by_key/, /\{partition\}/],
    ],
  ];
  for (const [name, e, want] of cases) {
    const errors = partitionConfigErrors(e);
    assert.equal(errors.length, want.length, name);
    want.forEach((re, i) => assert.match(errors[i]!, re, name));
  }
  assert.throws(() => checkPartitionConfig({ ...events, mode: "time_window" }), ConfigError);
  checkPartitionConfig(events);
});

Deno.test("partitionProbes asks for min, max and the NULL count of the column", () => {
  assert.deepEqual(partitionProbes("postgres", "SELECT * FROM events", "created_at"), {
    min: 'SELECT min("created_at") FROM events',
    max: 'SELECT max("created_at") FROM events',
    nullCount: 'SELECT count(*) FROM events WHERE "created_at" IS NULL',
  });
});

Deno.test("partitionBuckets cover min to max with half-open day, month and year buckets", () => {
  const d = (s: string) =>
    daysFromCivil(Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8)));
  const cases: Array<[string, string, "day" | "month" | "year", string[]]> = [
    ["2024-02-28", "2024-03-01", "day", ["2024-02-28", "2024-02-29", "2024-03-01"]],
    ["2023-11-15", "2024-02-01", "month", ["2023-11", "2023-12", "2024-01", "2024-02"]],
    ["2022-12-31", "2024-01-01", "year", ["2022", "2023", "2024"]],
    ["2024-05-05", "2024-05-05", "month", ["2024-05"]],
    ["2024-05-05", "2024-05-04", "day", []],
  ];
  for (const [lo, hi, g, labels] of cases) {
    const buckets = partitionBuckets(d(lo), d(hi), g);
    assert.deepEqual(buckets.map((b) => b.label), labels, `${g} ${lo}..${hi}`);
    for (let i = 1; i < buckets.length; i++) assert.equal(buckets[i]!.lo, buckets[i - 1]!.hi);
    if (buckets.length > 0) {
      assert.ok(buckets[0]!.lo <= d(lo) && buckets.at(-1)!.hi > d(hi), `${g} covers ${lo}..${hi}`);
    }
  }
  const dec = partitionBuckets(d("2023-12-10"), d("2023-12-10"), "month")[0]!;
  assert.equal(dec.hi, d("2024-01-01"));
});

Deno.test("planPartitions makes one child export per bucket plus a NULL bucket when NULLs exist", () => {
  const plan = planPartitions({
    dialect: "mysql",
    parent: "events",
    baseQuery: "SELECT * FROM events",
    column: "created_at",
    granularity: "month",
    min: "2024-01-31 23:59:59",
    max: "2024-02-01T00:00:00Z",
    nullCount: 2n,
  });
  assert.deepEqual(
    plan.children.map((c) => [c.name, c.pathSegment, c.query]),
    [
      [
        "events__2024-01",
        "created_at=2024-01",
        "SELECT * FROM (SELECT * FROM events) AS _rivet_part WHERE `created_at` >= '2024-01-01' AND `created_at` < '2024-02-01'",
      ],
      [
        "events__2024-02",
        "created_at=2024-02",
        "SELECT * FROM (SELECT * FROM events) AS _rivet_part WHERE `created_at` >= '2024-02-01' AND `created_at` < '2024-03-01'",
      ],
      [
        "events__null",
        "created_at=__HIVE_DEFAULT_PARTITION__",
        "SELECT * FROM (SELECT * FROM events) AS _rivet_part WHERE `created_at` IS NULL",
      ],
    ],
  );
  assert.deepEqual(plan.warnings, []);
  assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.children[0]));
  assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
});

Deno.test("planPartitions with no dates and no NULLs plans nothing and warns", () => {
  const input = {
    dialect: "postgres" as const,
    parent: "events",
    baseQuery: "SELECT * FROM events",
    column: "d",
    granularity: "day" as const,
    min: null,
    max: null,
  };
  const empty = planPartitions({ ...input, nullCount: 0n });
  assert.equal(empty.children.length, 0);
  assert.match(empty.warnings[0] ?? "", /found no dates and no NULLs/);
  assert.deepEqual(planPartitions({ ...input, nullCount: 4n }).children.map((c) => c.name), [
    "events__null",
  ]);
  assert.throws(
    () => planPartitions({ ...input, min: "soon", max: "later", nullCount: 0n }),
    ConfigError,
  );
});

Deno.test("childExportConfig turns a bucket into a plain query export in its own directory", () => {
  const plan = planPartitions({
    dialect: "postgres",
    parent: "events",
    baseQuery: "SELECT * FROM events",
    column: "created_at",
    granularity: "year",
    min: "2024-03-01",
    max: "2024-03-02",
    nullCount: 0n,
  });
  const child = childExportConfig(events, plan.children[0]!);
  assert.equal(child.name, "events__2024");
  assert.equal(child.query, plan.children[0]!.query);
  assert.equal(child.table, undefined);
  assert.equal(child.partition_by, undefined);
  assert.equal(child.destination.path, "./out/created_at=2024/{date}");
  assert.equal(child.format, "parquet");
  assert.equal(events.destination.path, "./out/{partition}/{date}");
  assert.equal(substitutePartition("a/{partition}/b/{partition}", "x=1"), "a/x=1/b/x=1");
});
