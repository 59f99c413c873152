// Tests of the manifest contract: build/serialize/parse, the _SUCCESS marker and every verification failure kind (contract type tests).
import assert from "node:assert/strict";
import {
  buildManifest,
  type ListedObject,
  type ManifestInput,
  manifestProblems,
  md5Bytes,
  parseManifest,
  parseSuccessMarker,
  serializeManifest,
  successMarkerBody,
  verifyPrefix,
  xxh3Fingerprint,
} from "./manifest.ts";

const MD5_A = "1B2M2Y8AsgTpgAmY7PhCfg=="; // MD5 of ""
const MD5_B = "kAFQmDzST7DWlj99KOF/cg=="; // MD5 of "abc"

const input: ManifestInput = {
  runId: "public.orders_20260521T120000.123",
  exportName: "public.orders",
  startedAt: new Date("2026-05-21T12:00:00.123Z"),
  finishedAt: new Date("2026-05-21T12:00:09Z"),
  runStatus: "success",
  engine: "postgres",
  destination: { kind: "s3", uri: "s3://b/p/" },
  format: "parquet",
  compression: "zstd",
  schemaFingerprint: "xxh3:00000000000000aa",
  parts: [
    {
      path: "a.parquet",
      rows: 100,
      size_bytes: 4096,
      content_fingerprint: "xxh3:0000000000000001",
      content_md5: MD5_A,
    },
    { path: "b.parquet", rows: 20, size_bytes: 10, content_fingerprint: "xxh3:0000000000000002" },
    {
      path: "_quarantine/r/c.parquet",
      rows: 7,
      size_bytes: 5,
      content_fingerprint: "xxh3:0000000000000003",
      status: "quarantined",
    },
  ],
};

Deno.test("buildManifest numbers parts in commit order and sums only committed parts", () => {
  const m = buildManifest(input);
  assert.deepEqual(m.parts.map((p) => p.part_id), [1, 2, 3]);
  assert.equal(m.row_count, 120);
  assert.equal(m.part_count, 2);
  assert.equal(m.parts[1]!.content_md5, "");
  assert.deepEqual(m.source, { engine: "postgres", schema: "public", table: "orders" });
  assert.equal(m.started_at, "2026-05-21T12:00:00.123Z");
  assert.ok(Object.isFrozen(m) && Object.isFrozen(m.parts[0]));
  const resumed = buildManifest({
    ...input,
    parts: [{ ...input.parts[0]!, part_id: 4 }, input.parts[1]!],
  });
  assert.deepEqual(resumed.parts.map((p) => p.part_id), [4, 5]);
});

Deno.test("buildManifest maps run statuses and leaves schema and table null for a plain export name", () => {
  for (
    const [run, status] of [["success", "success"], ["failed", "failed"], [
      "skipped",
      "interrupted",
    ], ["interrupted", "interrupted"]]
  ) {
    assert.equal(buildManifest({ ...input, runStatus: run! }).status, status);
  }
  const plain = buildManifest({ ...input, exportName: "orders", parts: [] });
  assert.deepEqual(plain.source, { engine: "postgres", schema: null, table: null });
  assert.equal(plain.row_count, 0);
  assert.equal(plain.part_count, 0);
});

Deno.test("serializeManifest writes the contract's keys in order with a 2-space indent and parses back", () => {
  const m = buildManifest(input);
  const text = new TextDecoder().decode(serializeManifest(m));
  const keys = Object.keys(JSON.parse(text));
  assert.deepEqual(keys, [
    "manifest_version",
    "run_id",
    "export_name",
    "started_at",
    "finished_at",
    "status",
    "source",
    "destination",
    "format",
    "compression",
    "schema_fingerprint",
    "row_count",
    "part_count",
    "parts",
  ]);
  assert.deepEqual(Object.keys(JSON.parse(text).parts[0]), [
    "part_id",
    "path",
    "rows",
    "size_bytes",
    "content_fingerprint",
    "content_md5",
    "status",
  ]);
  assert.ok(text.startsWith('{\n  "manifest_version": 1,\n  "run_id": '));
  const parsed = parseManifest(text);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, m);
  assert.deepEqual(serializeManifest(parsed.value), serializeManifest(m));
});

Deno.test("parseManifest rejects other versions, non-JSON and wrongly typed fields with the field named", () => {
  const good = JSON.parse(new TextDecoder().decode(serializeManifest(buildManifest(input))));
  const bad = (patch: Record<string, unknown>) =>
    parseManifest(JSON.stringify({ ...good, ...patch }));
  assert.deepEqual(bad({ manifest_version: 2 }), {
    ok: false,
    error: "unsupported manifest_version 2 (expected 1)",
  });
  assert.match((parseManifest("{") as { error: string }).error, /^not JSON/);
  assert.match((parseManifest("[]") as { error: string }).error, /must be an object/);
  assert.match(
    (bad({ row_count: -1 }) as { error: string }).error,
    /row_count must be a non-negative integer/,
  );
  assert.match((bad({ status: "done" }) as { error: string }).error, /status must be one of/);
  assert.match(
    (bad({ parts: [{ ...good.parts[0], size_bytes: "1" }] }) as { error: string }).error,
    /parts\[0\]\.size_bytes/,
  );
  assert.match(
    (bad({ source: { engine: "oracle", schema: null, table: null } }) as { error: string }).error,
    /source\.engine/,
  );
});

Deno.test("manifestProblems finds wrong counts and duplicate part ids", () => {
  const m = buildManifest(input);
  assert.deepEqual(manifestProblems(m), []);
  const broken = { ...m, row_count: 1, part_count: 3, parts: [m.parts[0]!, m.parts[0]!] };
  assert.deepEqual(manifestProblems(broken), [
    "part_count is 3 but 2 parts are committed",
    "row_count is 1 but the committed parts hold 200 rows",
    "part_id 1 appears more than once",
  ]);
});

Deno.test("successMarkerBody is xxh3 of the manifest bytes with a newline", async () => {
  const bytes = new TextEncoder().encode("abc");
  // xxh3_64("abc"), seed 0 (reference value of the xxHash test vectors).
  assert.equal(await successMarkerBody(bytes), "xxh3:78af5f94892f3950\n");
  assert.equal(await xxh3Fingerprint(new Uint8Array(0)), "xxh3:2d06800538d394c2");
});

Deno.test("parseSuccessMarker tolerates trailing whitespace only and rejects anything else", () => {
  const fp = "xxh3:78af5f94892f3950";
  for (const ok of [fp, `${fp}\n`, `${fp}\r\n`, `${fp} \t\n\n`]) {
    assert.equal(parseSuccessMarker(ok), fp, ok);
  }
  for (
    const bad of [
      ` ${fp}`,
      `\n${fp}`,
      `\uFEFF${fp}`,
      fp.toUpperCase(),
      "xxh3:78AF5F94892F3950",
      `${fp}\nextra`,
      `${fp}0`,
      "xxh3:78af5f94892f395",
      "md5:78af5f94892f3950",
      "",
    ]
  ) {
    assert.equal(parseSuccessMarker(bad), null, JSON.stringify(bad));
  }
});

Deno.test("md5Bytes accepts base64 and 32-hex MD5s and nothing else", () => {
  assert.deepEqual(md5Bytes(MD5_A), md5Bytes("d41d8cd98f00b204e9800998ecf8427e"));
  assert.equal(md5Bytes(""), null);
  assert.equal(md5Bytes(undefined), null);
  assert.equal(md5Bytes("d41d8cd98f00b204e9800998ecf8427e-2"), null); // multipart ETag
  assert.equal(md5Bytes("AAAA"), null);
});

// ---- verifyPrefix -------------------------------------------------------------------------------

const manifest = buildManifest(input);
const manifestBytes = serializeManifest(manifest);
const enc = (s: string) => new TextEncoder().encode(s);
const goodListing: ListedObject[] = [
  { name: "a.parquet", size: 4096, md5: "d41d8cd98f00b204e9800998ecf8427e" },
  { name: "b.parquet", size: 10 },
  { name: "_quarantine/r/c.parquet", size: 5 },
  { name: "manifest.json", size: manifestBytes.length },
  { name: "_SUCCESS", size: 22 },
  { name: ".rivet_doctor_probe", size: 0 },
];

async function verify(
  over: Partial<Parameters<typeof verifyPrefix>[0]> = {},
): Promise<Awaited<ReturnType<typeof verifyPrefix>>> {
  return await verifyPrefix({
    manifest: manifestBytes,
    marker: enc(await successMarkerBody(manifestBytes)),
    listing: goodListing,
    verify: "size",
    ...over,
  });
}

Deno.test("verifyPrefix passes a healthy prefix, MD5-verifying the parts that have both MD5s", async () => {
  assert.deepEqual(await verify(), {
    manifest_found: true,
    legacy_run: false,
    parts_verified: 2,
    parts_md5_verified: 1,
    parts_failed: 0,
    success_marker_consistent: true,
    manifest_self_consistent: true,
    passed: true,
    failures: [],
  });
});

Deno.test("verifyPrefix reports a prefix without manifest as a legacy run that did not pass", async () => {
  const v = await verify({ manifest: null });
  assert.equal(v.manifest_found, false);
  assert.equal(v.legacy_run, true);
  assert.equal(v.passed, false);
  assert.deepEqual(v.failures, []);
});

Deno.test("verifyPrefix reports part_missing, part_size_mismatch and part_checksum_mismatch", async () => {
  const v = await verify({
    listing: [
      { name: "a.parquet", size: 4096, md5: MD5_B },
      { name: "b.parquet", size: 11 },
    ],
  });
  assert.equal(v.passed, false);
  assert.equal(v.parts_failed, 2);
  assert.equal(v.parts_verified, 0);
  assert.deepEqual(v.failures, [
    { kind: "part_checksum_mismatch", path: "a.parquet", expected: MD5_A, actual: MD5_B },
    { kind: "part_size_mismatch", path: "b.parquet", expected: 10, actual: 11 },
  ]);
  const missing = await verify({ listing: [{ name: "a.parquet", size: 4096 }] });
  assert.deepEqual(missing.failures, [{ kind: "part_missing", path: "b.parquet" }]);
  assert.equal(missing.parts_verified, 1);
});

Deno.test("verifyPrefix reports a stale and a malformed _SUCCESS, and accepts an absent one", async () => {
  const other = await successMarkerBody(enc("an older manifest"));
  const stale = await verify({ marker: enc(other) });
  assert.equal(stale.passed, false);
  assert.deepEqual(stale.failures, [{
    kind: "success_marker_stale",
    marker_fingerprint: other.trim(),
    manifest_fingerprint: await xxh3Fingerprint(manifestBytes),
  }]);
  const malformed = await verify({ marker: enc(`\uFEFF${"x".repeat(60)}`) });
  assert.equal(malformed.passed, false);
  assert.deepEqual(malformed.failures, [{
    kind: "success_marker_malformed",
    body_preview: `\uFEFF${"x".repeat(39)}`,
  }]);
  const absent = await verify({ marker: null });
  assert.equal(absent.passed, true);
  assert.equal(absent.success_marker_consistent, false);
});

Deno.test("verifyPrefix reports untracked objects without failing, ignoring quarantine and Rivet's own files", async () => {
  const v = await verify({
    listing: [...goodListing, { name: "stray.csv", size: 3 }, {
      name: "x/_quarantine/old.parquet",
      size: 1,
    }],
  });
  assert.equal(v.passed, true);
  assert.deepEqual(v.failures, [{ kind: "untracked_object", key: "stray.csv", size_bytes: 3 }]);
});

Deno.test("verifyPrefix reports an inconsistent or unparsable manifest", async () => {
  const broken = enc(
    JSON.stringify({ ...JSON.parse(new TextDecoder().decode(manifestBytes)), row_count: 5 }),
  );
  const v = await verify({ manifest: broken, marker: enc(await successMarkerBody(broken)) });
  assert.equal(v.passed, false);
  assert.equal(v.manifest_self_consistent, false);
  assert.equal(v.success_marker_consistent, true);
  assert.deepEqual(v.failures, [{
    kind: "manifest_self_inconsistent",
    reason: "row_count is 5 but the committed parts hold 120 rows",
  }]);
  const garbage = await verify({ manifest: enc("not json"), marker: null });
  assert.equal(garbage.manifest_found, true);
  assert.equal(garbage.passed, false);
  assert.equal(garbage.failures[0]!.kind, "manifest_self_inconsistent");
  assert.match((garbage.failures[0] as { reason: string }).reason, /^parse failed: not JSON/);
  const v2 = enc(
    new TextDecoder().decode(manifestBytes).replace(
      '"manifest_version": 1',
      '"manifest_version": 2',
    ),
  );
  assert.match(
    ((await verify({ manifest: v2, marker: null })).failures[0] as { reason: string }).reason,
    /unsupported manifest_version 2/,
  );
});

Deno.test("verifyPrefix turns read and list failures into failures of their own kind", async () => {
  const m = await verify({ manifest: { error: "timeout" } });
  assert.deepEqual(m.failures, [{ kind: "manifest_read_error", error: "timeout" }]);
  assert.equal(m.passed, false);
  const s = await verify({ marker: { error: "403" } });
  assert.deepEqual(s.failures, [{ kind: "success_marker_read_error", error: "403" }]);
  assert.equal(s.passed, false);
  const l = await verify({ listing: { error: "throttled" } });
  assert.deepEqual(l.failures, [{ kind: "list_prefix_error", error: "throttled" }]);
  assert.equal(l.passed, false);
});

Deno.test("verifyPrefix with verify content fails when a part could only be size-verified", async () => {
  const v = await verify({ verify: "content" });
  assert.equal(v.passed, false);
  assert.deepEqual(v.failures, [{ kind: "content_verification_unmet", size_only: 1, total: 2 }]);
  const allMd5 = await verify({
    verify: "content",
    listing: [{ name: "a.parquet", size: 4096, md5: MD5_A }],
    manifest: serializeManifest(buildManifest({ ...input, parts: [input.parts[0]!] })),
    marker: null,
  });
  assert.equal(allMd5.passed, true);
});
