// End-to-end tests of `rivet run` through the CLI, against the real databases, read back with DuckDB.
import assert from "node:assert/strict";
import * as path from "node:path";
import { runRivet } from "./helpers/cli.ts";
import { duckRows } from "./helpers/duck.ts";
import { MYSQL_URL, mysqlExec, PG_URL, pgExec } from "./helpers/db.ts";

const PG_TABLE = "rivet_e2e_orders";
const MY_TABLE = "rivet_e2e_orders";

async function seedPg(): Promise<void> {
  await pgExec(
    `DROP TABLE IF EXISTS ${PG_TABLE}`,
    `CREATE TABLE ${PG_TABLE} (id bigint primary key, customer text, total numeric(12,2),
       placed_at timestamptz, paid boolean)`,
    `INSERT INTO ${PG_TABLE} SELECT g, 'customer "' || g || '", inc', (g * 1.25)::numeric(12,2),
       timestamptz '2024-01-01 00:00:00.000001+00' + g * interval '1 minute', g % 2 = 0
       FROM generate_series(1, 5000) g`,
  );
}

async function seedMysql(): Promise<void> {
  await mysqlExec(
    `DROP TABLE IF EXISTS ${MY_TABLE}`,
    `CREATE TABLE ${MY_TABLE} (id BIGINT PRIMARY KEY, customer VARCHAR(100), total DECIMAL(12,2),
       placed_at DATETIME(6), paid TINYINT(1))`,
    `INSERT INTO ${MY_TABLE} SELECT seq, CONCAT('customer "', seq, '", inc'), seq * 1.25,
       TIMESTAMP('2024-01-01 00:00:00.000001') + INTERVAL seq MINUTE, seq % 2 = 0
       FROM seq_1_to_3000`,
  );
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "rivet_e2e_" });
}

async function writeConfig(dir: string, yaml: string): Promise<string> {
  const p = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(p, yaml);
  return p;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name !== "manifest.json" && e.name !== "_SUCCESS") out.push(e.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

Deno.test("rivet run exports a PostgreSQL table to Parquet and CSV that DuckDB reads back exactly", async () => {
  await seedPg();
  const dir = await tempDir();
  const cfg = await writeConfig(
    dir,
    `source:
  type: postgres
  url_env: E2E_PG_URL
exports:
  - name: orders_pq
    table: ${PG_TABLE}
    format: parquet
    destination: { type: local, path: "./out/{export}" }
  - name: orders_csv
    query: "SELECT id, customer, total, placed_at, paid FROM ${PG_TABLE} ORDER BY id"
    format: csv
    destination: { type: local, path: "./out/{export}" }
`,
  );
  const res = await runRivet(["run", "-c", cfg], { cwd: dir, env: { E2E_PG_URL: PG_URL } });
  assert.equal(res.code, 0, res.stderr);
  const pq = await listFiles(path.join(dir, "out/orders_pq"));
  assert.equal(pq.length, 1);
  assert.match(pq[0]!, /^orders_pq_\d{8}_\d{6}\.parquet$/);
  const file = path.join(dir, "out/orders_pq", pq[0]!);
  const [agg] = await duckRows(
    `SELECT count(*) AS n, sum(total)::VARCHAR AS s, min(placed_at)::VARCHAR AS first,
            count(*) FILTER (WHERE paid) AS paid, max(customer) AS maxc
       FROM '${file}'`,
  );
  assert.deepEqual(agg, {
    n: "5000",
    s: "15628125.00",
    first: "2024-01-01 00:01:00.000001+00",
    paid: "2500",
    maxc: 'customer "999", inc',
  });
  const types = await duckRows(
    `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '${file}')`,
  );
  assert.deepEqual(types.map((t) => `${t.column_name}:${t.column_type}`), [
    "id:BIGINT",
    "customer:VARCHAR",
    "total:DECIMAL(12,2)",
    "placed_at:TIMESTAMP WITH TIME ZONE",
    "paid:BOOLEAN",
  ]);
  const csv = await listFiles(path.join(dir, "out/orders_csv"));
  assert.equal(csv.length, 1);
  const csvPath = path.join(dir, "out/orders_csv", csv[0]!);
  const text = await Deno.readTextFile(csvPath);
  assert.ok(text.startsWith("id,customer,total,placed_at,paid\n"), text.slice(0, 80));
  assert.ok(
    text.includes('1,"customer ""1"", inc",1.25,2024-01-01T00:01:00.000001,false\n'),
    text.slice(0, 200),
  );
  const [c] = await duckRows(
    `SELECT count(*) AS n, sum(total)::VARCHAR AS s FROM read_csv('${csvPath}', header=true, types={'total': 'DECIMAL(12,2)'})`,
  );
  assert.deepEqual(c, { n: "5000", s: "15628125.00" });
  assert.match(res.stderr, /orders_pq/);
  assert.match(res.stderr, /Run summary \(2 exports\)/);
});

Deno.test("rivet run exports a MySQL table to Parquet with exact decimals and microseconds", async () => {
  await seedMysql();
  const dir = await tempDir();
  const cfg = await writeConfig(
    dir,
    `source:
  type: mysql
  url: "${MYSQL_URL}"
exports:
  - name: my_orders
    table: ${MY_TABLE}
    format: parquet
    compression: snappy
    destination: { type: local, path: ./out }
`,
  );
  const res = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(res.code, 0, res.stderr);
  const files = await listFiles(path.join(dir, "out"));
  assert.equal(files.length, 1);
  const [agg] = await duckRows(
    `SELECT count(*) AS n, sum(total)::VARCHAR AS s, min(placed_at)::VARCHAR AS first
       FROM '${path.join(dir, "out", files[0]!)}'`,
  );
  assert.deepEqual(agg, { n: "3000", s: "5626875.00", first: "2024-01-01 00:01:00.000001" });
  assert.match(res.stderr, /status:\s+success/);
  assert.match(res.stderr, /rows:\s+3,000/);
  assert.match(res.stderr, /compression: snappy/);
});

Deno.test("rivet run splits output at max_file_size into parts that together hold every row", async () => {
  await seedPg();
  const dir = await tempDir();
  const cfg = await writeConfig(
    dir,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: split
    query: "SELECT * FROM ${PG_TABLE}"
    format: csv
    max_file_size: 40KB
    tuning: { batch_size: 500 }
    destination: { type: local, path: ./out }
`,
  );
  const res = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(res.code, 0, res.stderr);
  const files = await listFiles(path.join(dir, "out"));
  assert.ok(files.length >= 3, `expected several parts, got ${files}`);
  files.forEach((f, i) => assert.match(f, new RegExp(`^split_\\d{8}_\\d{6}_part${i}\\.csv$`)));
  const [agg] = await duckRows(
    `SELECT count(*) AS n, count(DISTINCT id) AS d FROM read_csv('${
      path.join(dir, "out")
    }/*.csv', header=true)`,
  );
  assert.deepEqual(agg, { n: "5000", d: "5000" });
});

Deno.test("rivet run streams CSV to stdout and keeps human output on stderr", async () => {
  await seedPg();
  const dir = await tempDir();
  const cfg = await writeConfig(
    dir,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: to_stdout
    query: "SELECT id, paid FROM ${PG_TABLE} WHERE id <= 3 ORDER BY id"
    format: csv
    destination: { type: stdout }
`,
  );
  const res = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "id,paid\n1,false\n2,true\n3,false\n");
  assert.match(res.stderr, /rows:\s+3/);
});

Deno.test("rivet run writes no file for a zero-row result and marks it skipped with skip_empty", async () => {
  await seedPg();
  const dir = await tempDir();
  const cfg = await writeConfig(
    dir,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: empty_ok
    query: "SELECT * FROM ${PG_TABLE} WHERE id < 0"
    format: parquet
    destination: { type: local, path: ./out/a }
  - name: empty_skip
    query: "SELECT * FROM ${PG_TABLE} WHERE id < 0"
    format: csv
    skip_empty: true
    destination: { type: local, path: ./out/b }
`,
  );
  const res = await runRivet(["run", "-c", cfg, "--json"], { cwd: dir });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(await listFiles(path.join(dir, "out/a")), []);
  assert.deepEqual(await listFiles(path.join(dir, "out/b")), []);
  // A successful 0-row run publishes an empty manifest and _SUCCESS; a skipped run nothing.
  const manifest = JSON.parse(await Deno.readTextFile(path.join(dir, "out/a/manifest.json")));
  assert.deepEqual([manifest.status, manifest.row_count, manifest.parts], ["success", 0, []]);
  assert.ok((await Deno.stat(path.join(dir, "out/a/_SUCCESS"))).isFile);
  await assert.rejects(
    () => Deno.stat(path.join(dir, "out/b/manifest.json")),
    Deno.errors.NotFound,
  );
  const agg = JSON.parse(res.stdout);
  assert.equal(agg.total_exports, 2);
  assert.deepEqual(agg.per_export.map((e: { status: string }) => e.status), ["success", "skipped"]);
  assert.equal(agg.total_rows, 0);
});

Deno.test("rivet run --json and --summary-output report the same figures as the files", async () => {
  await seedPg();
  const dir = await tempDir();
  const cfg = await writeConfig(
    dir,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: figures
    query: "SELECT * FROM ${PG_TABLE} WHERE id <= \${limit}"
    format: parquet
    destination: { type: local, path: ./out }
`,
  );
  const summaryPath = path.join(dir, "summary.json");
  const res = await runRivet(
    ["run", "-c", cfg, "-p", "limit=1234", "--json", "--summary-output", summaryPath],
    { cwd: dir },
  );
  assert.equal(res.code, 0, res.stderr);
  const fromStdout = JSON.parse(res.stdout);
  const fromFile = JSON.parse(await Deno.readTextFile(summaryPath));
  assert.deepEqual(fromFile, fromStdout);
  assert.equal(fromStdout.total_rows, 1234);
  assert.equal(fromStdout.total_files, 1);
  const files = await listFiles(path.join(dir, "out"));
  const stat = await Deno.stat(path.join(dir, "out", files[0]!));
  assert.equal(fromStdout.total_bytes, stat.size);
  assert.ok(fromStdout.per_export[0].peak_rss_mb > 0);
  assert.match(fromStdout.per_export[0].run_id, /^figures_\d{8}T\d{6}\.\d{3}$/);
});
