// End-to-end tests of partition_by: Hive-style directories per day/month, a NULL bucket, one manifest each.
import assert from "node:assert/strict";
import * as path from "node:path";
import { runRivet } from "./helpers/cli.ts";
import { duckRows } from "./helpers/duck.ts";
import { PG_URL, pgExec } from "./helpers/db.ts";

const T = "rivet_part_src";

async function seed(): Promise<void> {
  await pgExec(
    `DROP TABLE IF EXISTS ${T}`,
    `CREATE TABLE ${T} (id int, ts timestamp)`,
    // 3 days of rows, one exactly at midnight of the 3rd day (belongs to that day), and 4 NULLs.
    `INSERT INTO ${T} SELECT g, timestamp '2024-01-01 00:00:00' + g * interval '1 hour'
       FROM generate_series(0, 47) g`,
    `INSERT INTO ${T} VALUES (100, '2024-01-03 00:00:00'), (101, NULL), (102, NULL), (103, NULL), (104, NULL)`,
  );
}

Deno.test("partition_by day writes one Hive directory per day plus a NULL bucket, with half-open bounds", async () => {
  await seed();
  const dir = await Deno.makeTempDir({ prefix: "rivet_part_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    cfg,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: ev
    table: ${T}
    format: parquet
    partition_by: ts
    destination: { type: local, path: "./out/{partition}" }
`,
  );
  const r = await runRivet(["run", "-c", cfg, "--json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const agg = JSON.parse(r.stdout);
  assert.deepEqual(
    agg.per_export.map((e: { export_name: string; rows: number }) => [e.export_name, e.rows]),
    [
      ["ev__2024-01-01", 24],
      ["ev__2024-01-02", 24],
      ["ev__2024-01-03", 1],
      ["ev__null", 4],
    ],
  );
  const dirs = (await Array.fromAsync(Deno.readDir(path.join(dir, "out")))).map((e) => e.name)
    .sort();
  assert.deepEqual(dirs, [
    "ts=2024-01-01",
    "ts=2024-01-02",
    "ts=2024-01-03",
    "ts=__HIVE_DEFAULT_PARTITION__",
  ]);
  for (const d of dirs) {
    const m = JSON.parse(await Deno.readTextFile(path.join(dir, "out", d, "manifest.json")));
    assert.equal(m.status, "success");
    assert.ok((await Deno.stat(path.join(dir, "out", d, "_SUCCESS"))).isFile);
  }
  const rows = await duckRows(
    `SELECT ts::DATE::VARCHAR AS day, count(*) AS n FROM read_parquet('${dir}/out/*/*.parquet', hive_partitioning = false)
      GROUP BY ALL ORDER BY ALL NULLS LAST`,
  );
  assert.deepEqual(rows, [
    { day: "2024-01-01", n: "24" },
    { day: "2024-01-02", n: "24" },
    { day: "2024-01-03", n: "1" },
    { day: null, n: "4" },
  ]);
});

Deno.test("partition_by without {partition} in the destination is refused before anything runs", async () => {
  await seed();
  const dir = await Deno.makeTempDir({ prefix: "rivet_part_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    cfg,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: ev, table: ${T}, format: csv, partition_by: ts, partition_granularity: month, destination: { type: local, path: ./out } }
`,
  );
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\{partition\}/);
});
