// End-to-end tests of quality gates, schema drift, meta columns and Slack notifications through the CLI.
import assert from "node:assert/strict";
import * as path from "node:path";
import { runRivet } from "./helpers/cli.ts";
import { duckRows } from "./helpers/duck.ts";
import { PG_URL, pgExec } from "./helpers/db.ts";

async function setup(yaml: string): Promise<{ dir: string; cfg: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_q_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(cfg, yaml);
  return { dir, cfg };
}

async function dataFiles(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir)))
      .filter((e) =>
        e.isFile && !e.name.startsWith(".") && e.name !== "manifest.json" && e.name !== "_SUCCESS"
      )
      .map((e) => path.join(dir, e.name)).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

const T = "rivet_quality_src";
async function seed(): Promise<void> {
  await pgExec(
    `DROP TABLE IF EXISTS ${T}`,
    `CREATE TABLE ${T} (id int, email text, code text)`,
    // 10 rows; email NULL in 2 (ratio 0.2); code duplicated once; NULL codes twice.
    `INSERT INTO ${T} VALUES (1,'a@x','c1'),(2,'b@x','c2'),(3,NULL,'c3'),(4,'d@x','c3'),
       (5,'e@x',NULL),(6,'f@x',NULL),(7,NULL,'c7'),(8,'h@x','c8'),(9,'i@x','c9'),(10,'j@x','')`,
  );
}

const cases: Array<{ title: string; quality: string; pass: boolean; message?: RegExp }> = [
  {
    title: "row_count_min fails below the minimum",
    quality: "{ row_count_min: 11 }",
    pass: false,
    message: /row_count 10 below minimum 11/,
  },
  { title: "row_count_min passes at the minimum", quality: "{ row_count_min: 10 }", pass: true },
  {
    title: "row_count_max fails above the maximum",
    quality: "{ row_count_max: 9 }",
    pass: false,
    message: /row_count 10 exceeds maximum 9/,
  },
  {
    title: "null_ratio_max fails above the threshold",
    quality: "{ null_ratio_max: { email: 0.1 } }",
    pass: false,
    message: /column 'email': null ratio 0\.2000 exceeds threshold 0\.1000/,
  },
  {
    title: "null_ratio_max passes at the threshold",
    quality: "{ null_ratio_max: { email: 0.2 } }",
    pass: true,
  },
  {
    title: "unique_columns fails on a duplicate value",
    quality: "{ unique_columns: [code], unique_max_entries: 100 }",
    pass: false,
    message: /column 'code': 1 duplicate values out of 10 rows/,
  },
  {
    title: "unique_columns does not count NULLs as duplicates",
    quality: "{ unique_columns: [id, email], unique_max_entries: 100 }",
    pass: true,
  },
];

for (const c of cases) {
  Deno.test(`quality gate ${c.title}; a failure publishes no file and exits 1`, async () => {
    await seed();
    const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: q
    table: ${T}
    format: parquet
    quality: ${c.quality}
    destination: { type: local, path: ./out }
`);
    const r = await runRivet(["run", "-c", cfg], { cwd: dir });
    const files = await dataFiles(path.join(dir, "out"));
    if (c.pass) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(files.length, 1);
    } else {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, c.message!);
      assert.match(r.stderr, /quality checks failed/);
      assert.deepEqual(files, []);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(path.join(dir, "out"))), []);
    }
  });
}

const DT = "rivet_drift_src";
for (const policy of ["warn", "continue", "fail"] as const) {
  Deno.test(`schema drift with on_schema_drift: ${policy} after ALTER TABLE ADD COLUMN`, async () => {
    const table = `${DT}_${policy}`;
    await pgExec(
      `DROP TABLE IF EXISTS ${table}`,
      `CREATE TABLE ${table} (id int)`,
      `INSERT INTO ${table} VALUES (1)`,
    );
    const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: d
    table: ${table}
    format: csv
    on_schema_drift: ${policy}
    destination: { type: local, path: ./out }
`);
    const first = await runRivet(["run", "-c", cfg], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    await pgExec(`ALTER TABLE ${table} ADD COLUMN extra text`);
    const second = await runRivet(["run", "-c", cfg, "--json"], { cwd: dir });
    const files = await dataFiles(path.join(dir, "out"));
    const journal = await runRivet(["journal", "-c", cfg, "-e", "d", "--json"], { cwd: dir });
    assert.match(journal.stdout, /SchemaChanged/);
    assert.match(journal.stdout, /extra \(Utf8\)/);
    if (policy === "fail") {
      assert.equal(second.code, 1);
      assert.match(second.stderr, /schema drift detected for export 'd'/);
      assert.equal(files.length, 1, "the drifted run published nothing");
      // The stored schema is kept: the next run still sees the drift.
      const third = await runRivet(["run", "-c", cfg], { cwd: dir });
      assert.equal(third.code, 1);
    } else {
      assert.equal(second.code, 0, second.stderr);
      assert.equal(files.length, 2);
      if (policy === "warn") assert.match(second.stderr, /schema changed/i);
      else assert.doesNotMatch(second.stderr, /schema changed/i);
      const metrics = await runRivet(["metrics", "-c", cfg, "--json"], { cwd: dir });
      assert.equal(JSON.parse(metrics.stdout)[0].schema_changed, true);
    }
  });
}

Deno.test("meta columns add _rivet_exported_at and a deterministic _rivet_row_hash", async () => {
  await seed();
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: m
    query: "SELECT id, email FROM ${T} ORDER BY id"
    format: parquet
    meta_columns: { exported_at: true, row_hash: true }
    destination: { type: local, path: "./out/{run_id}" }
`);
  const a = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(a.code, 0, a.stderr);
  const b = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(b.code, 0, b.stderr);
  const glob = path.join(dir, "out", "*", "*.parquet");
  const rows = await duckRows(
    `SELECT id, count(DISTINCT _rivet_row_hash) AS hashes, count(*) AS n,
            min(_rivet_exported_at) IS NOT NULL AS has_ts
       FROM read_parquet('${glob}') GROUP BY id ORDER BY id`,
  );
  assert.equal(rows.length, 10);
  for (const r of rows) assert.deepEqual([r.hashes, r.n, r.has_ts], ["1", "2", true]);
  const [{ d }] = await duckRows(
    `SELECT count(DISTINCT _rivet_row_hash) AS d FROM read_parquet('${glob}')`,
  ) as [{ d: string }];
  assert.equal(d, "10", "rows with NULL and non-NULL emails hash differently");
  const types = await duckRows(`DESCRIBE SELECT * FROM read_parquet('${glob}')`);
  assert.deepEqual(types.map((t) => `${t.column_name}:${t.column_type}`).slice(2), [
    "_rivet_exported_at:TIMESTAMP WITH TIME ZONE",
    "_rivet_row_hash:BIGINT",
  ]);
});

Deno.test("a failed export posts a Slack notification to the configured webhook", async () => {
  const received: unknown[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    received.push(await req.json());
    return new Response("ok");
  });
  try {
    const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
notifications:
  slack: { webhook_url_env: RIVET_TEST_SLACK, on: [failure] }
exports:
  - { name: broken, table: rivet_missing_table_for_slack, format: csv, destination: { type: local, path: ./out } }
  - { name: fine, query: "SELECT 1 AS x", format: csv, destination: { type: local, path: ./out2 } }
`);
    const r = await runRivet(["run", "-c", cfg], {
      cwd: dir,
      env: { RIVET_TEST_SLACK: `http://127.0.0.1:${server.addr.port}/hook` },
    });
    assert.equal(r.code, 1);
    assert.equal(received.length, 1, "only the failure triggers");
    const payload = received[0] as { attachments: Array<{ color: string; text: string }> };
    assert.equal(payload.attachments[0]!.color, "#e74c3c");
    assert.match(payload.attachments[0]!.text, /\*broken\* \| status: `failed`/);
  } finally {
    await server.shutdown();
  }
});
