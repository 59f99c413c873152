// End-to-end runs of `rivet run` into S3 and GCS emulators and a local prefix: data, manifest, _SUCCESS, --validate.
import assert from "node:assert/strict";
import * as path from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { Storage } from "@google-cloud/storage";
import { runRivet } from "./helpers/cli.ts";
import { duckRows } from "./helpers/duck.ts";
import { PG_URL, pgExec } from "./helpers/db.ts";
import { ensureGcs, ensureS3, isolateCloudEnv, uniqueBucket } from "./helpers/emulators.ts";
import { parseManifest, successMarkerBody } from "../src/manifest.ts";

isolateCloudEnv();
const S3_PORT = Number(Deno.env.get("RIVET_TEST_S3_PORT") ?? 14611);
const GCS_PORT = Number(Deno.env.get("RIVET_TEST_GCS_PORT") ?? 19611);
const T = "rivet_cloud_src";

const CLOUD_ENV = {
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  TEST_S3_KEY: "S3RVER",
  TEST_S3_SECRET: "S3RVER",
  GOOGLE_CLOUD_PROJECT: "demo-test",
  METADATA_SERVER_DETECTION: "none",
};

async function seed(): Promise<void> {
  await pgExec(
    `DROP TABLE IF EXISTS ${T}`,
    `CREATE TABLE ${T} (id bigint, note text, amount numeric(10,2))`,
    `INSERT INTO ${T} SELECT g, repeat('x', g % 50), g / 4.0 FROM generate_series(1, 20000) g`,
  );
}

async function setup(yaml: string): Promise<{ dir: string; cfg: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_cloud_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(cfg, yaml);
  return { dir, cfg };
}

async function checkManifest(
  read: (name: string) => Promise<Uint8Array>,
  names: string[],
  dir: string,
): Promise<void> {
  const manifestBytes = await read("manifest.json");
  const parsed = parseManifest(new TextDecoder().decode(manifestBytes));
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  const m = parsed.value;
  assert.equal(m.status, "success");
  assert.equal(m.row_count, 20000);
  assert.equal(m.part_count, m.parts.length);
  assert.ok(m.parts.length >= 2, "max_file_size split the export");
  assert.equal(
    new TextDecoder().decode(await read("_SUCCESS")),
    await successMarkerBody(manifestBytes),
  );
  const data = names.filter((n) => n.endsWith(".parquet")).sort();
  assert.deepEqual(data, m.parts.map((p) => p.path).sort());
  for (const p of m.parts) {
    const local = path.join(dir, p.path);
    await Deno.writeFile(local, await read(p.path));
    assert.equal((await Deno.stat(local)).size, p.size_bytes);
  }
  const [agg] = await duckRows(
    `SELECT count(*) AS n, sum(amount)::VARCHAR AS s FROM read_parquet('${dir}/*.parquet')`,
  );
  assert.deepEqual(agg, { n: "20000", s: "50002500.00" });
}

Deno.test("rivet run to S3 streams parts, then writes manifest.json and _SUCCESS, and --validate passes", async () => {
  await seed();
  const endpoint = await ensureS3(S3_PORT);
  const bucket = uniqueBucket("run");
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: cloud
    table: ${T}
    format: parquet
    max_file_size: 30KB
    tuning: { batch_size: 2000 }
    destination:
      type: s3
      bucket: ${bucket}
      prefix: "exports/{export}/"
      region: us-east-1
      endpoint: ${endpoint}
      access_key_env: TEST_S3_KEY
      secret_key_env: TEST_S3_SECRET
`);
    const r = await runRivet(["run", "-c", cfg, "--validate"], { cwd: dir, env: CLOUD_ENV });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /validated: pass/);
    assert.ok(!r.stderr.includes("S3RVER"), "no secret in the output");
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    assert.ok(keys.every((k) => k.startsWith("exports/cloud/")), keys.join(","));
    const read = async (name: string) => {
      const got = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: `exports/cloud/${name}` }),
      );
      return new Uint8Array(await got.Body!.transformToByteArray());
    };
    await checkManifest(read, keys.map((k) => k.slice("exports/cloud/".length)), dir);
  } finally {
    client.destroy();
  }
});

Deno.test("rivet run to GCS writes the same contract through the Cloud Storage API", async () => {
  await seed();
  const endpoint = await ensureGcs(GCS_PORT);
  const bucket = uniqueBucket("run");
  const storage = new Storage({ apiEndpoint: endpoint, projectId: "demo-test" });
  await storage.createBucket(bucket);
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: cloud
    table: ${T}
    format: parquet
    max_file_size: 30KB
    tuning: { batch_size: 2000 }
    destination: { type: gcs, bucket: ${bucket}, prefix: "g/", endpoint: "${endpoint}", allow_anonymous: true }
`);
  const r = await runRivet(["run", "-c", cfg, "--validate"], { cwd: dir, env: CLOUD_ENV });
  assert.equal(r.code, 0, r.stderr);
  const [files] = await storage.bucket(bucket).getFiles({ prefix: "g/" });
  const names = files.map((f) => f.name.slice(2));
  const read = async (name: string) => {
    const [buf] = await storage.bucket(bucket).file(`g/${name}`).download();
    return new Uint8Array(buf);
  };
  await checkManifest(read, names, dir);
});

Deno.test("a failed run after a good one leaves no stale _SUCCESS and a skipped run keeps the prefix", async () => {
  await pgExec(
    `DROP TABLE IF EXISTS ${T}_l`,
    `CREATE TABLE ${T}_l (id int)`,
    `INSERT INTO ${T}_l VALUES (1)`,
  );
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: l, query: "SELECT * FROM ${T}_l", format: csv, skip_empty: true, destination: { type: local, path: ./out } }
`);
  const ok = await runRivet(["run", "-c", cfg, "--validate"], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  const out = path.join(dir, "out");
  const manifest1 = await Deno.readTextFile(path.join(out, "manifest.json"));
  assert.ok((await Deno.stat(path.join(out, "_SUCCESS"))).isFile);
  // Zero rows + skip_empty: the prefix stays exactly as the last good run left it.
  await pgExec(`DELETE FROM ${T}_l`);
  const skipped = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.equal(await Deno.readTextFile(path.join(out, "manifest.json")), manifest1);
  assert.ok((await Deno.stat(path.join(out, "_SUCCESS"))).isFile);
  // A failing run that published nothing does not touch the prefix either.
  await pgExec(`DROP TABLE ${T}_l`);
  const failed = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(failed.code, 1);
  assert.equal(await Deno.readTextFile(path.join(out, "manifest.json")), manifest1);
  // Damage the prefix: --validate of a new run notices a missing part from the manifest.
  await pgExec(`CREATE TABLE ${T}_l (id int)`, `INSERT INTO ${T}_l VALUES (2)`);
  const again = await runRivet(["run", "-c", cfg, "--validate"], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
});

Deno.test("run --reconcile recounts the export's own query at the source and reports MATCH", async () => {
  await pgExec(
    `DROP TABLE IF EXISTS ${T}_r`,
    `CREATE TABLE ${T}_r (id int, ts timestamptz)`,
    `INSERT INTO ${T}_r SELECT g, now() - g * interval '1 day' FROM generate_series(0, 29) g`,
  );
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: full_r, table: ${T}_r, format: csv, destination: { type: local, path: ./a } }
  - { name: tw_r, table: ${T}_r, mode: time_window, time_column: ts, days_window: 5, format: csv, destination: { type: local, path: ./b } }
`);
  const r = await runRivet(["run", "-c", cfg, "--reconcile"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const journal = await runRivet(["journal", "-c", cfg, "-e", "tw_r", "--json"], { cwd: dir });
  assert.match(journal.stdout, /ReconciliationResult/);
  assert.match(journal.stdout, /"matched":\s*true/);
  const single = await runRivet(["run", "-c", cfg, "-e", "full_r", "--reconcile"], { cwd: dir });
  assert.match(single.stderr, /reconcile: MATCH \(30\/30\)/);
});

Deno.test("run --reconcile fails the export when the source count differs from the rows written", async () => {
  // A query whose row count grows on every execution: the count can never match the export.
  await pgExec(
    `DROP SEQUENCE IF EXISTS rivet_reconcile_seq`,
    `CREATE SEQUENCE rivet_reconcile_seq START 10`,
  );
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: drifting
    query: "SELECT generate_series(1, nextval('rivet_reconcile_seq')::int) AS x"
    format: csv
    destination: { type: local, path: ./out }
`);
  const r = await runRivet(["run", "-c", cfg, "--reconcile"], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /reconcile MISMATCH: exported 10 rows but the source now counts 11/);
});
