// End-to-end tests of keyset pagination (chunk_by_key) on uuid and text keys.
import assert from "node:assert/strict";
import * as path from "node:path";
import { runRivet } from "./helpers/cli.ts";
import { duckRows } from "./helpers/duck.ts";
import { MYSQL_URL, mysqlExec, PG_URL, pgExec } from "./helpers/db.ts";

async function setup(yaml: string): Promise<{ dir: string; cfg: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_keyset_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(cfg, yaml);
  return { dir, cfg };
}

Deno.test("keyset on a PostgreSQL uuid key exports every row once across _keyset<p> pages", async () => {
  const T = "rivet_keyset_uuid";
  await pgExec(
    `DROP TABLE IF EXISTS ${T}`,
    `CREATE TABLE ${T} (doc_id uuid PRIMARY KEY, n int)`,
    `INSERT INTO ${T} SELECT md5(g::text)::uuid, g FROM generate_series(1, 2500) g`,
  );
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: docs, table: ${T}, mode: chunked, chunk_by_key: doc_id, chunk_size: 1000, format: parquet, destination: { type: local, path: ./out } }
`);
  const r = await runRivet(["run", "-c", cfg, "--json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).per_export[0].mode, "keyset");
  const files = (await Array.fromAsync(Deno.readDir(path.join(dir, "out"))))
    .map((e) => e.name).filter((n) => n.endsWith(".parquet")).sort();
  assert.equal(files.length, 3);
  files.forEach((f, i) => assert.match(f, new RegExp(`^docs_\\d{8}_\\d{6}_keyset${i}\\.parquet$`)));
  const [agg] = await duckRows(
    `SELECT count(*) AS n, count(DISTINCT doc_id) AS d, sum(n) AS s FROM read_parquet('${dir}/out/*.parquet')`,
  );
  assert.deepEqual(agg, { n: "2500", d: "2500", s: "3126250" });
});

Deno.test("keyset on a MySQL text key pages in the server's order and loses nothing", async () => {
  const T = "rivet_keyset_text";
  await mysqlExec(
    `DROP TABLE IF EXISTS ${T}`,
    `CREATE TABLE ${T} (code VARCHAR(20) NOT NULL, n INT, UNIQUE KEY (code))`,
    `INSERT INTO ${T} SELECT CONCAT('c-', LPAD(seq * 7919 % 100000, 6, '0'), IF(seq % 3 = 0, 'x''y', '')), seq FROM seq_1_to_1200`,
  );
  const { dir, cfg } = await setup(`source: { type: mysql, url: "${MYSQL_URL}" }
exports:
  - { name: codes, table: ${T}, mode: chunked, chunk_by_key: code, chunk_size: 500, format: csv, destination: { type: local, path: ./out } }
`);
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const [agg] = await duckRows(
    `SELECT count(*) AS n, count(DISTINCT code) AS d FROM read_csv('${dir}/out/*.csv', header = true)`,
  );
  assert.deepEqual(agg, { n: "1200", d: "1200" });
});

Deno.test("keyset refuses a key that is not unique and NOT NULL", async () => {
  const T = "rivet_keyset_bad";
  await pgExec(
    `DROP TABLE IF EXISTS ${T}`,
    `CREATE TABLE ${T} (k int, v text)`,
    `INSERT INTO ${T} VALUES (1, 'a')`,
  );
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: bad, table: ${T}, mode: chunked, chunk_by_key: k, format: csv, destination: { type: local, path: ./out } }
`);
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /chunk_by_key 'k' is not usable for keyset pagination/);
});
