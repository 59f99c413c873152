// End-to-end tests of --parallel-export-processes' runner: real child processes (a fake `rivet` script) that report, fail, crash, flood stderr or hang (end-to-end tests).
import assert from "node:assert/strict";
import * as path from "node:path";
import { runExportProcesses, stderrDump } from "../src/pipeline/process_runner.ts";
import { CardBoard, type IpcEvent } from "../src/observe/cards.ts";
import { compactLine, runAggregate } from "../src/observe/summary.ts";

/**
 * A stand-in for `rivet run --config C --export NAME ...` in child mode: records what it was
 * started with, then behaves as the export's name says.
 */
const FAKE_CHILD = `
const args = Deno.args;
const name = args[args.indexOf("--export") + 1];
const stdin = await new Response(Deno.stdin.readable).text();
await Deno.writeTextFile(
  Deno.env.get("FAKE_DIR") + "/" + name + ".json",
  JSON.stringify({ args, ipc: Deno.env.get("RIVET_IPC_EVENTS") ?? null, stdin }),
);
const emit = (e) => console.log(JSON.stringify({ export_name: name, ...e }));
const started = () => emit({ type: "started", run_id: name + "_run", mode: "chunked",
  tuning_profile: "balanced (default)", batch_size: 10000 });
const finished = (status, rows, error) => emit({ type: "finished", run_id: name + "_run", status,
  total_rows: rows, files_produced: rows > 0 ? 2 : 0, bytes_written: rows * 10,
  duration_ms: 2000, peak_rss_mb: 64, error_message: error });
switch (name) {
  case "orders":
    started();
    emit({ type: "progress_init", total_chunks: 2 });
    emit({ type: "progress", chunks_done: 1, rows: 500 });
    console.error("warning: orders is slow");
    emit({ type: "progress", chunks_done: 2, rows: 1000 });
    finished("success", 1000, null);
    break;
  case "fails":
    started();
    finished("failed", 0, "source refused the query");
    console.error("Error: export 'fails' failed");
    Deno.exit(1);
  case "crashes":
    started();
    console.log("this is not an event");
    console.error("thread 'main' panicked: boom");
    Deno.exit(3);
  case "noisy":
    started();
    for (let i = 0; i < 6000; i++) console.error("line " + i);
    finished("success", 7, null);
    break;
  case "hangs":
    started();
    await new Promise((r) => setTimeout(r, 60_000));
    break;
}
`;

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "rivet_procs_" });
  const script = path.join(dir, "fake_rivet.js");
  await Deno.writeTextFile(script, FAKE_CHILD);
  const config = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(config, "# not read by the fake\n");
  return {
    dir,
    config,
    argvPrefix: [Deno.execPath(), "run", "--allow-read", "--allow-write", "--allow-env", script],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", FAKE_DIR: dir },
    seen: async (name: string) =>
      JSON.parse(await Deno.readTextFile(path.join(dir, `${name}.json`))) as {
        args: string[];
        ipc: string | null;
        stdin: string;
      },
  };
}

Deno.test("each export runs in its own child with the run flags, IPC events on and stdin closed", async () => {
  const s = await setup();
  try {
    const results = await runExportProcesses({
      argvPrefix: s.argvPrefix,
      configPath: path.relative(Deno.cwd(), s.config),
      exports: ["orders", "fails"],
      validate: true,
      resume: true,
      force: true,
      params: { DAY: "2024-01-01", EMPTY: "" },
      statePath: path.join(s.dir, "state.db"),
      env: s.env,
    });
    assert.deepEqual(results.map((r) => r.name), ["orders", "fails"]);
    const orders = await s.seen("orders");
    assert.deepEqual(orders.args, [
      "run",
      "--config",
      s.config,
      "--export",
      "orders",
      "--validate",
      "--resume",
      "--force",
      "--param",
      "DAY=2024-01-01",
      "--param",
      "EMPTY=",
      "--state",
      path.join(s.dir, "state.db"),
    ]);
    assert.equal(orders.ipc, "1");
    assert.equal(orders.stdin, "");
    assert.deepEqual((await s.seen("fails")).args.slice(0, 5), [
      "run",
      "--config",
      s.config,
      "--export",
      "fails",
    ]);
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("finished events become outcomes the run aggregate is built from", async () => {
  const s = await setup();
  try {
    const results = await runExportProcesses({
      argvPrefix: s.argvPrefix,
      configPath: s.config,
      exports: ["orders", "fails"],
      env: s.env,
    });
    const [orders, fails] = results;
    assert.equal(orders!.finished, true);
    assert.equal(orders!.exitCode, 0);
    assert.deepEqual(
      {
        status: orders!.outcome.status,
        runId: orders!.outcome.runId,
        mode: orders!.outcome.mode,
        rows: orders!.outcome.rows,
        files: orders!.outcome.parts.length,
        bytes: orders!.outcome.bytes,
        durationMs: orders!.outcome.durationMs,
        peakRssMb: orders!.outcome.peakRssMb,
        tuning: orders!.outcome.tuningLabel,
        batchSize: orders!.outcome.batchSize,
        error: orders!.outcome.error,
      },
      {
        status: "success",
        runId: "orders_run",
        mode: "chunked",
        rows: 1000,
        files: 2,
        bytes: 10_000,
        durationMs: 2000,
        peakRssMb: 64,
        tuning: "balanced (default)",
        batchSize: 10_000,
        error: null,
      },
    );
    assert.deepEqual(orders!.stderr, ["warning: orders is slow"]);
    assert.equal(fails!.finished, true);
    assert.equal(fails!.exitCode, 1);
    assert.equal(fails!.outcome.status, "failed");
    assert.equal(fails!.outcome.error, "source refused the query");

    const agg = runAggregate(results.map((r) => r.outcome), {
      startedAt: new Date("2024-01-01T00:00:00Z"),
      finishedAt: new Date("2024-01-01T00:00:03Z"),
      configPath: s.config,
      parallelMode: "parallel-processes",
    });
    assert.deepEqual(
      [agg.success_count, agg.failed_count, agg.total_rows, agg.total_files, agg.total_bytes],
      [1, 1, 1000, 2, 10_000],
    );
    assert.match(compactLine(orders!.outcome), /^✓ orders\s+chunked\s+1,000 rows {2}2 files/);
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("a child that exits without a finished event is a failed export naming its last error line", async () => {
  const s = await setup();
  try {
    const events: IpcEvent[] = [];
    const [crashed] = await runExportProcesses({
      argvPrefix: s.argvPrefix,
      configPath: s.config,
      exports: ["crashes"],
      env: s.env,
      onEvent: (e) => events.push(e),
    });
    assert.equal(crashed!.finished, false);
    assert.equal(crashed!.exitCode, 3);
    assert.equal(crashed!.outcome.status, "failed");
    assert.equal(crashed!.outcome.runId, "crashes_run");
    assert.equal(
      crashed!.outcome.error,
      "the child process of export 'crashes' exited with code 3 without reporting a result: " +
        "thread 'main' panicked: boom",
    );
    assert.deepEqual(crashed!.stderr, [
      "[stdout] this is not an event",
      "thread 'main' panicked: boom",
    ]);
    // The card of a crashed child ends failed too: the runner sends a finished event for it.
    assert.deepEqual(events.map((e) => e.type), ["started", "finished"]);
    assert.equal((events[1] as { status: string }).status, "failed");
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("only the last 5 000 stderr lines of a child are kept for the dump", async () => {
  const s = await setup();
  try {
    const results = await runExportProcesses({
      argvPrefix: s.argvPrefix,
      configPath: s.config,
      exports: ["noisy", "orders"],
      env: s.env,
    });
    const noisy = results[0]!;
    assert.equal(noisy.outcome.status, "success");
    assert.equal(noisy.stderr.length, 5000);
    assert.equal(noisy.stderrDropped, 1000);
    assert.equal(noisy.stderr[0], "line 1000");
    assert.equal(noisy.stderr.at(-1), "line 5999");
    const dump = stderrDump(results);
    assert.match(dump[1]!, /^── stderr of export 'noisy' \(5000 lines, first 1000 dropped\) ─+$/);
    assert.equal(dump.length, 2 + 5000 + 2 + 1);
    assert.equal(dump.at(-1), "warning: orders is slow");
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("aborting the run stops hanging children after a grace time, and they count as failed", async () => {
  const s = await setup();
  try {
    const ac = new AbortController();
    const pending = runExportProcesses({
      argvPrefix: s.argvPrefix,
      configPath: s.config,
      exports: ["hangs"],
      env: s.env,
      signal: ac.signal,
      killGraceMs: 50,
      onEvent: (e) => {
        if (e.type === "started") ac.abort();
      },
    });
    const [hung] = await pending;
    assert.equal(hung!.finished, false);
    assert.equal(hung!.exitSignal, "SIGTERM");
    assert.equal(hung!.outcome.status, "failed");
    assert.match(hung!.outcome.error ?? "", /was killed by SIGTERM without reporting a result/);
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("a program that cannot be started is a failed export, not a thrown error", async () => {
  const [r] = await runExportProcesses({
    argvPrefix: ["/nonexistent/rivet-binary"],
    configPath: "rivet.yaml",
    exports: ["orders"],
  });
  assert.equal(r!.outcome.status, "failed");
  assert.match(r!.outcome.error ?? "", /^cannot start the child process for export 'orders'/);
});

Deno.test("the events of real children drive the cards to their final figures", async () => {
  const s = await setup();
  const printed: string[] = [];
  const board = new CardBoard(["orders", "crashes"], {
    interactive: false,
    write: (t) => printed.push(t),
    now: () => 0,
  });
  try {
    await runExportProcesses({
      argvPrefix: s.argvPrefix,
      configPath: s.config,
      exports: ["orders", "crashes"],
      env: s.env,
      onEvent: (e) => board.apply(e),
    });
    board.close();
    assert.equal(printed.length, 2);
    const orders = printed.find((p) => p.startsWith("── orders "))!;
    assert.match(orders, /rows: {5}1,000 rows · 500 rows\/s · chunks 2\/2/);
    assert.match(orders, /files: {4}2 files · 9\.8 KB · 2\.0s · peak RSS 64 MB/);
    const crashes = printed.find((p) => p.startsWith("── crashes "))!;
    assert.match(crashes.split("\n")[0]!, / failed$/);
    assert.match(crashes, /error: {4}the child process of export 'crashes' exited with code 3/);
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("rivet run --parallel-export-processes runs each export in a child and aggregates them", async () => {
  const { runRivet } = await import("./helpers/cli.ts");
  const { PG_URL, pgExec } = await import("./helpers/db.ts");
  await pgExec(
    "DROP TABLE IF EXISTS rivet_procs_src",
    "CREATE TABLE rivet_procs_src AS SELECT g AS id FROM generate_series(1, 3000) g",
  );
  const dir = await Deno.makeTempDir({ prefix: "rivet_procs_" });
  const cfg = `${dir}/rivet.yaml`;
  await Deno.writeTextFile(
    cfg,
    `source: { type: postgres, url: "${PG_URL}" }
exports:
  - { name: a, table: rivet_procs_src, format: parquet, destination: { type: local, path: ./a } }
  - { name: b, query: "SELECT * FROM rivet_procs_src WHERE id <= 1000", format: csv, destination: { type: local, path: ./b } }
  - { name: c, table: rivet_procs_missing, format: csv, destination: { type: local, path: ./c } }
`,
  );
  const r = await runRivet(["run", "-c", cfg, "--parallel-export-processes", "--json"], {
    cwd: dir,
  });
  assert.equal(r.code, 1, r.stderr);
  const agg = JSON.parse(r.stdout);
  assert.equal(agg.parallel_mode, "parallel-processes");
  const byName = Object.fromEntries(
    agg.per_export.map((
      e: { export_name: string; status: string; rows: number },
    ) => [e.export_name, e]),
  );
  assert.equal(byName.a.status, "success");
  assert.equal(byName.a.rows, 3000);
  assert.equal(byName.b.rows, 1000);
  assert.equal(byName.c.status, "failed");
  assert.match(r.stderr, /rivet_procs_missing/);
});
