// End-to-end tests of scale-out: several `rivet run --worker` processes share one chunk run through PostgreSQL state, with SIGKILLs, late joiners and lease takeover.
import assert from "node:assert/strict";
import * as path from "node:path";
import { repoRoot, rivetPermissionFlags, runRivet } from "./helpers/cli.ts";
import { duckRows } from "./helpers/duck.ts";
import { PG_URL, pgExec } from "./helpers/db.ts";

const ROWS = 12_000;
const RUN = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

async function seed(table: string): Promise<void> {
  await pgExec(
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id int primary key, note text)`,
    `INSERT INTO ${table} SELECT g, 'n' || g FROM generate_series(1, ${ROWS}) g`,
  );
}

interface Setup {
  readonly dir: string;
  readonly cfg: string;
  readonly out: string;
  readonly env: Record<string, string>;
  readonly cleanup: () => Promise<void>;
}

/** A config on its own table and a dedicated RIVET_STATE_SCHEMA, so tests never collide. */
async function setup(name: string, leaseSeconds: number, parallel: number): Promise<Setup> {
  const table = `rivet_scale_${name}`;
  await seed(table);
  const schema = `rivet_scale_${RUN}_${name}`;
  const dir = await Deno.makeTempDir({ prefix: "rivet_scale_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    cfg,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - name: so
    table: ${table}
    mode: chunked
    chunk_column: id
    chunk_size: 600
    parallel: ${parallel}
    chunk_checkpoint: true
    format: parquet
    tuning: { batch_size: 200, throttle_ms: 80 }
    destination: { type: local, path: ./out }
`,
  );
  return {
    dir,
    cfg,
    out: path.join(dir, "out"),
    env: {
      RIVET_STATE_URL: PG_URL,
      RIVET_STATE_SCHEMA: schema,
      RIVET_LEASE_SECONDS: String(leaseSeconds),
    },
    cleanup: async () => {
      await pgExec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`, `DROP TABLE IF EXISTS ${table}`);
    },
  };
}

interface Worker {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly done: Promise<{ code: number; stderr: string }>;
  killed: boolean;
  exited: boolean;
}

function startWorker(s: Setup, name: string, extraEnv: Record<string, string> = {}): Worker {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...rivetPermissionFlags(),
      path.join(repoRoot, "src/main.ts"),
      "run",
      "-c",
      s.cfg,
      "--worker",
    ],
    cwd: s.dir,
    env: {
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      RIVET_WORKER_ID: name,
      RIVET_LOG: "info",
      ...s.env,
      ...extraEnv,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const w: Worker = {
    name,
    child,
    done: child.output().then((o) => {
      w.exited = true;
      return { code: o.code, stderr: new TextDecoder().decode(o.stderr) };
    }),
    killed: false,
    exited: false,
  };
  return w;
}

/** SIGKILLs one worker still running, picked at random. */
function killOne(workers: readonly Worker[]): void {
  const alive = workers.filter((w) => !w.killed && !w.exited);
  const w = alive[Math.floor(Math.random() * alive.length)];
  if (w === undefined) return;
  try {
    w.child.kill("SIGKILL");
    w.killed = true;
  } catch { /* exited meanwhile */ }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The ids in the files the manifest lists. */
async function manifestIds(out: string): Promise<number[]> {
  const manifest = JSON.parse(await Deno.readTextFile(path.join(out, "manifest.json")));
  assert.equal(manifest.status, "success");
  const files = manifest.parts.map((p: { path: string }) => `'${path.join(out, p.path)}'`);
  assert.ok(files.length > 0);
  const rows = await duckRows(`SELECT id FROM read_parquet([${files.join(", ")}]) ORDER BY id`);
  return rows.map((r) => Number(r.id));
}

function assertExactlyOnce(ids: number[]): void {
  assert.equal(ids.length, ROWS, `expected ${ROWS} rows, got ${ids.length}`);
  for (let i = 0; i < ROWS; i++) {
    if (ids[i] !== i + 1) assert.fail(`row ${i + 1} missing or doubled`);
  }
}

interface ChunksJson {
  run: { run_id: string; status: string };
  tasks: { chunk_index: number; status: string; attempts: number; worker_id: string | null }[];
}

async function chunks(s: Setup): Promise<ChunksJson> {
  const r = await runRivet(["state", "chunks", "-c", s.cfg, "-e", "so", "--json"], {
    cwd: s.dir,
    env: s.env,
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("workers started together, SIGKILLed at random and joined late share one run whose manifest lists every row once", async () => {
  const s = await setup("random", 2, 2);
  try {
    const workers = ["w1", "w2", "w3"].map((n) => startWorker(s, n));
    await sleep(700 + Math.floor(Math.random() * 900));
    killOne(workers);
    workers.push(startWorker(s, "w4-late"));
    await sleep(700 + Math.floor(Math.random() * 900));
    killOne(workers);
    const results = await Promise.all(workers.map((w) => w.done));
    // Every survivor waits for the chunks of the killed ones and takes them over after the lease;
    // should all survivors be gone too, one fresh worker finishes the run.
    if (!(await exists(path.join(s.out, "_SUCCESS")))) {
      const last = startWorker(s, "w5-rescue");
      workers.push(last);
      results.push(await last.done);
    }
    const kills = workers.filter((w) => w.killed).length;
    assert.ok(kills >= 1, "at least one worker was killed while running");
    const survivors = workers.map((w, i) => ({ w, r: results[i]! })).filter((x) => !x.w.killed);
    for (const { w, r } of survivors) assert.equal(r.code, 0, `${w.name}: ${r.stderr}`);
    const publishers = survivors.filter(({ r }) => !/another worker published/.test(r.stderr));
    assert.equal(publishers.length, 1, "exactly one worker published the manifest");
    assert.ok(await exists(path.join(s.out, "_SUCCESS")));
    assertExactlyOnce(await manifestIds(s.out));

    const c = await chunks(s);
    assert.equal(c.run.status, "completed");
    assert.ok(c.tasks.every((t) => t.status === "completed"));
    const ids = new Set(c.tasks.map((t) => t.worker_id));
    assert.ok(ids.size >= 2, `tasks were shared: ${[...ids].join(", ")}`);
    assert.ok(!ids.has(null), "every task names its worker");
    // Files written by killed workers but never completed are not in the manifest (checked
    // above) and were moved aside by the publisher.
    const manifest = JSON.parse(await Deno.readTextFile(path.join(s.out, "manifest.json")));
    const listed = new Set(manifest.parts.map((p: { path: string }) => p.path));
    const stray = (await Array.fromAsync(Deno.readDir(s.out)))
      .filter((e) => e.isFile && e.name.endsWith(".parquet") && !listed.has(e.name));
    assert.deepEqual(stray, []);
    const table = await runRivet(["state", "chunks", "-c", s.cfg, "-e", "so"], {
      cwd: s.dir,
      env: s.env,
    });
    assert.match(table.stdout, /WORKER/);
    assert.match(table.stdout, /worker\(s\):/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("a worker killed mid-chunk loses the chunk once its lease lapses: another worker re-runs it and its file stays out of the manifest", async () => {
  const s = await setup("lease", 2, 1);
  try {
    // w1 creates the run, uploads chunk 0's file and dies before marking it completed.
    const a = startWorker(s, "w1", { RIVET_TEST_PANIC_AT: "after_chunk_file:0" });
    const ra = await a.done;
    assert.notEqual(ra.code, 0);
    assert.match(ra.stderr, /crashing at after_chunk_file:0/);
    const held = await chunks(s);
    assert.deepEqual(
      [held.tasks[0]?.status, held.tasks[0]?.worker_id, held.tasks[0]?.attempts],
      ["running", "w1", 1],
    );
    // A plain run still refuses the in-progress run; a worker joins it.
    const plain = await runRivet(["run", "-c", s.cfg], { cwd: s.dir, env: s.env });
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /still in progress/);
    const b = startWorker(s, "w2");
    const rb = await b.done;
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stderr, /joins chunk run/);
    assert.match(rb.stderr, /never recorded as completed/);
    assertExactlyOnce(await manifestIds(s.out));
    const c = await chunks(s);
    assert.equal(c.run.status, "completed");
    assert.deepEqual(
      [c.tasks[0]?.status, c.tasks[0]?.worker_id, c.tasks[0]?.attempts],
      ["completed", "w2", 2],
      "chunk 0 was taken over after w1's lease lapsed",
    );
    assert.ok(c.tasks.slice(1).every((t) => t.worker_id === "w2" && t.attempts === 1));
    const q = await Array.fromAsync(Deno.readDir(path.join(s.out, "_quarantine", c.run.run_id)));
    assert.equal(q.length, 1, "w1's orphaned chunk 0 file was moved aside");
    assert.match(q[0]!.name, /_chunk0_/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("--worker and --resume together are refused", async () => {
  const r = await runRivet(["run", "-c", "nope.yaml", "--worker", "--resume"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--worker and --resume are mutually exclusive/);
});

/** Names, sizes and modification times of everything at the prefix (quarantine included). */
async function prefixSnapshot(out: string): Promise<string[]> {
  const seen: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = path.join(dir, e.name);
      if (e.isDirectory) await walk(p, `${rel}${e.name}/`);
      else {
        const st = await Deno.stat(p);
        seen.push(`${rel}${e.name} ${st.size} ${st.mtime?.getTime()}`);
      }
    }
  };
  await walk(out, "");
  return seen.sort();
}

/** Whether _SUCCESS carries the xxh3 of manifest.json, as the publisher writes it. */
async function successMatchesManifest(out: string): Promise<boolean> {
  const { xxh3Fingerprint } = await import("../src/manifest.ts");
  const manifest = await Deno.readFile(path.join(out, "manifest.json"));
  const marker = (await Deno.readTextFile(path.join(out, "_SUCCESS"))).trim();
  return marker === await xxh3Fingerprint(manifest);
}

Deno.test("workers of one run group share one run, and a worker of the group started after completion exports nothing and leaves the prefix as it was", async () => {
  const s = await setup("group", 2, 1);
  try {
    const group = { RIVET_RUN_GROUP: "job-7f3a" };
    const first = ["g1", "g2"].map((n) => startWorker(s, n, group));
    const results = await Promise.all(first.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const publishers = results.filter((r) => !/another worker published/.test(r.stderr));
    assert.equal(publishers.length, 1, "exactly one worker published the manifest");
    assertExactlyOnce(await manifestIds(s.out));
    assert.ok(await successMatchesManifest(s.out));
    const c = await chunks(s);
    assert.equal(c.run.run_id, "so_rg_job-7f3a", "the run id comes from the export and the group");
    const before = await prefixSnapshot(s.out);

    const late = startWorker(s, "g3-late", group);
    const r = await late.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /already completed by another worker/);
    assert.doesNotMatch(r.stderr, /started chunk run|joins chunk run/);
    assert.deepEqual(await prefixSnapshot(s.out), before, "the prefix is unchanged");
    const after = await chunks(s);
    assert.equal(after.run.run_id, c.run.run_id, "no new run was started");
    assert.ok(after.tasks.every((t) => t.worker_id !== "g3-late"));
    const files = await runRivet(["state", "files", "-c", s.cfg, "--json", "-l", "1000"], {
      cwd: s.dir,
      env: s.env,
    });
    const logged = JSON.parse(files.stdout) as unknown[];
    assert.equal(logged.length, c.tasks.length, "one file per chunk, none re-exported");

    // A group that cannot name a run id is refused before anything runs.
    const bad = startWorker(s, "g4", { RIVET_RUN_GROUP: "no spaces allowed" });
    const rb = await bad.done;
    assert.equal(rb.code, 1);
    assert.match(rb.stderr, /run group 'no spaces allowed' is not usable/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("a publisher killed after marking its group's run completed is replaced by exactly one worker of the group, which writes manifest.json and _SUCCESS from the completed chunks", async () => {
  const s = await setup("republish", 2, 2);
  try {
    const group = { RIVET_RUN_GROUP: "gh-123456-1" };
    const crashed = startWorker(s, "p1", { ...group, RIVET_TEST_PANIC_AT: "after_run_completed" });
    const rc = await crashed.done;
    assert.notEqual(rc.code, 0);
    assert.match(rc.stderr, /crashing at after_run_completed/);
    const c = await chunks(s);
    assert.equal(c.run.status, "completed");
    assert.ok(!(await exists(path.join(s.out, "_SUCCESS"))), "no _SUCCESS after the crash");
    assert.ok(!(await exists(path.join(s.out, "manifest.json"))), "no manifest after the crash");
    const dataBefore = (await prefixSnapshot(s.out)).filter((l) => l.includes(".parquet"));

    // Two workers of the group arrive at once: one republishes, the other waits and leaves.
    const late = ["p2", "p3"].map((n) => startWorker(s, n, group));
    const results = await Promise.all(late.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const republishers = results.filter((r) => /republishes run/.test(r.stderr));
    assert.equal(republishers.length, 1, results.map((r) => r.stderr).join("\n---\n"));
    const other = results.find((r) => !/republishes run/.test(r.stderr))!;
    assert.match(other.stderr, /already completed by another worker/);
    for (const r of results) assert.doesNotMatch(r.stderr, /started chunk run|joins chunk run/);

    assertExactlyOnce(await manifestIds(s.out));
    assert.ok(await successMatchesManifest(s.out));
    const dataAfter = (await prefixSnapshot(s.out)).filter((l) => l.includes(".parquet"));
    assert.deepEqual(dataAfter, dataBefore, "no chunk was exported again");
    const rows = await pgExec(
      `SELECT worker_id, published_at FROM "${s.env.RIVET_STATE_SCHEMA}".rivet_chunk_publish`,
    );
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.published_at !== null);
    const winner = late[results.indexOf(republishers[0]!)]!.name;
    assert.equal(rows[0]!.worker_id, winner, "the state names the one worker that published");

    // And one more, later: nothing to do.
    const snapshot = await prefixSnapshot(s.out);
    const last = await startWorker(s, "p4", group).done;
    assert.equal(last.code, 0, last.stderr);
    assert.match(last.stderr, /already completed by another worker/);
    assert.deepEqual(await prefixSnapshot(s.out), snapshot);
  } finally {
    await s.cleanup();
  }
});
