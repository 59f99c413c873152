// End-to-end tests of GcsDestination against a real GCS emulator (firebase-tools storage) started by scripts/start-gcs.sh.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Storage } from "@google-cloud/storage";
import { DestinationError } from "../src/errors.ts";
import {
  GcsDestination,
  type GcsDestinationOptions,
} from "../src/destination/gcs/gcs_destination.ts";
import { verifyDestinationPrefix } from "../src/destination/verify_prefix.ts";
import { buildManifest, serializeManifest, successMarkerBody } from "../src/manifest.ts";
import {
  ensureGcs,
  isolateCloudEnv,
  stopEmulator,
  testBytes,
  uniqueBucket,
  writeChunked,
} from "./helpers/emulators.ts";

const PORT = Number(Deno.env.get("RIVET_TEST_GCS_PORT") ?? 19611);
/** A second server that the interruption test stops. */
const FLAKY_PORT = PORT + 1;
const MIB = 1024 * 1024;

isolateCloudEnv();

/** Every object name in the bucket, temp names included (what another reader sees). */
async function rawNames(endpoint: string, bucket: string): Promise<string[]> {
  const [files] = await new Storage({ apiEndpoint: endpoint, projectId: "demo-test" })
    .bucket(bucket).getFiles();
  return files.map((f) => f.name).sort();
}

async function createBucket(endpoint: string, bucket: string): Promise<void> {
  await new Storage({ apiEndpoint: endpoint, projectId: "demo-test" }).createBucket(bucket);
}

async function withBucket(
  label: string,
  fn: (dest: GcsDestination, ctx: { endpoint: string; bucket: string }) => Promise<void>,
  opts: Partial<GcsDestinationOptions> = {},
): Promise<void> {
  const endpoint = await ensureGcs(PORT);
  const bucket = uniqueBucket(label);
  await createBucket(endpoint, bucket);
  const dest = new GcsDestination({
    bucket,
    prefix: "exports/orders/",
    endpoint,
    chunkSize: 1 * MIB,
    ...opts,
  });
  try {
    await fn(dest, { endpoint, bucket });
  } finally {
    await dest.close();
  }
}

const b64md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("base64");

Deno.test("GcsDestination streams multi-MiB objects to a temp name and makes them visible only on commit", async () => {
  await withBucket("commit", async (dest, { endpoint, bucket }) => {
    assert.equal(dest.uri, `gs://${bucket}/exports/orders/`);
    const big = testBytes(5 * MIB + 321, 1); // a resumable upload of six 1 MiB chunks
    const small = testBytes(700 * 1024, 2); // within one chunk: one request on commit
    const renamed = testBytes(2 * MIB + 5, 3);

    const upBig = await dest.create("orders_20260521_120001.parquet");
    const w = upBig.writable.getWriter();
    await w.write(big.subarray(0, 3 * MIB));
    // In flight: the resumable upload is not an object yet, under any name.
    assert.deepEqual(await rawNames(endpoint, bucket), []);
    await w.write(big.subarray(3 * MIB));
    await w.close();
    // Finished, but only under the hidden temp name.
    assert.equal(await dest.head("orders_20260521_120001.parquet"), null);
    assert.deepEqual(await dest.list(), []);
    const temp = await rawNames(endpoint, bucket);
    assert.equal(temp.length, 1);
    assert.match(
      temp[0]!,
      /^exports\/orders\/_rivet_tmp\/[0-9a-f]{16}\/orders_20260521_120001\.parquet$/,
    );
    assert.deepEqual(await upBig.commit(), {
      name: "orders_20260521_120001.parquet",
      size: big.length,
      md5: b64md5(big),
    });

    const upSmall = await dest.create("sub/orders_2.csv");
    await writeChunked(upSmall.writable, small, 100_000);
    assert.deepEqual(await rawNames(endpoint, bucket), [
      "exports/orders/orders_20260521_120001.parquet",
    ]);
    assert.deepEqual(await upSmall.commit(), {
      name: "sub/orders_2.csv",
      size: small.length,
      md5: b64md5(small),
    });

    const upRenamed = await dest.create("orders_20260521_120002.parquet");
    await writeChunked(upRenamed.writable, renamed);
    assert.equal(
      (await upRenamed.commit("orders_20260521_120002_part0.parquet")).name,
      "orders_20260521_120002_part0.parquet",
    );

    assert.deepEqual(await dest.read("orders_20260521_120001.parquet"), big);
    assert.deepEqual(await dest.read("sub/orders_2.csv"), small);
    assert.deepEqual(await dest.read("orders_20260521_120002_part0.parquet"), renamed);
    assert.equal(await dest.read("orders_20260521_120002.parquet"), null);
    assert.deepEqual(await dest.head("orders_20260521_120002_part0.parquet"), {
      name: "orders_20260521_120002_part0.parquet",
      size: renamed.length,
      md5: b64md5(renamed),
    });
    assert.deepEqual((await dest.list()).map((o) => [o.name, o.size, o.md5]), [
      ["orders_20260521_120001.parquet", big.length, b64md5(big)],
      ["orders_20260521_120002_part0.parquet", renamed.length, b64md5(renamed)],
      ["sub/orders_2.csv", small.length, b64md5(small)],
    ]);
    assert.deepEqual(await rawNames(endpoint, bucket), [
      "exports/orders/orders_20260521_120001.parquet",
      "exports/orders/orders_20260521_120002_part0.parquet",
      "exports/orders/sub/orders_2.csv",
    ]);
  });
});

Deno.test("GcsDestination put, head, list, read and delete use names relative to the prefix", async () => {
  await withBucket("small", async (dest, { endpoint, bucket }) => {
    const names = ["a.csv", "b/c.csv", "b/d.csv", "manifest.json"];
    for (const [i, n] of names.entries()) {
      const body = new TextEncoder().encode(`body ${i}\n`);
      assert.deepEqual(await dest.put(n, body), { name: n, size: body.length, md5: b64md5(body) });
    }
    const other = new GcsDestination({ bucket, prefix: "exports/orders", endpoint });
    await other.put("_x.csv", new Uint8Array([1]));
    assert.deepEqual((await dest.list()).map((o) => o.name), names);
    assert.equal(await dest.head("missing.csv"), null);
    assert.equal(await dest.read("missing.csv"), null);
    await dest.delete("b/c.csv");
    await dest.delete("b/c.csv");
    assert.equal(await dest.head("b/c.csv"), null);
    assert.deepEqual((await dest.list()).map((o) => o.name), ["a.csv", "b/d.csv", "manifest.json"]);
    assert.equal((await rawNames(endpoint, bucket)).length, 4);
  });
});

Deno.test("GcsDestination abort leaves no object under the final name and no temp object", async () => {
  await withBucket("abort", async (dest, { endpoint, bucket }) => {
    const a = await dest.create("a.parquet");
    const w = a.writable.getWriter();
    await w.write(testBytes(3 * MIB, 4));
    await w.abort(new Error("the source failed"));
    await a.abort();
    await a.abort();
    await assert.rejects(() => a.commit(), DestinationError);

    const b = await dest.create("b.parquet");
    await writeChunked(b.writable, testBytes(2 * MIB, 5));
    assert.equal((await rawNames(endpoint, bucket)).length, 1);
    await b.abort();

    const c = await dest.create("c.parquet");
    await assert.rejects(() => c.commit(), /not closed/);
    await c.abort();

    assert.equal(await dest.head("a.parquet"), null);
    assert.equal(await dest.head("b.parquet"), null);
    assert.deepEqual(await rawNames(endpoint, bucket), []);
  });
});

Deno.test("GcsDestination fails cleanly when the server stops in the middle of an upload", async () => {
  const port = FLAKY_PORT;
  try {
    await stopEmulator("gcs", port);
    const endpoint = await ensureGcs(port);
    const bucket = uniqueBucket("flaky");
    await createBucket(endpoint, bucket);
    const dest = new GcsDestination({
      bucket,
      prefix: "p/",
      endpoint,
      chunkSize: 1 * MIB,
      maxRetries: 1,
    });
    const up = await dest.create("orders.parquet");
    const w = up.writable.getWriter();
    await w.write(testBytes(3 * MIB, 6));
    assert.deepEqual(await rawNames(endpoint, bucket), []);
    await stopEmulator("gcs", port);
    const err = await (async () => {
      try {
        for (let i = 0; i < 4; i++) await w.write(testBytes(1 * MIB, 7 + i));
        await w.close();
        return await up.commit();
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof DestinationError, `expected a DestinationError, got ${err}`);
    assert.match(
      err.message,
      new RegExp(`gs://${bucket}/p/_rivet_tmp/[0-9a-f]{16}/orders\\.parquet`),
    );
    assert.equal(err.retryable, true);
    await up.abort();
    await assert.rejects(() => up.commit(), DestinationError);
  } finally {
    await stopEmulator("gcs", port);
  }
});

Deno.test("GcsDestination names the bucket and says what to do when the bucket does not exist", async () => {
  const endpoint = await ensureGcs(PORT);
  const dest = new GcsDestination({ bucket: "rivet-no-such-bucket", prefix: "p/", endpoint });
  const err = await dest.put("x.csv", new Uint8Array(3)).catch((e) => e);
  assert.ok(err instanceof DestinationError);
  assert.equal(err.message, "Cannot use gs://rivet-no-such-bucket: the bucket does not exist");
  assert.match(err.hint ?? "", /create the bucket/);
  await assert.rejects(() => dest.create("y.csv"), /the bucket does not exist/);
  await assert.rejects(() => dest.list(), /the bucket does not exist/);
});

Deno.test("GcsDestination refuses allow_anonymous together with credentials_file", () => {
  assert.throws(
    () => new GcsDestination({ bucket: "b", allowAnonymous: true, credentialsFile: "/k.json" }),
    /both allow_anonymous and credentials_file/,
  );
});

Deno.test("GcsDestination honours STORAGE_EMULATOR_HOST without an endpoint option", async () => {
  const endpoint = await ensureGcs(PORT);
  const bucket = uniqueBucket("envhost");
  await createBucket(endpoint, bucket);
  Deno.env.set("STORAGE_EMULATOR_HOST", endpoint);
  try {
    const dest = new GcsDestination({ bucket, prefix: "p/", allowAnonymous: true });
    await dest.put("a.csv", new TextEncoder().encode("x\n"));
    assert.deepEqual(await rawNames(endpoint, bucket), ["p/a.csv"]);
  } finally {
    Deno.env.delete("STORAGE_EMULATOR_HOST");
  }
});

Deno.test("GcsDestination prefix written with manifest and _SUCCESS passes content verification", async () => {
  await withBucket("verify", async (dest) => {
    const body = testBytes(3 * MIB, 10);
    const up = await dest.create("orders_1.parquet");
    await writeChunked(up.writable, body);
    const stored = await up.commit();
    const manifest = serializeManifest(buildManifest({
      runId: "orders_20260521T120000.123",
      exportName: "orders",
      startedAt: new Date("2026-05-21T12:00:00Z"),
      finishedAt: new Date("2026-05-21T12:00:05Z"),
      runStatus: "success",
      engine: "mysql",
      destination: { kind: dest.kind, uri: dest.uri },
      format: "csv",
      compression: "none",
      schemaFingerprint: "xxh3:0000000000000000",
      parts: [{
        path: stored.name,
        rows: 10,
        size_bytes: body.length,
        content_fingerprint: "xxh3:0123456789abcdef",
        content_md5: b64md5(body),
      }],
    }));
    await dest.put("manifest.json", manifest);
    await dest.put("_SUCCESS", new TextEncoder().encode(await successMarkerBody(manifest)));
    const v = await verifyDestinationPrefix(dest, "content");
    assert.deepEqual(v.failures, []);
    assert.equal(v.passed, true);
    assert.equal(v.parts_md5_verified, 1);
    // A changed part is caught by its MD5 even at the same size.
    await dest.put("orders_1.parquet", testBytes(3 * MIB, 11));
    const after = await verifyDestinationPrefix(dest, "content");
    assert.equal(after.passed, false);
    assert.deepEqual(after.failures.map((f) => f.kind), ["part_checksum_mismatch"]);
  });
});
