// Table-driven tests of the plan artifact: redaction, fingerprint, staleness, parsing and the rebuilt run plan (no database).
import assert from "node:assert/strict";
import { createXXHash3 } from "hash-wasm";
import type { LoadedConfig } from "../config/config_types.ts";
import {
  buildPlanArtifact,
  canonicalJson,
  chunkRowEstimate,
  configFingerprint,
  parseArtifact,
  type PlanArtifact,
  redactDeep,
  redactUrl,
  runPlanFromArtifact,
  serializeArtifact,
  stalenessOf,
} from "./plan_artifact.ts";
import type { ExportPlan, RunPlan } from "./plan_types.ts";

const h = await createXXHash3();
const hash = (t: string) => {
  h.init();
  h.update(t);
  return h.digest("hex");
};

Deno.test("redactUrl replaces user:password@ and user@ with REDACTED@", () => {
  for (
    const [input, want] of [
      ["postgres://u:p%40ss@db:5432/x", "postgres://REDACTED@db:5432/x"],
      ["mysql://root@127.0.0.1/test", "mysql://REDACTED@127.0.0.1/test"],
      ["postgres://db/x?password=hunter2", "postgres://db/x?password=REDACTED"],
      ["postgres://db/x", "postgres://db/x"],
    ]
  ) assert.equal(redactUrl(input!), want);
});

Deno.test("redactDeep drops password and url keys, scrubs secrets, and leaves SQL words alone", () => {
  const stripped: string[] = [];
  const out = redactDeep(
    {
      query: "SELECT * FROM t WHERE token=abc",
      note: "uses hunter2 inside",
      nested: { password: "x", url: "postgres://a:b@h/d", keep: "postgres://a:b@h/d" },
    },
    ["hunter2"],
    stripped,
  );
  assert.deepEqual(out, {
    query: "SELECT * FROM t WHERE token=abc",
    note: "uses REDACTED inside",
    nested: { keep: "postgres://REDACTED@h/d" },
  });
  assert.deepEqual(stripped.sort(), ["nested.keep", "nested.password", "nested.url", "note"]);
});

Deno.test("canonicalJson is independent of key order", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } }),
    canonicalJson({
      a: { c: null, d: [2, { x: 0, y: 1 }] },
      b: 1,
    }),
  );
});

function loaded(url: string, chunkSize = 10): LoadedConfig {
  return {
    config: {
      source: { type: "postgres", url },
      exports: [{
        name: "e",
        table: "t",
        format: "parquet",
        mode: "chunked",
        chunk_size: chunkSize,
        destination: { type: "local", path: "./out" },
      }],
    },
    path: "/x/rivet.yaml",
    dir: "/x",
    warnings: [],
    queryFiles: {},
  } as unknown as LoadedConfig;
}

Deno.test("configFingerprint ignores a rotated password but not a changed chunk size or host", () => {
  const fp = (url: string, size = 10) =>
    configFingerprint(loaded(url, size), { type: "postgres", url }, hash);
  const base = fp("postgres://u:one@h/d");
  assert.match(base, /^[0-9a-f]{16}$/);
  assert.equal(fp("postgres://u:two@h/d"), base);
  assert.notEqual(fp("postgres://u:one@h/d", 11), base);
  assert.notEqual(fp("postgres://u:one@other/d"), base);
});

Deno.test("stalenessOf: silent under 1 h, warns to 24 h, stale after, in days from 48 h", () => {
  const now = new Date("2025-03-10T12:00:00Z");
  const at = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
  assert.deepEqual(stalenessOf(at(0.5), now), { level: "fresh" });
  assert.deepEqual(stalenessOf(at(-2), now), { level: "fresh" });
  assert.equal(stalenessOf(at(1), now).level, "warn");
  assert.equal(stalenessOf(at(23.9), now).level, "warn");
  const s24 = stalenessOf(at(24), now);
  assert.equal(s24.level, "stale");
  assert.match((s24 as { message: string }).message, /24 hours old/);
  assert.match(
    (stalenessOf(at(72), now) as { message: string }).message,
    /3 days old \(created 2025-03-07\)/,
  );
});

Deno.test("chunkRowEstimate prefers the row count, else the key span without the NULL chunk", () => {
  assert.equal(chunkRowEstimate([["1", "10"], ["NULL", "NULL"]], 7n), 7);
  assert.equal(chunkRowEstimate([["5", "10"], ["11", "20"], ["NULL", "NULL"]], null), 16);
  assert.equal(chunkRowEstimate([["NULL", "NULL"]], null), null);
});

const exportPlan = { name: "e", mode: "full", runId: "e_old", strategy: { kind: "snapshot" } };

function artifact(): PlanArtifact {
  const runPlan = {
    source: { type: "postgres", url: "postgres://u:s3cret@h/d" },
    exports: [exportPlan],
    rejected: [],
    warnings: ["from postgres://u:s3cret@h/d"],
  } as unknown as RunPlan;
  return buildPlanArtifact({
    rivetVersion: "0.1.0",
    planId: "ab",
    now: new Date("2025-01-01T00:00:00Z"),
    configPath: "/x/rivet.yaml",
    configFingerprint: "0123456789abcdef",
    paramNames: ["B", "A"],
    runPlan,
    computed: {},
    secrets: ["s3cret"],
  }).artifact;
}

Deno.test("buildPlanArtifact keeps no secret and round-trips through parseArtifact", () => {
  const a = artifact();
  const text = serializeArtifact(a);
  assert.ok(!text.includes("s3cret"));
  assert.equal(a.expires_at, "2025-01-02T00:00:00.000Z");
  assert.deepEqual(a.params, ["A", "B"]);
  assert.deepEqual(parseArtifact(text, "p.json"), a);
});

Deno.test("parseArtifact names what is wrong", () => {
  const a = JSON.parse(serializeArtifact(artifact()));
  for (
    const [doc, want] of [
      ["[]", /no "artifact": "rivet-plan" field/],
      ["{", /not JSON/],
      [JSON.stringify({ ...a, artifact_version: 9 }), /artifact_version 9 is not supported/],
      [JSON.stringify({ ...a, created_at: "yesterday" }), /"created_at" is not a timestamp/],
      [JSON.stringify({ ...a, plan_id: 1 }), /"plan_id" is missing/],
      [JSON.stringify({ ...a, exports: [] }), /"exports" is missing or empty/],
      [JSON.stringify({ ...a, exports: [{ export_name: "e" }] }), /exports\[0\] is incomplete/],
    ] as const
  ) {
    assert.throws(() => parseArtifact(doc, "p.json"), (err: Error) => {
      assert.match(err.message, /'p\.json' is not a valid Rivet plan artifact/);
      assert.match(err.message, want);
      return true;
    });
  }
});

Deno.test("runPlanFromArtifact uses the given source and a fresh, frozen run id", () => {
  const src = { type: "postgres" as const, url: "postgres://u:s3cret@h/d" };
  const plan = runPlanFromArtifact(artifact(), src, new Date("2025-01-01T05:06:07.008Z"));
  assert.equal(plan.source, src);
  const e = plan.exports[0] as ExportPlan;
  assert.equal(e.runId, "e_20250101T050607.008");
  assert.ok(Object.isFrozen(e));
  assert.deepEqual(plan.rejected, []);
});
