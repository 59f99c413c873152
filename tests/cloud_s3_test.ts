// End-to-end tests of S3Destination against a real S3 emulator (s3rver) started by scripts/start-s3.sh.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { DestinationError } from "../src/errors.ts";
import { S3Destination, type S3DestinationOptions } from "../src/destination/s3/s3_destination.ts";
import { verifyDestinationPrefix } from "../src/destination/verify_prefix.ts";
import { buildManifest, serializeManifest, successMarkerBody } from "../src/manifest.ts";
import {
  ensureS3,
  isolateCloudEnv,
  stopEmulator,
  testBytes,
  uniqueBucket,
  writeChunked,
} from "./helpers/emulators.ts";

const PORT = Number(Deno.env.get("RIVET_TEST_S3_PORT") ?? 14611);
/** A second server that the interruption test stops and restarts. */
const FLAKY_PORT = PORT + 1;
const MIB = 1024 * 1024;
const KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

isolateCloudEnv();

function rawClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: KEYS,
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
}

/** Every key in the bucket, temp keys included (what another reader of the bucket sees). */
async function rawKeys(endpoint: string, bucket: string): Promise<string[]> {
  const client = rawClient(endpoint);
  try {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (res.Contents ?? []).map((o) => o.Key ?? "").sort();
  } finally {
    client.destroy();
  }
}

async function withBucket(
  label: string,
  fn: (dest: S3Destination, ctx: { endpoint: string; bucket: string }) => Promise<void>,
  opts: Partial<S3DestinationOptions> = {},
  port = PORT,
): Promise<void> {
  const endpoint = await ensureS3(port);
  const bucket = uniqueBucket(label);
  const client = rawClient(endpoint);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  const dest = new S3Destination({
    bucket,
    prefix: "exports/orders/",
    endpoint,
    credentials: KEYS,
    partSize: 5 * MIB,
    ...opts,
  });
  try {
    await fn(dest, { endpoint, bucket });
  } finally {
    await dest.close();
  }
}

const b64md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("base64");

Deno.test("S3Destination streams multi-MiB objects to a temp key and makes them visible only on commit", async () => {
  await withBucket("commit", async (dest, { endpoint, bucket }) => {
    assert.equal(dest.uri, `s3://${bucket}/exports/orders/`);
    const big = testBytes(12 * MIB + 123, 1); // three parts of a multipart upload
    const medium = testBytes(3 * MIB + 7, 2); // under one part: a single PUT on commit
    const renamed = testBytes(6 * MIB, 3);

    const upBig = await dest.create("orders_20260521_120001.parquet");
    await writeChunked(upBig.writable, big);
    // Uploaded, but only under the hidden temp key.
    assert.equal(await dest.head("orders_20260521_120001.parquet"), null);
    assert.deepEqual(await dest.list(), []);
    const temp = await rawKeys(endpoint, bucket);
    assert.equal(temp.length, 1);
    assert.match(
      temp[0]!,
      /^exports\/orders\/_rivet_tmp\/[0-9a-f]{16}\/orders_20260521_120001\.parquet$/,
    );
    const storedBig = await upBig.commit();
    assert.deepEqual(storedBig, {
      name: "orders_20260521_120001.parquet",
      size: big.length,
      md5: b64md5(big), // s3rver's ETag is the content MD5, and it matched ours
    });

    const upMedium = await dest.create("sub/orders_2.csv");
    await writeChunked(upMedium.writable, medium, 100_000);
    assert.deepEqual(await rawKeys(endpoint, bucket), [
      "exports/orders/orders_20260521_120001.parquet",
    ]);
    assert.deepEqual(await upMedium.commit(), {
      name: "sub/orders_2.csv",
      size: medium.length,
      md5: b64md5(medium),
    });

    const upRenamed = await dest.create("orders_20260521_120002.parquet");
    await writeChunked(upRenamed.writable, renamed);
    const storedRenamed = await upRenamed.commit("orders_20260521_120002_part0.parquet");
    assert.equal(storedRenamed.name, "orders_20260521_120002_part0.parquet");

    assert.deepEqual(await dest.read("orders_20260521_120001.parquet"), big);
    assert.deepEqual(await dest.read("sub/orders_2.csv"), medium);
    assert.deepEqual(await dest.read("orders_20260521_120002_part0.parquet"), renamed);
    assert.equal(await dest.read("orders_20260521_120002.parquet"), null);
    assert.deepEqual(await dest.head("sub/orders_2.csv"), {
      name: "sub/orders_2.csv",
      size: medium.length,
      md5: b64md5(medium),
    });
    assert.deepEqual((await dest.list()).map((o) => [o.name, o.size]), [
      ["orders_20260521_120001.parquet", big.length],
      ["orders_20260521_120002_part0.parquet", renamed.length],
      ["sub/orders_2.csv", medium.length],
    ]);
    // No temp object is left behind.
    assert.deepEqual(await rawKeys(endpoint, bucket), [
      "exports/orders/orders_20260521_120001.parquet",
      "exports/orders/orders_20260521_120002_part0.parquet",
      "exports/orders/sub/orders_2.csv",
    ]);
  });
});

Deno.test("S3Destination put, head, list across pages, read and delete use names relative to the prefix", async () => {
  await withBucket("small", async (dest, { endpoint, bucket }) => {
    const names = ["a.csv", "b/c.csv", "b/d.csv", "e.csv", "manifest.json"];
    for (const [i, n] of names.entries()) {
      const body = new TextEncoder().encode(`body ${i}\n`);
      assert.deepEqual(await dest.put(n, body), { name: n, size: body.length, md5: b64md5(body) });
    }
    // A key outside the prefix that merely shares its first characters is not listed.
    const other = new S3Destination({
      bucket,
      prefix: "exports/orders",
      endpoint,
      credentials: KEYS,
    });
    await other.put("_x.csv", new Uint8Array([1]));
    await other.close();
    const listed = await dest.list(); // page size 2: three ListObjectsV2 pages
    assert.deepEqual(listed.map((o) => o.name), names);
    assert.equal(listed[0]!.md5, b64md5(new TextEncoder().encode("body 0\n")));
    assert.equal(await dest.head("missing.csv"), null);
    assert.equal(await dest.read("missing.csv"), null);
    await dest.delete("b/c.csv");
    await dest.delete("b/c.csv"); // deleting what is gone is not an error
    assert.equal(await dest.head("b/c.csv"), null);
    assert.deepEqual((await dest.list()).map((o) => o.name), [
      "a.csv",
      "b/d.csv",
      "e.csv",
      "manifest.json",
    ]);
    await assert.rejects(() => dest.put("../escape.csv", new Uint8Array(1)), DestinationError);
  }, { listPageSize: 2 });
});

Deno.test("S3Destination abort leaves no object under the final name and no temp object", async () => {
  await withBucket("abort", async (dest, { endpoint, bucket }) => {
    // Aborted mid-stream: parts were uploaded, the multipart upload is aborted.
    const a = await dest.create("a.parquet");
    const w = a.writable.getWriter();
    await w.write(testBytes(11 * MIB, 4));
    await w.abort(new Error("the source failed"));
    await a.abort();
    await a.abort(); // safe twice
    await assert.rejects(() => a.commit(), DestinationError);

    // Aborted after the stream closed: the completed temp object is deleted.
    const b = await dest.create("b.parquet");
    await writeChunked(b.writable, testBytes(7 * MIB, 5));
    assert.equal((await rawKeys(endpoint, bucket)).length, 1);
    await b.abort();

    // Never closed: commit refuses.
    const c = await dest.create("c.parquet");
    await assert.rejects(() => c.commit(), /not closed/);
    await c.abort();

    assert.equal(await dest.head("a.parquet"), null);
    assert.equal(await dest.head("b.parquet"), null);
    assert.deepEqual(await rawKeys(endpoint, bucket), []);
  });
});

Deno.test("S3Destination fails cleanly when the server stops in the middle of an upload", async () => {
  const data = await Deno.makeTempDir({ prefix: "rivet-s3-flaky-" });
  const port = FLAKY_PORT;
  try {
    await stopEmulator("s3", port);
    const endpoint = await ensureS3(port, data);
    const bucket = uniqueBucket("flaky");
    const client = rawClient(endpoint);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
    const dest = new S3Destination({
      bucket,
      prefix: "p/",
      endpoint,
      credentials: KEYS,
      partSize: 5 * MIB,
      maxAttempts: 2,
    });
    const up = await dest.create("orders.parquet");
    const w = up.writable.getWriter();
    await w.write(testBytes(11 * MIB, 6)); // two parts on their way
    await stopEmulator("s3", port);
    const err = await (async () => {
      try {
        for (let i = 0; i < 4; i++) await w.write(testBytes(5 * MIB, 7 + i));
        await w.close();
        return await up.commit();
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof DestinationError, `expected a DestinationError, got ${err}`);
    assert.match(
      err.message,
      new RegExp(`s3://${bucket}/p/_rivet_tmp/[0-9a-f]{16}/orders\\.parquet`),
    );
    assert.equal(err.retryable, true);
    await up.abort(); // the store is down: best effort, does not throw
    await dest.close();

    // Back up with the same data: nothing under the final name, nothing listed.
    await ensureS3(port, data);
    const again = new S3Destination({ bucket, prefix: "p/", endpoint, credentials: KEYS });
    assert.equal(await again.head("orders.parquet"), null);
    assert.deepEqual(await again.list(), []);
    assert.deepEqual(await rawKeys(endpoint, bucket), []);
    await again.close();
  } finally {
    await stopEmulator("s3", port);
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("S3Destination names the bucket and says what to do when the bucket does not exist", async () => {
  const endpoint = await ensureS3(PORT);
  const dest = new S3Destination({
    bucket: "rivet-no-such-bucket",
    prefix: "p/",
    endpoint,
    credentials: KEYS,
  });
  try {
    const err = await dest.put("x.csv", new Uint8Array(3)).catch((e) => e);
    assert.ok(err instanceof DestinationError);
    assert.equal(
      err.message,
      "Cannot write s3://rivet-no-such-bucket/p/x.csv: the bucket does not exist",
    );
    assert.match(err.hint ?? "", /create the bucket/);
    assert.equal(err.retryable, false);
    await assert.rejects(
      () => dest.list(),
      /Cannot list s3:\/\/rivet-no-such-bucket\/p\/: the bucket does not exist/,
    );
    const up = await dest.create("big.parquet");
    await assert.rejects(
      () => writeChunked(up.writable, testBytes(9 * MIB, 9)), // past the default 8 MiB part
      /Cannot start a multipart upload to s3:\/\/rivet-no-such-bucket\/p\/_rivet_tmp\/.*: the bucket does not exist/,
    );
    await up.abort();
  } finally {
    await dest.close();
  }
});

Deno.test("S3Destination reports an unknown access key with a hint and without the secret", async () => {
  await withBucket("creds", async (_dest, { endpoint, bucket }) => {
    const dest = new S3Destination({
      bucket,
      endpoint,
      credentials: { accessKeyId: "NOT-A-KEY", secretAccessKey: "super-secret-value" },
    });
    const err = await dest.put("x.csv", new Uint8Array(3)).catch((e) => e);
    await dest.close();
    assert.ok(err instanceof DestinationError);
    assert.match(err.message, /the access key id is not known/);
    assert.match(err.hint ?? "", /access_key_env/);
    assert.doesNotMatch(`${err.message} ${err.hint}`, /super-secret-value/);
  });
});

Deno.test("S3Destination prefix written with manifest and _SUCCESS passes verification", async () => {
  await withBucket("verify", async (dest) => {
    const body = testBytes(6 * MIB, 10);
    const up = await dest.create("orders_1.parquet");
    await writeChunked(up.writable, body);
    const stored = await up.commit();
    const manifest = serializeManifest(buildManifest({
      runId: "orders_20260521T120000.123",
      exportName: "orders",
      startedAt: new Date("2026-05-21T12:00:00Z"),
      finishedAt: new Date("2026-05-21T12:00:05Z"),
      runStatus: "success",
      engine: "postgres",
      destination: { kind: dest.kind, uri: dest.uri },
      format: "parquet",
      compression: "zstd",
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
    assert.equal(v.success_marker_consistent, true);
  });
});
