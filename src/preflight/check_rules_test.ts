// Table-driven tests of the pure `rivet check` rules (preflight layer, tests).
import assert from "node:assert/strict";
import type { ExportConfig } from "../config/config_types.ts";
import {
  formatRowEstimate,
  parallelLint,
  recommendedParallel,
  recommendedProfile,
  singleTableOf,
  sparseRangeLint,
  strategyLabel,
  verdictFor,
} from "./check_rules.ts";

Deno.test("verdictFor follows the spec 2.4 verdict table row by row", () => {
  const cases: [boolean, boolean, number, string][] = [
    [true, true, 10_000_000, "EFFICIENT"],
    [true, true, 10_000_001, "ACCEPTABLE"],
    [true, false, 5, "ACCEPTABLE"],
    [false, false, 1_000_000, "DEGRADED"],
    [false, true, 50_000_000, "DEGRADED"],
    [false, true, 50_000_001, "UNSAFE"],
    [false, false, 1_000_001, "UNSAFE"],
  ];
  for (const [indexed, cursor, rows, want] of cases) {
    assert.equal(verdictFor(indexed, cursor, rows), want, `${indexed} ${cursor} ${rows}`);
  }
});

Deno.test("recommendedProfile picks fast/balanced/safe by index use, rows and parallelism", () => {
  assert.equal(recommendedProfile(true, 1_000_000, 1), "fast");
  assert.equal(recommendedProfile(true, 10_000_000, 1), "balanced");
  assert.equal(recommendedProfile(true, 10_000_001, 1), "safe");
  assert.equal(recommendedProfile(false, 100_000, 1), "balanced");
  assert.equal(recommendedProfile(false, 100_000, 4), "safe");
  assert.equal(recommendedProfile(false, 1_000_000, 1), "balanced");
  assert.equal(recommendedProfile(false, 1_000_001, 1), "safe");
});

Deno.test("recommendedParallel only parallelises chunked exports and scales with rows and index", () => {
  assert.equal(recommendedParallel(false, true, 9e9).parallel, 1);
  assert.equal(recommendedParallel(true, true, 49_999).parallel, 1);
  assert.equal(recommendedParallel(true, false, 5_000_001).parallel, 1);
  assert.equal(recommendedParallel(true, false, 100_000).parallel, 2);
  assert.equal(recommendedParallel(true, true, 499_999).parallel, 2);
  assert.equal(recommendedParallel(true, true, 4_999_999).parallel, 4);
  assert.equal(recommendedParallel(true, true, 50_000_000).parallel, 4);
});

Deno.test("parallelLint warns at parallel >= max_connections and suggests max_connections - 3", () => {
  assert.equal(parallelLint(1, 10), null);
  assert.equal(parallelLint(4, 100), null);
  assert.match(parallelLint(10, 10)!, /use parallel: 7 or less/);
  assert.match(parallelLint(3, 2)!, /use parallel: 1 or less/);
  assert.match(parallelLint(2, null)!, /check skipped/);
});

Deno.test("sparseRangeLint flags a chunk key whose range is mostly empty", () => {
  assert.equal(sparseRangeLint(1_000, "1", "1000", 100), null); // dense
  assert.equal(sparseRangeLint(10, "1", "500", 100), null); // only 5 windows
  const w = sparseRangeLint(1_000, "1", "1000000", 1_000);
  assert.ok(w !== null);
  assert.match(w, /~100% of chunk windows will be empty/);
  assert.equal(sparseRangeLint(10, "2024-01-01", "2024-02-01", 1), null); // not integers
});

Deno.test("formatRowEstimate rounds to ~N, ~NK and ~NM", () => {
  assert.equal(formatRowEstimate(950), "~950");
  assert.equal(formatRowEstimate(12_400), "~12K");
  assert.equal(formatRowEstimate(3_200_000), "~3M");
});

Deno.test("strategyLabel names every strategy shape of spec 2.4", () => {
  const base = { name: "x", format: "parquet", destination: { type: "stdout" } } as const;
  const e = (extra: Partial<ExportConfig>): ExportConfig => ({ ...base, ...extra });
  assert.equal(strategyLabel(e({}), null), "full-scan");
  assert.equal(
    strategyLabel(e({ mode: "incremental", cursor_column: "u" }), "u"),
    "incremental(u)",
  );
  assert.equal(
    strategyLabel(e({ mode: "chunked", chunk_column: "id", chunk_size: 10 }), "id"),
    "chunked(id, size=10)",
  );
  assert.equal(
    strategyLabel(e({ mode: "chunked", chunk_column: "id", parallel: 4 }), "id"),
    "chunked-parallel(id, size=100000, p=4)",
  );
  assert.equal(
    strategyLabel(e({ mode: "chunked", chunk_column: "d", chunk_by_days: 7 }), "d"),
    "date-chunked(d, 7d)",
  );
  assert.equal(
    strategyLabel(e({ mode: "time_window", time_column: "t", days_window: 3 }), "t"),
    "time-window(t, 3d)",
  );
});

Deno.test("singleTableOf finds the table of simple queries and refuses joins and subqueries", () => {
  assert.deepEqual(singleTableOf("SELECT * FROM orders"), { schema: null, table: "orders" });
  assert.deepEqual(singleTableOf("select a, b from app.orders o where a > 1"), {
    schema: "app",
    table: "orders",
  });
  assert.deepEqual(singleTableOf('SELECT * FROM "My Table" AS t'), {
    schema: null,
    table: "My Table",
  });
  assert.equal(singleTableOf("SELECT * FROM a JOIN b ON a.id = b.id"), null);
  assert.equal(singleTableOf("SELECT * FROM a, b"), null);
  assert.equal(singleTableOf("SELECT * FROM (SELECT 1) s"), null);
});
