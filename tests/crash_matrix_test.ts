// The crash matrix of a single export: a SIGKILL at each commit step, then a plain re-run loses nothing.
import assert from "node:assert/strict";
import * as path from "node:path";
import { runRivet } from "./helpers/cli.ts";
import { duckRows } from "./helpers/duck.ts";
import { MYSQL_URL, mysqlExec, PG_URL, pgExec } from "./helpers/db.ts";

const POINTS = [
  { point: "after_source_read", files: 0, logged: 0, cursor: false },
  { point: "after_file_write", files: 1, logged: 0, cursor: false },
  { point: "after_manifest_update", files: 1, logged: 1, cursor: false },
  { point: "after_cursor_commit", files: 1, logged: 1, cursor: true },
] as const;

async function dataFiles(out: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(out)))
      .filter((e) => e.isFile && /\.parquet$/.test(e.name) && !e.name.startsWith("."))
      .map((e) => path.join(out, e.name));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

for (const engine of ["postgres", "mysql"] as const) {
  for (const c of POINTS) {
    Deno.test(`${engine} incremental killed at ${c.point} leaves the documented state and a re-run loses nothing`, async () => {
      const table = `rivet_crash_${engine}_${c.point}`;
      const exec = engine === "postgres" ? pgExec : mysqlExec;
      await exec(
        `DROP TABLE IF EXISTS ${table}`,
        `CREATE TABLE ${table} (id int primary key, v varchar(20))`,
        `INSERT INTO ${table} VALUES ${
          Array.from({ length: 300 }, (_, i) => `(${i + 1}, 'v${i + 1}')`).join(",")
        }`,
      );
      const dir = await Deno.makeTempDir({ prefix: "rivet_crash_" });
      const cfg = path.join(dir, "rivet.yaml");
      await Deno.writeTextFile(
        cfg,
        `source: { type: ${engine}, url: "${engine === "postgres" ? PG_URL : MYSQL_URL}" }
exports:
  - { name: inc, table: ${table}, mode: incremental, cursor_column: id, format: parquet, destination: { type: local, path: ./out } }
`,
      );
      const crashed = await runRivet(["run", "-c", cfg], {
        cwd: dir,
        env: { RIVET_TEST_PANIC_AT: c.point },
      });
      assert.notEqual(crashed.code, 0);
      const out = path.join(dir, "out");
      assert.equal((await dataFiles(out)).length, c.files, "data files after the crash");
      const logged = await runRivet(["state", "files", "-c", cfg, "--json"], { cwd: dir });
      assert.equal(JSON.parse(logged.stdout).length, c.logged, "file log rows after the crash");
      const cursor = await runRivet(["state", "show", "-c", cfg, "--json"], { cwd: dir });
      assert.equal(JSON.parse(cursor.stdout).length, c.cursor ? 1 : 0, "cursor after the crash");

      await exec(`INSERT INTO ${table} VALUES (301, 'late')`);
      const rerun = await runRivet(["run", "-c", cfg, "--json"], { cwd: dir });
      assert.equal(rerun.code, 0, rerun.stderr);
      const files = (await dataFiles(out)).map((f) => `'${f}'`).join(", ");
      const [agg] = await duckRows(
        `SELECT count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM read_parquet([${files}])`,
      );
      assert.deepEqual(agg, { d: "301", lo: 1, hi: 301 }, "every source row is in some file");
      const show = await runRivet(["state", "show", "-c", cfg, "--json"], { cwd: dir });
      assert.equal(JSON.parse(show.stdout)[0].last_cursor_value, "301");
    });
  }
}
