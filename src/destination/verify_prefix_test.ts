// Tests of verifyDestinationPrefix over a real local directory (execution layer tests).
import assert from "node:assert/strict";
import { LocalDestination } from "./local/local_destination.ts";
import { verifyDestinationPrefix } from "./verify_prefix.ts";
import { buildManifest, serializeManifest, successMarkerBody } from "../manifest.ts";

Deno.test("verifyDestinationPrefix reads manifest, _SUCCESS and listing from a destination", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dest = new LocalDestination(dir);
    assert.equal((await verifyDestinationPrefix(dest)).legacy_run, true);
    const part = await dest.put("orders_1.csv", new TextEncoder().encode("id\n1\n"));
    const manifest = serializeManifest(buildManifest({
      runId: "orders_20260521T120000.123",
      exportName: "orders",
      startedAt: new Date(0),
      finishedAt: new Date(0),
      runStatus: "success",
      engine: "mysql",
      destination: { kind: dest.kind, uri: dest.uri },
      format: "csv",
      compression: "none",
      schemaFingerprint: "xxh3:0000000000000000",
      parts: [{
        path: part.name,
        rows: 1,
        size_bytes: part.size,
        content_fingerprint: "xxh3:0000000000000001",
      }],
    }));
    await dest.put("manifest.json", manifest);
    await dest.put("_SUCCESS", new TextEncoder().encode(await successMarkerBody(manifest)));
    const ok = await verifyDestinationPrefix(dest);
    assert.equal(ok.passed, true);
    assert.equal(ok.success_marker_consistent, true);
    // Local listings carry no MD5: content verification cannot be met (spec 8.1 item 8).
    assert.deepEqual((await verifyDestinationPrefix(dest, "content")).failures, [
      { kind: "content_verification_unmet", size_only: 1, total: 1 },
    ]);
    await dest.delete("orders_1.csv");
    assert.deepEqual((await verifyDestinationPrefix(dest)).failures, [
      { kind: "part_missing", path: "orders_1.csv" },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
