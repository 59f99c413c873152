// Tests of the pure `rivet init` heuristics and that the YAML they write loads with our own loader (preflight layer, tests).
import assert from "node:assert/strict";
import { loadConfig } from "../config/load_config.ts";
import { fakeContext } from "../config/testing.ts";
import { modeLabel } from "../plan/build_plan.ts";
import type { ColumnInfo, TableInfo } from "./init_discover.ts";
import {
  bestCursor,
  chunkSizeFor,
  cursorCandidates,
  discoveryArtifact,
  parallelFor,
  renderInitYaml,
  suggestFor,
} from "./init_plan.ts";

const col = (name: string, dataType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({
  name,
  dataType,
  nullable: false,
  precision: null,
  scale: null,
  ...extra,
});

const table = (t: Partial<TableInfo> & { table: string }): TableInfo => ({
  schema: "public",
  kind: "table",
  rowEstimate: 0,
  totalBytes: 0,
  columns: [],
  primaryKey: [],
  indexedColumns: [],
  ...t,
});

const big = table({
  table: "orders",
  rowEstimate: 2_000_000,
  columns: [col("id", "bigint"), col("total", "numeric", { precision: 12, scale: 2 })],
  primaryKey: ["id"],
});
const events = table({
  table: "events",
  rowEstimate: 300_000,
  columns: [
    col("uid", "uuid"),
    col("created_at", "timestamp with time zone"),
    col("updated_at", "timestamp with time zone", { nullable: true }),
  ],
  primaryKey: ["uid"],
  indexedColumns: ["updated_at"],
});
const small = table({
  table: "countries",
  rowEstimate: 250,
  columns: [col("code", "text"), col("amount", "numeric")],
});

Deno.test("suggestFor picks chunked for a large table with an integer key, sized by rows", () => {
  const s = suggestFor(big, "postgres");
  assert.equal(s.mode, "chunked");
  assert.equal(s.chunkColumn, "id");
  assert.equal(s.chunkSize, 250_000);
  assert.equal(s.parallel, 2);
  assert.deepEqual(s.decimals, [{ column: "total", type: "decimal(12,2)", review: false }]);
});

Deno.test("suggestFor picks incremental on updated_at for a large table without an integer key", () => {
  const s = suggestFor(events, "postgres");
  assert.equal(s.mode, "incremental");
  assert.equal(s.cursor, "updated_at");
  assert.equal(s.cursorFallback, "created_at");
});

Deno.test("suggestFor keeps small tables full and gives unbounded numerics decimal(38,18) for review", () => {
  const s = suggestFor(small, "postgres");
  assert.equal(s.mode, "full");
  assert.deepEqual(s.decimals, [{ column: "amount", type: "decimal(38,18)", review: true }]);
});

Deno.test("bestCursor prefers an indexed column within the same name tier", () => {
  const t = table({
    table: "t",
    columns: [col("seen_at", "timestamp"), col("logged_at", "timestamp")],
    indexedColumns: ["logged_at"],
  });
  assert.equal(bestCursor(t)?.name, "logged_at");
});

Deno.test("cursorCandidates scores by spec 2.6: type, name, nullability and position", () => {
  const c = cursorCandidates(events);
  assert.deepEqual(c.map((x) => [x.column, x.score]), [["updated_at", 71], ["created_at", 62]]);
  assert.deepEqual(c[0]!.reasons, ["timestamp_type", "name_suggests_updated", "nullable"]);
});

Deno.test("chunkSizeFor and parallelFor follow the spec 2.6 row thresholds", () => {
  assert.deepEqual([999_999, 9_999_999, 99_999_999, 1e9].map(chunkSizeFor), [
    100_000,
    250_000,
    1_000_000,
    2_500_000,
  ]);
  assert.deepEqual([499_999, 4_999_999, 5_000_000].map(parallelFor), [1, 2, 4]);
});

Deno.test("the YAML rivet init writes loads with loadConfig and keeps the chosen modes", () => {
  const suggestions = [big, events, small].map((t) => suggestFor(t, "postgres"));
  const yaml = renderInitYaml(suggestions, {
    dialect: "postgres",
    where: "test",
    generatedAt: new Date(0),
  });
  assert.doesNotMatch(yaml, /postgres:\/\/[^ ]*@(?!host)/); // no literal URL besides the example
  assert.match(yaml, /url_env: DATABASE_URL/);
  assert.match(yaml, /# REVIEW:/);
  assert.match(yaml, /# ~2,000,000 rows[^\n]*\n\s+mode: chunked/);
  const loaded = loadConfig(yaml, fakeContext());
  const modes = loaded.config.exports.map((e) => [e.name, modeLabel(e)]);
  assert.deepEqual(modes, [["orders", "chunked"], ["events", "incremental"], [
    "countries",
    "full",
  ]]);
  const orders = loaded.config.exports[0]!;
  assert.equal(orders.chunk_checkpoint, true);
  assert.deepEqual(orders.columns, { total: "decimal(12,2)" });
  assert.equal(loaded.config.exports[2]!.table, "countries");
  assert.equal(orders.destination.path, "./output/{export}");
});

Deno.test("discoveryArtifact carries row estimates, suggested modes and candidates", () => {
  const a = discoveryArtifact([suggestFor(events, "postgres")], {
    dialect: "postgres",
    where: "test",
    generatedAt: new Date(0),
  }) as { tables: Record<string, unknown>[] };
  const t = a.tables[0]!;
  assert.equal(t.suggested_mode, "incremental");
  assert.equal(t.row_estimate, 300_000);
  assert.equal(t.suggested_cursor_fallback_column, "created_at");
  assert.deepEqual(t.chunk_candidates, []);
});
