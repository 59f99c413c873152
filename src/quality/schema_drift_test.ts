// Tests of schema drift and shape drift: canonical types, fingerprint, diffs, decisions, shape warnings (execution layer tests).
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { createXXHash3 } from "hash-wasm";
import { allTypesBatch } from "../format/all_types_fixture.ts";
import { fileSchemaOf } from "../enrich/meta_columns.ts";
import { BatchBuilder } from "../source/batch_builder.ts";
import {
  decideDrift,
  diffSchemas,
  raisedShape,
  type SchemaColumn,
  schemaColumns,
  schemaFingerprint,
  ShapeTracker,
  shapeWarnings,
} from "./schema_drift.ts";

const cols = (...pairs: [string, string][]): SchemaColumn[] =>
  pairs.map(([name, type]) => ({ name, type }));

Deno.test("schemaColumns renders every Rivet type canonically and leaves out meta columns", () => {
  const schema = fileSchemaOf(allTypesBatch().schema, { exported_at: true, row_hash: true });
  assert.deepEqual(schemaColumns(schema).map((c) => `${c.name} ${c.type}`), [
    "b Boolean",
    "i16 Int16",
    "i32 Int32",
    "i64 Int64",
    "u64 UInt64",
    "f32 Float32",
    "f64 Float64",
    "d38 Decimal128(38, 10)",
    "d50 Decimal256(50, 10)",
    "dt Date32",
    "tm Time64(Microsecond)",
    "ts Timestamp(Microsecond, None)",
    'tstz Timestamp(Microsecond, Some("UTC"))',
    "s Utf8",
    "j Utf8",
    "bin Binary",
    "li List(Int32)",
    "ls List(Utf8)",
  ]);
});

Deno.test("schemaFingerprint is xxh3-64 of the name-sorted `name<TAB>type<LF>` lines", async () => {
  const h = await createXXHash3();
  const text = "a\tInt64\nb\tUtf8\n";
  const expected = `xxh3:${h.init().update(new TextEncoder().encode(text)).digest("hex")}`;
  assert.equal(await schemaFingerprint(cols(["b", "Utf8"], ["a", "Int64"])), expected);
  assert.match(expected, /^xxh3:[0-9a-f]{16}$/);
});

Deno.test("schemaFingerprint is stable under column reordering and ignores meta columns", async () => {
  const f1 = new arrow.Field("x", new arrow.Int32(), true);
  const f2 = new arrow.Field("y", new arrow.Utf8(), true);
  const a = new arrow.Schema([f1, f2]);
  const b = new arrow.Schema([f2, f1]);
  assert.equal(await schemaFingerprint(a), await schemaFingerprint(b));
  assert.equal(
    await schemaFingerprint(fileSchemaOf(a, { row_hash: true, exported_at: true })),
    await schemaFingerprint(a),
  );
  const retyped = new arrow.Schema([new arrow.Field("x", new arrow.Int64(), true), f2]);
  assert.notEqual(await schemaFingerprint(retyped), await schemaFingerprint(a));
});

Deno.test("diffSchemas finds added, removed and retyped columns and ignores order", () => {
  const stored = cols(["id", "Int32"], ["name", "Utf8"], ["old", "Date32"]);
  assert.deepEqual(diffSchemas(stored, [...stored].reverse()), {
    added: [],
    removed: [],
    type_changed: [],
  });
  const current = cols(["zeta", "Utf8"], ["name", "Utf8"], ["id", "Int64"], ["alpha", "Boolean"]);
  assert.deepEqual(diffSchemas(stored, current), {
    added: ["alpha (Boolean)", "zeta (Utf8)"],
    removed: ["old"],
    type_changed: [["id", "Int32", "Int64"]],
  });
});

Deno.test("decideDrift stores silently on first sight and keeps an unchanged schema", () => {
  assert.deepEqual(decideDrift("fail", undefined, "orders"), {
    changed: false,
    action: "store",
    logLines: [],
  });
  const same = diffSchemas(cols(["a", "Int32"]), cols(["a", "Int32"]));
  assert.deepEqual(decideDrift("fail", same, "orders"), {
    changed: false,
    action: "keep",
    logLines: [],
  });
});

Deno.test("decideDrift follows on_schema_drift: warn logs and stores, continue stores, fail keeps and fails", () => {
  const diff = diffSchemas(
    cols(["a", "Int32"], ["b", "Utf8"]),
    cols(["a", "Int64"], ["c", "Utf8"], ["d", "Utf8"]),
  );
  const warn = decideDrift("warn", diff, "orders");
  assert.deepEqual(warn, {
    changed: true,
    action: "store",
    logLines: [
      "schema changed!",
      "  added: c (Utf8), d (Utf8)",
      "  removed: b",
      "  type changed: a (Int32 → Int64)",
    ],
  });
  assert.deepEqual(decideDrift("continue", diff, "orders"), {
    changed: true,
    action: "store",
    logLines: [],
  });
  const fail = decideDrift("fail", diff, "orders");
  assert.equal(fail.action, "keep");
  assert.equal(
    fail.failMessage,
    "schema drift detected for export 'orders': 2 column(s) added, 1 removed, 1 retyped — " +
      "set `on_schema_drift: warn` to accept, or fix the schema mismatch",
  );
});

Deno.test("ShapeTracker keeps the maximum byte length of string and binary columns across batches", () => {
  const specs = [
    { name: "s", type: { kind: "string" }, nativeType: "text", fidelity: "exact" },
    { name: "n", type: { kind: "int32" }, nativeType: "int4", fidelity: "exact" },
    { name: "b", type: { kind: "binary" }, nativeType: "bytea", fidelity: "exact" },
  ] as const;
  const batch = (rows: unknown[][]) => {
    const bb = new BatchBuilder(specs);
    for (const r of rows) {
      r.forEach((v, i) => bb.columns[i]!.append(v));
      bb.endRow();
    }
    return bb.finish();
  };
  const t = new ShapeTracker();
  t.observe(batch([["ab", 1, new Uint8Array(3)], [null, 2, null]]));
  t.observe(batch([["☃", 3, new Uint8Array(1)]]).slice(0, 1)); // 3 UTF-8 bytes
  t.observe(batch([["abcd", 4, null], ["x", 5, new Uint8Array(2)]]).slice(1, 2));
  assert.deepEqual([...t.maxBytes()], [["s", 3], ["b", 3]]);
});

Deno.test("shapeWarnings fires only when the stored maximum grew beyond the factor", () => {
  const stored = new Map([["a", 10], ["b", 10], ["c", 0]]);
  const current = new Map([["a", 25], ["b", 20], ["c", 500], ["d", 9]]);
  const w = shapeWarnings(stored, current, 2);
  assert.deepEqual(w.map((x) => [x.context, x.message]), [
    ["shape_drift:a", "shape drift in column 'a' — max byte length grew 2.5× (10 → 25 bytes)"],
  ]);
  assert.deepEqual(shapeWarnings(stored, current, 0), []);
  assert.deepEqual([...raisedShape(stored, new Map([["a", 5], ["c", 7]]))], [
    ["a", 10],
    ["b", 10],
    ["c", 7],
  ]);
});
