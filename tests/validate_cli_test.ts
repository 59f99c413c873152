// End-to-end tests of `rivet validate` on a local destination written by a real `rivet run` (coordinator, tests).
import assert from "node:assert/strict";
import * as path from "node:path";
import { repoRoot, rivetPermissionFlags, runRivet } from "./helpers/cli.ts";
import { PG_URL, pgExec } from "./helpers/db.ts";

const TABLE = "rivet_validate_orders";

/*
 * `validate` runs in a child process exactly as `rivet` would. Until src/cli/cli.ts registers the
 * command, the child is a small driver doing what main.ts + cli.ts do with registerValidate;
 * afterwards the real binary (src/main.ts) is used.
 */
const DRIVER = `
import { Command, CommanderError } from "commander";
import { registerValidate } from ${JSON.stringify(path.join(repoRoot, "src/cli/validate_cli.ts"))};
import { describeError, exitCodeFor, UsageError } from ${
  JSON.stringify(path.join(repoRoot, "src/errors.ts"))
};
let pending = null;
const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
registerValidate(program, (p) => { pending = p; });
program.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {} }));
let code;
try {
  try {
    await program.parseAsync(["validate", ...Deno.args], { from: "user" });
  } catch (err) {
    throw err instanceof CommanderError ? new UsageError(err.message.replace(/^error: /, "")) : err;
  }
  code = await pending;
} catch (err) {
  console.error("Error: " + describeError(err));
  code = exitCodeFor(err);
}
Deno.exit(code);
`;

let driverPath: Promise<string | null> | null = null;

/** null when `rivet validate` is registered in the real CLI. */
function driver(): Promise<string | null> {
  driverPath ??= (async () => {
    const help = await runRivet(["validate", "--help"]);
    if (help.code === 0 && /--run-id/.test(help.stdout + help.stderr)) return null;
    const dir = await Deno.makeTempDir({ prefix: "rivet_validate_driver_" });
    const p = path.join(dir, "validate_driver.ts");
    await Deno.writeTextFile(p, DRIVER);
    return p;
  })();
  return driverPath;
}

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function validate(args: readonly string[], cwd: string): Promise<Result> {
  const script = await driver();
  if (script === null) return await runRivet(["validate", ...args], { cwd });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...rivetPermissionFlags(),
      "--config",
      path.join(repoRoot, "deno.json"),
      script,
      ...args,
    ],
    cwd,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const config = (outDir: string, template = "{export}") =>
  `source:
  type: postgres
  url_env: VALIDATE_PG_URL
exports:
  - name: orders
    table: ${TABLE}
    format: parquet
    destination: { type: local, path: "${outDir}/${template}" }
  - name: orders_csv
    query: "SELECT id, note FROM ${TABLE} ORDER BY id"
    format: csv
    destination: { type: local, path: "${outDir}/${template}" }
`;

let exported: Promise<string> | null = null;

/** One real export of both exports, done once; each test works on its own copy. */
function exportOnce(): Promise<string> {
  exported ??= (async () => {
    await pgExec(
      `DROP TABLE IF EXISTS ${TABLE}`,
      `CREATE TABLE ${TABLE} (id bigint primary key, note text)`,
      `INSERT INTO ${TABLE} SELECT g, 'note ' || g FROM generate_series(1, 2000) g`,
    );
    const dir = await Deno.makeTempDir({ prefix: "rivet_validate_src_" });
    const cfg = path.join(dir, "rivet.yaml");
    await Deno.writeTextFile(cfg, config(path.join(dir, "out")));
    const res = await runRivet(["run", "-c", cfg], { cwd: dir, env: { VALIDATE_PG_URL: PG_URL } });
    assert.equal(res.code, 0, res.stderr);
    return path.join(dir, "out");
  })();
  return exported;
}

/** A fresh directory holding a copy of the exported prefixes under `out/<sub>` and a config. */
async function workspace(
  opts: { template?: string; sub?: (exportName: string) => string } = {},
): Promise<{ dir: string; cfg: string; prefix: (name: string) => string }> {
  const src = await exportOnce();
  const dir = await Deno.makeTempDir({ prefix: "rivet_validate_" });
  const sub = opts.sub ?? ((n: string) => n);
  for (const name of ["orders", "orders_csv"]) {
    const to = path.join(dir, "out", sub(name));
    await Deno.mkdir(to, { recursive: true });
    for await (const e of Deno.readDir(path.join(src, name))) {
      await Deno.copyFile(path.join(src, name, e.name), path.join(to, e.name));
    }
  }
  const cfg = path.join(dir, "rivet.yaml");
  await Deno.writeTextFile(cfg, config(path.join(dir, "out"), opts.template));
  return { dir, cfg, prefix: (name) => path.join(dir, "out", sub(name)) };
}

async function dataPart(prefix: string): Promise<string> {
  for await (const e of Deno.readDir(prefix)) {
    if (e.name !== "manifest.json" && e.name !== "_SUCCESS") return path.join(prefix, e.name);
  }
  throw new Error(`no data part in ${prefix}`);
}

interface JsonReport {
  exports: {
    export_name: string;
    resolved_prefix: string;
    verification: {
      passed: boolean;
      legacy_run: boolean;
      manifest_found: boolean;
      parts_verified: number;
      failures: { kind: string; [k: string]: unknown }[];
    };
  }[];
  errors: { export_name: string; error: string }[];
}

async function validateJson(
  w: { dir: string; cfg: string },
  extra: string[] = [],
): Promise<{ code: number; report: JsonReport; stderr: string }> {
  const res = await validate(["-c", w.cfg, "--format", "json", ...extra], w.dir);
  let report: JsonReport;
  try {
    report = JSON.parse(res.stdout);
  } catch {
    throw new Error(`not JSON (exit ${res.code}): ${res.stdout}\n${res.stderr}`);
  }
  return { code: res.code, report, stderr: res.stderr };
}

const kinds = (r: JsonReport, name: string) =>
  r.exports.find((e) => e.export_name === name)?.verification.failures.map((f) => f.kind);

Deno.test("rivet validate reports PASSED for every export of a fresh run and exits 0", async () => {
  const w = await workspace();
  const res = await validate(["-c", w.cfg], w.dir);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /── orders ──/);
  assert.match(res.stdout, /── orders_csv ──/);
  assert.equal(res.stdout.match(/status: {4}PASSED/g)?.length, 2, res.stdout);
  assert.match(res.stdout, /parts: {5}1 verified \(0 md5, 1 size-only\), 0 failed/);
  assert.match(res.stdout, /_SUCCESS: {2}consistent/);
  assert.match(res.stdout, /manifest: {2}self-consistent/);
  assert.match(res.stdout, new RegExp(`prefix: {4}file://${w.prefix("orders")}\\n`));
});

Deno.test("rivet validate --format json lists each export with its verification and no errors", async () => {
  const w = await workspace();
  const { code, report } = await validateJson(w, ["-e", "orders"]);
  assert.equal(code, 0);
  assert.deepEqual(report.errors, []);
  assert.equal(report.exports.length, 1);
  const [e] = report.exports;
  assert.equal(e?.export_name, "orders");
  assert.equal(e?.resolved_prefix, `file://${w.prefix("orders")}`);
  assert.equal(e?.verification.passed, true);
  assert.equal(e?.verification.parts_verified, 1);
});

Deno.test("rivet validate -o writes the JSON report to a file", async () => {
  const w = await workspace();
  const file = path.join(w.dir, "report.json");
  const res = await validate(["-c", w.cfg, "--format", "json", "-o", file], w.dir);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "");
  const report = JSON.parse(await Deno.readTextFile(file)) as JsonReport;
  assert.equal(report.exports.length, 2);
});

Deno.test("rivet validate finds a deleted part as part_missing and exits 1", async () => {
  const w = await workspace();
  await Deno.remove(await dataPart(w.prefix("orders")));
  const { code, report } = await validateJson(w);
  assert.equal(code, 1);
  assert.deepEqual(kinds(report, "orders"), ["part_missing"]);
  assert.deepEqual(kinds(report, "orders_csv"), []);
  const pretty = await validate(["-c", w.cfg, "-e", "orders"], w.dir);
  assert.equal(pretty.code, 1);
  assert.match(pretty.stdout, /status: {4}FAILED/);
  assert.match(pretty.stdout, /failure: {3}part_missing: orders_/);
});

Deno.test("rivet validate finds a truncated part as part_size_mismatch and exits 1", async () => {
  const w = await workspace();
  const part = await dataPart(w.prefix("orders_csv"));
  const size = (await Deno.stat(part)).size;
  await Deno.truncate(part, size - 10);
  const { code, report } = await validateJson(w, ["-e", "orders_csv"]);
  assert.equal(code, 1);
  const f = report.exports[0]?.verification.failures[0];
  assert.equal(f?.kind, "part_size_mismatch");
  assert.equal(f?.expected, size);
  assert.equal(f?.actual, size - 10);
});

Deno.test("rivet validate reports a stale _SUCCESS after the manifest was rewritten", async () => {
  const w = await workspace();
  const file = path.join(w.prefix("orders"), "manifest.json");
  const m = JSON.parse(await Deno.readTextFile(file));
  m.finished_at = "2030-01-01T00:00:00.000Z";
  await Deno.writeTextFile(file, JSON.stringify(m, null, 2));
  const { code, report } = await validateJson(w, ["-e", "orders"]);
  assert.equal(code, 1);
  assert.deepEqual(kinds(report, "orders"), ["success_marker_stale"]);
  const pretty = await validate(["-c", w.cfg, "-e", "orders"], w.dir);
  assert.match(pretty.stdout, /_SUCCESS: {2}INCONSISTENT \(see failures\)/);
});

Deno.test("rivet validate labels a prefix without manifest as legacy and exits 0", async () => {
  const w = await workspace();
  await Deno.remove(path.join(w.prefix("orders"), "manifest.json"));
  await Deno.remove(path.join(w.prefix("orders"), "_SUCCESS"));
  const res = await validate(["-c", w.cfg, "-e", "orders"], w.dir);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /status: {4}legacy_run \(no manifest at destination/);
  const { code, report } = await validateJson(w, ["-e", "orders"]);
  assert.equal(code, 0);
  assert.equal(report.exports[0]?.verification.legacy_run, true);
  assert.equal(report.exports[0]?.verification.passed, false);
});

Deno.test("rivet validate reports an extra file as untracked but still passes", async () => {
  const w = await workspace();
  await Deno.writeTextFile(path.join(w.prefix("orders"), "notes.txt"), "hello");
  const { code, report } = await validateJson(w, ["-e", "orders"]);
  assert.equal(code, 0);
  const v = report.exports[0]?.verification;
  assert.equal(v?.passed, true);
  assert.deepEqual(v?.failures, [{ kind: "untracked_object", key: "notes.txt", size_bytes: 5 }]);
});

Deno.test("rivet validate exits 1 when a destination prefix cannot be read", async () => {
  const w = await workspace();
  const prefix = w.prefix("orders");
  await Deno.remove(prefix, { recursive: true });
  await Deno.writeTextFile(prefix, "a file where the prefix directory should be");
  const { code, report } = await validateJson(w, ["-e", "orders"]);
  assert.equal(code, 1);
  assert.equal(report.exports[0]?.verification.passed, false);
  assert.equal(report.exports[0]?.verification.legacy_run, false);
  assert.ok(
    (kinds(report, "orders") ?? []).some((k) => k.endsWith("_error")),
    String(kinds(report, "orders")),
  );
});

Deno.test("rivet validate --prefix verifies the given directory as is", async () => {
  const w = await workspace();
  const moved = path.join(w.dir, "elsewhere");
  await Deno.rename(w.prefix("orders"), moved);
  const { code, report } = await validateJson(w, ["-e", "orders", "--prefix", moved]);
  assert.equal(code, 0);
  assert.equal(report.exports[0]?.resolved_prefix, `file://${moved}`);
  assert.equal(report.exports[0]?.verification.passed, true);
});

Deno.test("rivet validate resolves {date} from --date and {run_id} from --run-id", async () => {
  const w = await workspace({
    template: "{date}/{run_id}/{export}",
    sub: (n) => `2026-03-04/r42/${n}`,
  });
  const { code, report } = await validateJson(w, ["--date", "2026-03-04", "--run-id", "r42"]);
  assert.equal(code, 0, JSON.stringify(report));
  assert.deepEqual(report.exports.map((e) => e.verification.passed), [true, true]);
  const missing = await validateJson(w, ["--date", "2026-03-04"]);
  assert.equal(missing.code, 1);
  assert.match(missing.report.errors[0]?.error ?? "", /\{run_id\}: pass --run-id/);
});

Deno.test("rivet validate rejects a malformed --date and --prefix with --date as usage errors", async () => {
  const w = await workspace();
  const bad = await validate(["-c", w.cfg, "--date", "2026-02-30"], w.dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid --date '2026-02-30'/);
  const both = await validate([
    "-c",
    w.cfg,
    "-e",
    "orders",
    "--prefix",
    "x",
    "--date",
    "2026-01-01",
  ], w.dir);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--prefix/);
  const many = await validate(["-c", w.cfg, "--prefix", "x"], w.dir);
  assert.equal(many.code, 2);
  assert.match(many.stderr, /--prefix needs a single export/);
  const fmt = await validate(["-c", w.cfg, "--format", "xml"], w.dir);
  assert.equal(fmt.code, 2);
});
