// End-to-end tests of chunked exports: parallel workers, NULL and sparse keys, checkpoints, crashes and resume.
import assert from "node:assert/strict";
import * as path from "node:path";
import { repoRoot, rivetPermissionFlags, runRivet } from "./helpers/cli.ts";
import { duckRows } from "./helpers/duck.ts";
import { MYSQL_URL, mysqlExec, PG_URL, pgExec } from "./helpers/db.ts";

const T = "rivet_chunk_src";
const SOURCE_ROWS = 10_037;

async function seedPg(table = T): Promise<void> {
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, k bigint, note text)`,
    // Sparse chunk keys (multiples of 7), and 37 rows whose chunk key is NULL.
    `INSERT INTO ${table} SELECT g, CASE WHEN g > 10000 THEN NULL ELSE g * 7 END, 'n' || g
       FROM generate_series(1, ${SOURCE_ROWS}) g`,
  );
}

async function setup(yaml: string): Promise<{ dir: string; cfg: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_chunk_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(cfg, yaml);
  return { dir, cfg };
}

/** The ids in the files the manifest lists, and whether every listed file exists. */
async function manifestIds(out: string): Promise<number[]> {
  const manifest = JSON.parse(await Deno.readTextFile(path.join(out, "manifest.json")));
  assert.equal(manifest.status, "success");
  const files = manifest.parts.map((p: { path: string }) => `'${path.join(out, p.path)}'`);
  assert.ok(files.length > 0);
  const rows = await duckRows(`SELECT id FROM read_parquet([${files.join(", ")}]) ORDER BY id`);
  return rows.map((r) => Number(r.id));
}

function assertExactlyOnce(ids: number[], n = SOURCE_ROWS): void {
  assert.equal(ids.length, n, `expected ${n} rows, got ${ids.length}`);
  for (let i = 0; i < n; i++) if (ids[i] !== i + 1) assert.fail(`row ${i + 1} missing or doubled`);
}

function chunkedYaml(extra = "", table = T): string {
  return `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: ch
    table: ${table}
    mode: chunked
    chunk_column: k
    chunk_size: 7000
    format: parquet
    tuning: { batch_size: 500 }
${extra}    destination: { type: local, path: ./out }
`;
}

Deno.test("chunked export with parallel: 2 exports every row once, NULL keys included, sparse keys in few chunks", async () => {
  await seedPg();
  const { dir, cfg } = await setup(chunkedYaml("    parallel: 2\n"));
  const r = await runRivet(["run", "-c", cfg, "--json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const agg = JSON.parse(r.stdout);
  assert.equal(agg.total_rows, SOURCE_ROWS);
  assertExactlyOnce(await manifestIds(path.join(dir, "out")));
  const files = (await Array.fromAsync(Deno.readDir(path.join(dir, "out")))).map((e) => e.name);
  const chunkFiles = files.filter((f) => /^ch_\d{8}_\d{6}_chunk\d+_[0-9a-f]{16}\.parquet$/.test(f));
  // 10,000 keys over 70,000 key values: widened ranges give ~10 chunks, not 10 empty ones per row.
  assert.ok(chunkFiles.length >= 2 && chunkFiles.length <= 12, `chunk files: ${chunkFiles.length}`);
});

Deno.test("chunked export from MySQL with max_file_size keeps every rotated part", async () => {
  const table = "rivet_chunk_my";
  await mysqlExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id INT PRIMARY KEY, note VARCHAR(64))`,
    `INSERT INTO ${table} SELECT seq, CONCAT('note-', seq, '-', MD5(seq)) FROM seq_1_to_6000`,
  );
  const { dir, cfg } = await setup(`source: { type: mysql, url: "${MYSQL_URL}" }
exports:
  - name: chm
    table: ${table}
    mode: chunked
    chunk_size: 3000
    format: csv
    max_file_size: 40KB
    tuning: { batch_size: 500 }
    destination: { type: local, path: ./out }
`);
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /auto-resolved to 'id'/);
  const manifest = JSON.parse(await Deno.readTextFile(path.join(dir, "out", "manifest.json")));
  assert.ok(
    manifest.parts.some((p: { path: string }) => /_part1\.csv$/.test(p.path)),
    "a rotated part",
  );
  const list = manifest.parts.map((p: { path: string }) => `'${path.join(dir, "out", p.path)}'`)
    .join(", ");
  const [agg] = await duckRows(
    `SELECT count(*) AS n, count(DISTINCT id) AS d FROM read_csv([${list}], header=true)`,
  );
  assert.deepEqual(agg, { n: "6000", d: "6000" });
});

for (const point of ["after_chunk_complete:1", "after_chunk_file:1"]) {
  Deno.test(`a checkpointed run killed at ${point} resumes without redoing completed chunks and ends exact`, async () => {
    const table = `${T}_${point.replace(/\W/g, "_")}`;
    await seedPg(table);
    const { dir, cfg } = await setup(chunkedYaml("    chunk_checkpoint: true\n", table));
    const crashed = await runRivet(["run", "-c", cfg], {
      cwd: dir,
      env: { RIVET_TEST_PANIC_AT: point },
    });
    assert.notEqual(crashed.code, 0);
    assert.match(crashed.stderr, new RegExp(`crashing at ${point}`));
    const plain = await runRivet(["run", "-c", cfg], { cwd: dir });
    assert.equal(plain.code, 1, "a plain run refuses while a checkpoint is in progress");
    assert.match(plain.stderr, /still in progress/);
    const resumed = await runRivet(["run", "-c", cfg, "--resume", "--json"], { cwd: dir });
    assert.equal(resumed.code, 0, resumed.stderr);
    assertExactlyOnce(await manifestIds(path.join(dir, "out")));
    const files = await runRivet(["state", "files", "-c", cfg, "--json", "-l", "500"], {
      cwd: dir,
    });
    const logged = JSON.parse(files.stdout) as Array<{ file_name: string }>;
    const chunk0 = logged.filter((f) => /_chunk0_/.test(f.file_name));
    assert.equal(chunk0.length, 1, "chunk 0 was exported once, not again on resume");
    if (point.startsWith("after_chunk_file")) {
      const q = await Array.fromAsync(Deno.readDir(path.join(dir, "out", "_quarantine")));
      assert.equal(q.length, 1, "the orphaned chunk file was quarantined");
    }
    const again = await runRivet(["run", "-c", cfg, "--resume"], { cwd: dir });
    assert.equal(again.code, 1, "nothing left to resume");
  });
}

Deno.test("a chunked run killed at random moments and resumed ends with every row exactly once", async () => {
  const table = `${T}_random`;
  await seedPg(table);
  const { dir, cfg } = await setup(
    chunkedYaml("    chunk_checkpoint: true\n    parallel: 2\n", table).replace(
      "chunk_size: 7000",
      "chunk_size: 2000",
    ).replace("tuning: { batch_size: 500 }", "tuning: { batch_size: 200, throttle_ms: 100 }"),
  );
  const flags = rivetPermissionFlags();
  let resume = false;
  let finished = false;
  let kills = 0;
  for (let round = 0; round < 12 && !finished; round++) {
    const args = ["run", ...flags, path.join(repoRoot, "src/main.ts"), "run", "-c", cfg];
    if (resume) args.push("--resume");
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: dir,
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Kill the first rounds at a random moment; let the last ones finish.
    const timer = round < 4
      ? setTimeout(() => {
        try {
          child.kill("SIGKILL");
          kills++;
        } catch { /* already exited */ }
      }, 500 + Math.floor(Math.random() * 2000))
      : undefined;
    const status = await child.status;
    clearTimeout(timer);
    if (status.success) {
      finished = true;
      break;
    }
    const show = await runRivet(["state", "chunks", "-c", cfg, "-e", "ch", "--json"], { cwd: dir });
    resume = show.code === 0 && /in_progress/.test(show.stdout);
  }
  assert.ok(finished, "the export finished within 12 rounds");
  assert.ok(kills > 0, "at least one run was killed");
  assertExactlyOnce(await manifestIds(path.join(dir, "out")));
});

Deno.test("--resume without a checkpoint run explains what to do, and refuses a completed prefix without --force", async () => {
  const table = `${T}_resume`;
  await seedPg(table);
  const { dir, cfg } = await setup(chunkedYaml("    chunk_checkpoint: true\n", table));
  const none = await runRivet(["run", "-c", cfg, "--resume"], { cwd: dir });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no in-progress chunk checkpoint/);
  const ok = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  const refused = await runRivet(["run", "-c", cfg, "--resume"], { cwd: dir });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /--resume refused/);
  assert.match(refused.stderr, /--force/);
});

Deno.test("a PostgreSQL backend terminated mid-chunk is retried and the export completes exactly", async () => {
  const table = `${T}_kill`;
  await seedPg(table);
  const app = `rivet_kill_${crypto.randomUUID().slice(0, 8)}`;
  const url = PG_URL + (PG_URL.includes("?") ? "&" : "?") + `application_name=${app}`;
  const { dir, cfg } = await setup(
    chunkedYaml(
      "    chunk_checkpoint: true\n    tuning: { batch_size: 200, throttle_ms: 40, max_retries: 3, retry_backoff_ms: 100 }\n",
      table,
    ).replace("    tuning: { batch_size: 500 }\n", "").replace(`url: "${PG_URL}"`, `url: "${url}"`),
  );
  const run = runRivet(["run", "-c", cfg], { cwd: dir });
  // Wait until a chunk is being fetched, then kill its backend once.
  let killed = 0;
  for (let i = 0; i < 100 && killed === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const rows = await pgExec(
      `SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity
        WHERE application_name = '${app}' AND query LIKE 'FETCH%'`,
    );
    killed = rows.filter((r) => r.t === true).length;
  }
  const r = await run;
  assert.ok(killed > 0, "a backend was terminated");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /retry 1\//);
  assertExactlyOnce(await manifestIds(path.join(dir, "out")));
});

Deno.test("a MariaDB connection killed mid-chunk is retried and the export completes exactly", async () => {
  const table = "rivet_chunk_kill_my";
  await mysqlExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id INT PRIMARY KEY, note TEXT)`,
    // Wide rows, so the server is still sending (not done into socket buffers) when it is killed.
    `INSERT INTO ${table} SELECT seq, REPEAT(CONCAT('n', seq), 4000) FROM seq_1_to_4000`,
  );
  const { dir, cfg } = await setup(`source: { type: mysql, url: "${MYSQL_URL}" }
exports:
  - name: chk
    table: ${table}
    mode: chunked
    chunk_column: id
    chunk_size: 1000
    chunk_checkpoint: true
    format: parquet
    tuning: { batch_size: 100, throttle_ms: 40, max_retries: 3, retry_backoff_ms: 100 }
    destination: { type: local, path: ./out }
`);
  const run = runRivet(["run", "-c", cfg], { cwd: dir });
  let killed = 0;
  for (let i = 0; i < 100 && killed === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const rows = await mysqlExec(
      `SELECT ID AS id FROM information_schema.PROCESSLIST
        WHERE INFO LIKE 'SELECT * FROM ${table} WHERE%' AND ID <> CONNECTION_ID()`,
    );
    for (const r of rows) {
      await mysqlExec(`KILL ${r.id}`).catch(() => {});
      killed++;
    }
  }
  const r = await run;
  assert.ok(killed > 0, "a connection was killed");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /retry 1\//);
  assertExactlyOnce(await manifestIds(path.join(dir, "out")), 4000);
});

// ── chunk_size_memory_mb and the small-table downgrade (spec 4.1 steps 5–7) ──

Deno.test("memoryChunkSize divides the memory by the average row size and clamps to [10 000, 5 000 000]", async () => {
  const { memoryChunkSize, mysqlAvgRowBytes, groupRunId } = await import(
    "../src/plan/build_plan.ts"
  );
  const cases: Array<[number, number | null, number, boolean]> = [
    [64, 100, 671_088, false],
    [1, 100, 10_485, false],
    [1, 1000, 10_000, false], // 1048 rows: raised to the minimum
    [4096, 10, 5_000_000, false], // 429 million rows: capped
    [8, null, 16_384, true], // unknown row size: 512 bytes assumed
    [8, 0, 16_384, true],
  ];
  for (const [mb, bytes, size, assumed] of cases) {
    const got = memoryChunkSize(mb, bytes);
    assert.deepEqual([got.chunkSize, got.assumed], [size, assumed], `${mb} MiB / ${bytes}`);
  }
  assert.equal(mysqlAvgRowBytes(300), 300);
  assert.equal(mysqlAvgRowBytes(8192), 8192);
  assert.equal(mysqlAvgRowBytes(30_000), 10_000);
  assert.equal(mysqlAvgRowBytes(9000), 4096, "divided by 3, but never below 4 KiB");
  assert.equal(groupRunId("orders", "0f9c-11ee.a_b"), "orders_rg_0f9c-11ee.a_b");
  assert.throws(() => groupRunId("orders", "a/b"), /not usable/);
  assert.throws(() => groupRunId("orders", ""), /not usable/);
});

Deno.test("chunk_size_memory_mb without table: is refused with what to do", async () => {
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: mq
    query: SELECT 1 AS id
    mode: chunked
    chunk_column: id
    chunk_size_memory_mb: 8
    format: csv
    destination: { type: local, path: ./out }
`);
  const r = await runRivet(["run", "-c", cfg], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /chunk_size_memory_mb needs `table:`/);
});

function clampSize(mb: number, bytes: number): number {
  return Math.min(5_000_000, Math.max(10_000, Math.floor((mb * 2 ** 20) / bytes)));
}

Deno.test("chunk_size_memory_mb on PostgreSQL derives the chunk size from pg_class, ignores chunk_size with a warning, and survives a resume after the statistics changed", async () => {
  const table = "rivet_chunk_mem_pg";
  const n = 40_000;
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, note text)`,
    `INSERT INTO ${table} SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, ${n}) g`,
    `ANALYZE ${table}`,
  );
  const [st] = await pgExec(
    `SELECT reltuples::bigint AS rows, pg_relation_size(oid) AS size FROM pg_class
      WHERE oid = '${table}'::regclass`,
  );
  const expected = clampSize(2, Number(st!.size) / Number(st!.rows));
  assert.ok(expected > 10_000 && expected < n, `a derived size worth testing: ${expected}`);
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: mem
    table: ${table}
    mode: chunked
    chunk_column: id
    chunk_size: 500
    chunk_size_memory_mb: 2
    chunk_checkpoint: true
    format: parquet
    tuning: { batch_size: 1000 }
    destination: { type: local, path: ./out }
`);
  const crashed = await runRivet(["run", "-c", cfg], {
    cwd: dir,
    env: { RIVET_TEST_PANIC_AT: "after_chunk_complete:0", RIVET_LOG: "info" },
  });
  assert.notEqual(crashed.code, 0);
  assert.match(crashed.stderr, new RegExp(`derived chunk_size ${expected}\\b`));
  assert.match(crashed.stderr, /chunk_size: 500 is ignored because chunk_size_memory_mb is set/);
  // The statistics move (a third of the rows, three times the bytes per row): the derived size
  // would change, but the fingerprint holds the configured megabytes, so the resume is accepted.
  await pgExec(
    `UPDATE pg_class SET reltuples = reltuples / 3 WHERE oid = '${table}'::regclass`,
  );
  const resumed = await runRivet(["run", "-c", cfg, "--resume"], { cwd: dir });
  assert.equal(resumed.code, 0, resumed.stderr);
  assertExactlyOnce(await manifestIds(path.join(dir, "out")), n);
  const files = (await Array.fromAsync(Deno.readDir(path.join(dir, "out"))))
    .filter((e) => e.name.endsWith(".parquet"));
  assert.equal(files.length, Math.ceil(n / expected), "one file per derived-size chunk");
});

Deno.test("a small PostgreSQL table whose statistics fit one chunk runs as a single chunk", async () => {
  const table = "rivet_chunk_mem_small";
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, note text)`,
    `INSERT INTO ${table} SELECT g, 'n' || g FROM generate_series(1, 3000) g`,
    `ANALYZE ${table}`,
  );
  const { dir, cfg } = await setup(`source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: small
    table: ${table}
    mode: chunked
    chunk_size_memory_mb: 1
    format: parquet
    destination: { type: local, path: ./out }
`);
  const r = await runRivet(["run", "-c", cfg], { cwd: dir, env: { RIVET_LOG: "info" } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /derived chunk_size \d+/);
  assert.match(
    r.stderr,
    /estimate ~3000 rows, no more than chunk_size \d+: downgraded to a single chunk/,
  );
  assertExactlyOnce(await manifestIds(path.join(dir, "out")), 3000);
  const files = (await Array.fromAsync(Deno.readDir(path.join(dir, "out"))))
    .filter((e) => e.name.endsWith(".parquet"));
  assert.equal(files.length, 1);
  assert.match(files[0]!.name, /^small_\d{8}_\d{6}_chunk0_[0-9a-f]{16}\.parquet$/);
});

Deno.test("chunk_size_memory_mb on MariaDB derives the chunk size from information_schema and downgrades a small table", async () => {
  const big = "rivet_chunk_mem_my";
  const small = "rivet_chunk_mem_my_small";
  const n = 30_000;
  await mysqlExec(
    `DROP TABLE IF EXISTS ${big}`,
    `CREATE TABLE ${big} (id INT PRIMARY KEY, note VARCHAR(200))`,
    `INSERT INTO ${big} SELECT seq, CONCAT(MD5(seq), MD5(seq + 1), MD5(seq + 2)) FROM seq_1_to_${n}`,
    `ANALYZE TABLE ${big}`,
    `DROP TABLE IF EXISTS ${small}`,
    `CREATE TABLE ${small} (id INT PRIMARY KEY, note VARCHAR(64))`,
    `INSERT INTO ${small} SELECT seq, MD5(seq) FROM seq_1_to_2000`,
    `ANALYZE TABLE ${small}`,
  );
  const [st] = await mysqlExec(
    `SELECT TABLE_ROWS AS r, AVG_ROW_LENGTH AS a FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${big}'`,
  );
  const avg = Number(st!.a);
  const expected = clampSize(2, avg > 8192 ? Math.max(4096, Math.floor(avg / 3)) : avg);
  const { dir, cfg } = await setup(`source: { type: mysql, url: "${MYSQL_URL}" }
exports:
  - name: memmy
    table: ${big}
    mode: chunked
    chunk_column: id
    chunk_size: 250
    chunk_size_memory_mb: 2
    format: parquet
    destination: { type: local, path: ./out }
  - name: memmysmall
    table: ${small}
    mode: chunked
    chunk_size_memory_mb: 1
    format: parquet
    destination: { type: local, path: ./out_small }
`);
  const r = await runRivet(["run", "-c", cfg], { cwd: dir, env: { RIVET_LOG: "info" } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`'memmy': chunk_size_memory_mb: 2 MiB .* derived chunk_size ${expected}\\b`),
  );
  assert.match(r.stderr, /'memmy': chunk_size: 250 is ignored/);
  assert.doesNotMatch(r.stderr, /'memmy': table statistics estimate/);
  assertExactlyOnce(await manifestIds(path.join(dir, "out")), n);
  assert.match(
    r.stderr,
    /'memmysmall': table statistics estimate ~\d+ rows, no more than chunk_size \d+: downgraded/,
  );
  assertExactlyOnce(await manifestIds(path.join(dir, "out_small")), 2000);
  const smallFiles = (await Array.fromAsync(Deno.readDir(path.join(dir, "out_small"))))
    .filter((e) => e.name.endsWith(".parquet"));
  assert.equal(smallFiles.length, 1);
});
