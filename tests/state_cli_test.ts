// End-to-end tests of `rivet state|metrics|journal` on a populated state file.
import assert from "node:assert/strict";
import * as path from "node:path";
import { repoRoot } from "./helpers/cli.ts";
import { SqliteStateStore } from "../src/state/sqlite_state_store.ts";
import { sampleJournal, sampleMetric } from "../src/state/state_store_contract.ts";

// src/cli/cli.ts registers these commands in the product; this driver registers only them,
// and prints errors the way src/main.ts does, so the tests do not depend on other commands.
const DRIVER = `
import { Command } from "commander";
import { describeError, exitCodeFor, RivetError } from ${
  JSON.stringify(path.join(repoRoot, "src/errors.ts"))
};
import { registerState } from ${JSON.stringify(path.join(repoRoot, "src/cli/state_cli.ts"))};
import { registerMetrics } from ${JSON.stringify(path.join(repoRoot, "src/cli/metrics_cli.ts"))};
import { registerJournal } from ${JSON.stringify(path.join(repoRoot, "src/cli/journal_cli.ts"))};
let pending = null;
const setExit = (p) => { pending = p; };
const program = new Command().name("rivet").exitOverride().configureOutput({ writeErr: () => {} });
registerState(program, setExit);
registerMetrics(program, setExit);
registerJournal(program, setExit);
const quiet = (c) => { c.exitOverride().configureOutput({ writeErr: () => {} }); c.commands.forEach(quiet); };
program.commands.forEach(quiet);
let code;
try {
  await program.parseAsync(Deno.args, { from: "user" });
  code = await pending;
} catch (err) {
  const hint = err instanceof RivetError && err.hint ? "\\n  Hint: " + err.hint : "";
  console.error("Error: " + describeError(err) + hint);
  code = err?.code?.startsWith?.("commander.") ? 2 : exitCodeFor(err);
}
Deno.exit(code);
`;

interface Res {
  code: number;
  stdout: string;
  stderr: string;
}

async function setup(): Promise<
  { dir: string; cfg: string; cli: (...a: string[]) => Promise<Res> }
> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_state_cli_" });
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    cfg,
    `source:
  type: postgres
  url: postgresql://u@localhost:5432/db
exports:
  - name: orders
    query: "SELECT 1 AS id"
    format: csv
    destination: { type: local, path: "./out" }
  - name: users
    query: "SELECT 1 AS id"
    format: csv
    destination: { type: local, path: "./out" }
`,
  );
  const driver = path.join(dir, "driver.ts");
  await Deno.writeTextFile(driver, DRIVER);
  const cli = async (...args: string[]): Promise<Res> => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", path.join(repoRoot, "deno.json"), driver, ...args],
      cwd: dir,
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  return { dir, cfg, cli };
}

async function populate(file: string): Promise<void> {
  const s = await SqliteStateStore.open(file);
  await s.setCursor("orders", "2026-01-05T00:00:00", "2026-01-05T01:00:00Z");
  await s.recordMetric(sampleMetric({ run_id: "orders_r1" }));
  await s.recordMetric(
    sampleMetric({
      run_id: "orders_r2",
      status: "failed",
      error_message: "connection refused\nsecond line",
      retries: 2,
      validated: false,
    }),
  );
  await s.recordFile({
    run_id: "orders_r1",
    export_name: "orders",
    file_name: "orders_20260101.csv",
    row_count: 1000,
    bytes: 5000,
    format: "csv",
    compression: "none",
    created_at: "2026-01-01T12:00:01Z",
  });
  await s.saveJournal(sampleJournal("orders_r1"), "2026-01-01T12:00:02Z");
  await s.createChunkRun({
    run_id: "users_c1",
    export_name: "users",
    plan_hash: "abcd",
    max_chunk_attempts: 3,
    tasks: [{ start_key: "1", end_key: "100" }, { start_key: "101", end_key: "200" }],
  }, "2026-01-01T12:00:00Z");
  await s.claimChunkTask("users_c1", "2026-01-01T12:00:01Z");
  await s.failChunkTask("users_c1", 0, "timeout reading chunk", "2026-01-01T12:00:02Z");
  await s.recordCommitted("orders", {
    strategy: "incremental",
    cursor: "2026-01-05T00:00:00",
    run_id: "orders_r1",
  }, "2026-01-05T01:00:00Z");
  await s.close();
}

Deno.test("rivet state, metrics and journal print tables of a populated state file on stdout", async () => {
  const { dir, cfg, cli } = await setup();
  await populate(path.join(dir, ".rivet_state.db"));

  const show = await cli("state", "show", "-c", cfg);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^EXPORT\s+LAST CURSOR\s+LAST RUN/);
  assert.match(show.stdout, /orders\s+2026-01-05T00:00:00\s+2026-01-05T01:00:00Z/);

  const metrics = await cli("metrics", "-c", cfg, "-e", "orders", "-l", "5");
  assert.equal(metrics.code, 0, metrics.stderr);
  const lines = metrics.stdout.split("\n");
  assert.match(lines[0]!, /^EXPORT\s+STATUS\s+ROWS\s+DURATION\s+RSS\s+FILES\s+BYTES RUN ID/);
  assert.match(lines[2]!, /^orders\s+failed\s+1000\s+1\.2s\s+45MB\s+1\s+1\.0 MB orders_r2/);
  assert.equal(lines[3], "  Error: connection refused");
  assert.equal(lines[4], "  retries=2  validated=FAIL");
  assert.match(lines[5]!, /orders_r1$/);

  const files = await cli("state", "files", "-c", cfg);
  assert.match(
    files.stdout,
    /orders_r1\s+orders_20260101\.csv\s+1000\s+5000\s+2026-01-01T12:00:01Z/,
  );

  const chunks = await cli("state", "chunks", "-c", cfg, "-e", "users");
  assert.equal(chunks.code, 0, chunks.stderr);
  assert.match(chunks.stdout, /run_id:\s+users_c1/);
  assert.match(chunks.stdout, /plan_hash: abcd/);
  assert.match(
    chunks.stdout,
    /\n\s+0\s+failed\s+1\s+100\s+1\s+-\s+-\n\s+error: timeout reading chunk/,
  );
  assert.match(chunks.stdout, /\n\s+1\s+pending\s+101\s+200\s+0/);

  const prog = await cli("state", "progression", "-c", cfg);
  assert.match(
    prog.stdout,
    /orders\s+incremental\s+2026-01-05T00:00:00\s+2026-01-05T01:00:00Z\s+-\s+-/,
  );

  const journal = await cli("journal", "-c", cfg, "-e", "orders");
  assert.equal(journal.code, 0, journal.stderr);
  assert.ok(
    journal.stdout.includes("✓ orders  success  2.0s\n  run_id: orders_r1\n"),
    journal.stdout,
  );
  assert.ok(journal.stdout.includes("  files:  1  rows: 10  size: 2.0 KB"), journal.stdout);
  assert.ok(journal.stdout.includes("  schema: +note (Utf8)\n  schema: amount Int32→Int64"));
});

Deno.test("rivet metrics and journal --json print the stored rows as JSON", async () => {
  const { dir, cfg, cli } = await setup();
  await populate(path.join(dir, ".rivet_state.db"));
  const m = await cli("metrics", "-c", cfg, "--json", "-l", "1");
  assert.equal(m.code, 0, m.stderr);
  const rows = JSON.parse(m.stdout);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].run_id, "orders_r2");
  assert.equal(rows[0].validated, false);
  const j = JSON.parse((await cli("journal", "-c", cfg, "-e", "orders", "--json")).stdout);
  assert.equal(j[0].run_id, "orders_r1");
  assert.deepEqual(Object.keys(j[0].entries[0].event), ["PlanResolved"]);
  assert.deepEqual(j[0].entries.at(-1).event.RunCompleted.status, "success");
});

Deno.test("rivet state commands on an empty state file say nothing was recorded yet", async () => {
  const { cfg, cli } = await setup();
  assert.match((await cli("metrics", "-c", cfg)).stdout, /^No metrics recorded yet\./);
  assert.match((await cli("state", "files", "-c", cfg)).stdout, /^No files recorded yet\./);
  assert.match((await cli("state", "show", "-c", cfg)).stdout, /Only incremental exports/);
  const j = await cli("journal", "-c", cfg, "-e", "orders");
  assert.equal(j.code, 0);
  assert.match(j.stdout, /No journal entries for export 'orders' yet\./);
  const r = await cli("journal", "-c", cfg, "-e", "orders", "--run-id", "nope");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /No journal found for run_id 'nope'\./);
});

Deno.test("rivet state reset deletes a cursor and refuses an export missing from the config", async () => {
  const { dir, cfg, cli } = await setup();
  await populate(path.join(dir, ".rivet_state.db"));
  const bad = await cli("state", "reset", "-c", cfg, "-e", "ordrs");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not found in config/);
  assert.match(bad.stderr, /Known exports: orders, users/);
  assert.match(bad.stderr, /Hint: check the spelling \(did you mean 'orders'\?\)/);
  assert.match(bad.stderr, /rivet state show/);
  const ok = await cli("state", "reset", "-c", cfg, "-e", "orders");
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /State reset for export 'orders'/);
  const s = await SqliteStateStore.open(path.join(dir, ".rivet_state.db"));
  assert.equal(await s.getCursor("orders"), null);
  await s.close();
});

Deno.test("rivet state reset-chunks --stuck-checkpoints deletes only in-progress runs of config exports", async () => {
  const { dir, cfg, cli } = await setup();
  await populate(path.join(dir, ".rivet_state.db"));
  const usage = await cli("state", "reset-chunks", "-c", cfg);
  assert.equal(usage.code, 2);
  const res = await cli("state", "reset-chunks", "-c", cfg, "--stuck-checkpoints");
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /export 'users': 1 run\(s\), 2 task\(s\) deleted/);
  assert.match(res.stderr, /Skipped \(no in-progress chunk checkpoint\): orders/);
  const after = await cli("state", "chunks", "-c", cfg, "-e", "users");
  assert.match(after.stdout, /No chunk checkpoint runs for export 'users'\./);
});

Deno.test("rivet state honours --state and reports a corrupt file cleanly", async () => {
  const { dir, cfg, cli } = await setup();
  const other = path.join(dir, "elsewhere.db");
  await populate(other);
  const viaFlag = await cli("state", "show", "-c", cfg, "--state", other);
  assert.match(viaFlag.stdout, /orders\s+2026-01-05T00:00:00/);
  const junk = path.join(dir, ".rivet_state.db");
  await Deno.writeTextFile(junk, "garbage ".repeat(500));
  const bad = await cli("metrics", "-c", cfg);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /is not a Rivet state database/);
  assert.match(bad.stderr, /Hint: move it aside/);
  assert.doesNotMatch(bad.stderr, /^\s+at /m, "no stack trace");
  const missing = await cli("state", "show", "-c", path.join(dir, "nope.yaml"));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /config file '.*nope\.yaml' not found/);
  const badLimit = await cli("metrics", "-c", cfg, "-l", "zero");
  assert.equal(badLimit.code, 2);
});
