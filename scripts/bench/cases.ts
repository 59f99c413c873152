// Benchmark cases: what each measured run is (baseline, alternative, Rivet) and how to run it once.
import * as path from "node:path";
import {
  mariadbInvocation,
  psqlArgs,
  REPO_ROOT,
  rivetPermissionFlags,
  withDatabase,
} from "./commands.ts";
import { BENCH_SCHEMA, type Fixture, type FixtureName } from "./fixtures.ts";
import type { PgStatementWatch } from "./pg_watch.ts";
import { TreeSampler } from "./proc_tree.ts";

export type Db = "pg" | "my";
export type Role = "baseline" | "alternative" | "rivet";

/** One Rivet configuration variant. */
export interface RivetVariant {
  readonly format: "parquet" | "csv";
  readonly profile: "fast" | "balanced";
  /** null = `mode: full`; otherwise `mode: chunked` with this `parallel`. */
  readonly chunkedParallel: number | null;
}

export type CaseSpec =
  | { readonly kind: "psql_copy"; readonly copyFormat: "binary" | "csv" }
  | { readonly kind: "mariadb_quick" }
  | { readonly kind: "psql_duckdb" }
  | { readonly kind: "rivet"; readonly variant: RivetVariant };

export interface BenchCase {
  /** Stable id used by `--only`, e.g. `narrow/pg/rivet-parquet`. */
  readonly id: string;
  readonly fixture: FixtureName;
  readonly db: Db;
  readonly role: Role;
  /** Human description for the tables. */
  readonly label: string;
  readonly spec: CaseSpec;
}

export type RunOutcome =
  | {
    readonly kind: "ok";
    readonly wallS: number;
    readonly peakRssBytes: number;
    readonly longestStatementS: number | null;
    readonly outputBytes: number | null;
    readonly warning: string | null;
  }
  | { readonly kind: "not_implemented"; readonly message: string }
  | { readonly kind: "failed"; readonly message: string };

export interface RunContext {
  readonly pgUrl: string;
  readonly mysqlUrl: string;
  readonly fixture: Fixture;
  readonly rows: number;
  /** Watches PostgreSQL statements during Rivet runs; null when not measuring them. */
  readonly pgWatch: PgStatementWatch | null;
  readonly timeoutS: number;
}

/** Every case for one fixture, in the interleaved order they run in within a repetition. */
export function casesFor(fixture: FixtureName): BenchCase[] {
  const rivet = (db: Db, v: RivetVariant): BenchCase => {
    const mode = v.chunkedParallel === null ? "" : `-chunked-p${v.chunkedParallel}`;
    const prof = v.profile === "fast" ? "" : `-${v.profile}`;
    const codec = v.format === "parquet" ? " zstd" : "";
    const modeLabel = v.chunkedParallel === null ? "full" : `chunked parallel ${v.chunkedParallel}`;
    return {
      id: `${fixture}/${db}/rivet-${v.format}${mode}${prof}`,
      fixture,
      db,
      role: "rivet",
      label: `Rivet ${
        db === "pg" ? "PG" : "MySQL"
      } -> ${v.format}${codec}, ${modeLabel}, profile ${v.profile}`,
      spec: { kind: "rivet", variant: v },
    };
  };
  const full = (format: "parquet" | "csv"): RivetVariant => ({
    format,
    profile: "fast",
    chunkedParallel: null,
  });
  const chunked = (parallel: number): RivetVariant => ({
    format: "parquet",
    profile: "fast",
    chunkedParallel: parallel,
  });
  const cases: BenchCase[] = [
    {
      id: `${fixture}/pg/psql-copy-binary`,
      fixture,
      db: "pg",
      role: "baseline",
      label: "psql \\copy binary -> /dev/null",
      spec: { kind: "psql_copy", copyFormat: "binary" },
    },
    rivet("pg", full("parquet")),
    {
      id: `${fixture}/pg/psql-copy-csv`,
      fixture,
      db: "pg",
      role: "baseline",
      label: "psql \\copy csv -> /dev/null",
      spec: { kind: "psql_copy", copyFormat: "csv" },
    },
    rivet("pg", full("csv")),
    {
      id: `${fixture}/pg/psql-duckdb-parquet`,
      fixture,
      db: "pg",
      role: "alternative",
      label: "psql \\copy csv | DuckDB -> parquet zstd",
      spec: { kind: "psql_duckdb" },
    },
    rivet("pg", chunked(1)),
    rivet("pg", chunked(2)),
    {
      id: `${fixture}/my/mariadb-quick`,
      fixture,
      db: "my",
      role: "baseline",
      label: "mariadb --quick --batch -> /dev/null",
      spec: { kind: "mariadb_quick" },
    },
    rivet("my", full("parquet")),
    rivet("my", full("csv")),
    rivet("my", chunked(1)),
    rivet("my", chunked(2)),
  ];
  // One extra run on narrow checks that `profile: fast` is not slower than the default profile.
  if (fixture === "narrow") cases.push(rivet("pg", { ...full("parquet"), profile: "balanced" }));
  return cases;
}

/** Rivet reads fit in memory only if it streams; these are the single-stream runs. */
export function isSingleStream(c: BenchCase): boolean {
  return c.spec.kind === "rivet" && (c.spec.variant.chunkedParallel ?? 1) === 1;
}

function tail(text: string, lines = 12): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = path.join(dir, e.name);
      if (e.isDirectory) n += await dirBytes(p);
      else if (e.isFile) n += (await Deno.stat(p)).size;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return n;
}

interface Spawned {
  readonly child: Deno.ChildProcess;
  readonly stdout: Promise<string>;
  readonly stderr: Promise<string>;
}

function spawn(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; stdout: "piped" | "null" },
): Spawned {
  const child = new Deno.Command(cmd, {
    args,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...(opts.env ?? {}) },
    cwd: opts.cwd ?? REPO_ROOT,
    stdin: "null",
    stdout: opts.stdout,
    stderr: "piped",
  }).spawn();
  return {
    child,
    stdout: opts.stdout === "piped" ? new Response(child.stdout).text() : Promise.resolve(""),
    stderr: new Response(child.stderr).text(),
  };
}

/** Kills the children if they are still running after `timeoutS`. */
function deadline(
  children: Deno.ChildProcess[],
  timeoutS: number,
): { clear(): void; hit(): boolean } {
  let hit = false;
  const t = setTimeout(() => {
    hit = true;
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  }, timeoutS * 1000);
  return { clear: () => clearTimeout(t), hit: () => hit };
}

/** Runs one process with RSS sampling; the command's own wall time from spawn to exit. */
async function timedSingle(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutS: number,
): Promise<RunOutcome> {
  const t0 = performance.now();
  const p = spawn(cmd, args, { env, stdout: "null" });
  const sampler = new TreeSampler([p.child.pid]);
  const dl = deadline([p.child], timeoutS);
  const status = await p.child.status;
  const wallS = (performance.now() - t0) / 1000;
  dl.clear();
  const mem = sampler.stop();
  const stderr = await p.stderr;
  if (dl.hit()) return { kind: "failed", message: `${cmd}: killed after ${timeoutS} s` };
  if (!status.success) {
    return { kind: "failed", message: `${cmd} exited with ${status.code}: ${tail(stderr)}` };
  }
  return {
    kind: "ok",
    wallS,
    peakRssBytes: mem.peakRssBytes,
    longestStatementS: null,
    outputBytes: null,
    warning: null,
  };
}

async function runPsqlCopy(ctx: RunContext, copyFormat: "binary" | "csv"): Promise<RunOutcome> {
  const sql =
    `\\copy (SELECT * FROM ${BENCH_SCHEMA}.${ctx.fixture.name}) TO '/dev/null' WITH (FORMAT ${copyFormat})`;
  return await timedSingle("psql", psqlArgs(ctx.pgUrl, sql), {}, ctx.timeoutS);
}

async function runMariadbQuick(ctx: RunContext): Promise<RunOutcome> {
  const inv = mariadbInvocation(ctx.mysqlUrl, BENCH_SCHEMA, `SELECT * FROM ${ctx.fixture.name}`);
  return await timedSingle("mariadb", inv.args, inv.env, ctx.timeoutS);
}

async function runPsqlDuckdb(ctx: RunContext): Promise<RunOutcome> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_bench_duck_" });
  try {
    const fifo = path.join(dir, "rows.csv.fifo");
    const out = path.join(dir, "out.parquet");
    const mk = await new Deno.Command("mkfifo", { args: [fifo], stderr: "piped" }).output();
    if (!mk.success) {
      return { kind: "failed", message: `mkfifo: ${new TextDecoder().decode(mk.stderr)}` };
    }
    const t0 = performance.now();
    const duck = spawn(Deno.execPath(), [
      "run",
      "--allow-all",
      path.join(REPO_ROOT, "scripts/bench/duck_csv_to_parquet.ts"),
      fifo,
      out,
      JSON.stringify(ctx.fixture.duckColumns),
    ], { stdout: "piped" });
    const sql =
      `\\copy (SELECT * FROM ${BENCH_SCHEMA}.${ctx.fixture.name}) TO '${fifo}' WITH (FORMAT csv)`;
    const psql = spawn("psql", psqlArgs(ctx.pgUrl, sql), { stdout: "null" });
    const sampler = new TreeSampler([duck.child.pid, psql.child.pid]);
    const dl = deadline([duck.child, psql.child], ctx.timeoutS);
    // If one side dies, the other would block on the fifo forever: end it too.
    const killOther = (other: Deno.ChildProcess) => (s: Deno.CommandStatus) => {
      if (!s.success) {
        try {
          other.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      return s;
    };
    const [dStatus, pStatus] = await Promise.all([
      duck.child.status.then(killOther(psql.child)),
      psql.child.status.then(killOther(duck.child)),
    ]);
    const wallS = (performance.now() - t0) / 1000;
    dl.clear();
    const mem = sampler.stop();
    const [dOut, dErr, pErr] = await Promise.all([duck.stdout, duck.stderr, psql.stderr]);
    if (dl.hit()) {
      return { kind: "failed", message: `psql | duckdb: killed after ${ctx.timeoutS} s` };
    }
    if (!pStatus.success) {
      return { kind: "failed", message: `psql exited with ${pStatus.code}: ${tail(pErr)}` };
    }
    if (!dStatus.success) {
      return { kind: "failed", message: `duckdb child exited with ${dStatus.code}: ${tail(dErr)}` };
    }
    const rows = (JSON.parse(dOut.trim() || "{}") as { rows?: number }).rows;
    const outputBytes = (await Deno.stat(out)).size;
    return {
      kind: "ok",
      wallS,
      peakRssBytes: mem.peakRssBytes,
      longestStatementS: null,
      outputBytes,
      warning: rows === ctx.rows ? null : `DuckDB wrote ${rows} rows, expected ${ctx.rows}`,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The rivet.yaml of one Rivet run. */
export function rivetYaml(c: BenchCase, fixture: Fixture, v: RivetVariant, outDir: string): string {
  const lines = [
    "# Generated by scripts/bench.ts for one measured run.",
    "source:",
    `  type: ${c.db === "pg" ? "postgres" : "mysql"}`,
    "  url_env: RIVET_BENCH_SOURCE_URL",
    `  tuning: { profile: ${v.profile} }`,
    "exports:",
    `  - name: ${fixture.name}`,
    `    table: ${c.db === "pg" ? `${BENCH_SCHEMA}.${fixture.name}` : fixture.name}`,
    `    format: ${v.format}`,
  ];
  if (v.format === "parquet") lines.push("    compression: zstd");
  if (v.chunkedParallel !== null) {
    lines.push(
      "    mode: chunked",
      `    chunk_column: ${fixture.chunkColumn}`,
      "    chunk_size: 100000",
      `    parallel: ${v.chunkedParallel}`,
    );
  }
  lines.push(`    destination: { type: local, path: ${JSON.stringify(outDir)} }`, "");
  return lines.join("\n");
}

/** Finds a row count in Rivet's `--json` summary, whatever its exact shape. */
function summaryRows(json: unknown): number | null {
  if (json === null || typeof json !== "object") return null;
  const o = json as Record<string, unknown>;
  if (Array.isArray(o.exports)) {
    const counts = o.exports.map(summaryRows);
    if (counts.every((n) => n !== null)) return counts.reduce((a, b) => a! + b!, 0);
  }
  for (const key of ["rows", "total_rows", "row_count"]) {
    if (typeof o[key] === "number") return o[key] as number;
  }
  return null;
}

/**
 * The error of a failed Rivet run: the `error_message`s of its `--json` summary when it got that
 * far, else its `Error:` lines on stderr, else the end of stderr (e.g. a crash before the summary).
 */
function rivetErrorText(stdout: string, stderr: string): string {
  try {
    const json = JSON.parse(stdout) as { per_export?: { error_message?: unknown }[] };
    const msgs = (json.per_export ?? []).flatMap((e) =>
      typeof e.error_message === "string" ? [e.error_message] : []
    );
    if (msgs.length > 0) return [...new Set(msgs)].join("\n");
  } catch { /* no summary on stdout */ }
  const errorLines = stderr.split("\n").filter((l) => /^\s*(error|Error)\b/.test(l));
  return errorLines.length > 0
    ? errorLines.map((l) => l.trim()).join("\n")
    : tail(stderr || stdout);
}

async function runRivet(c: BenchCase, v: RivetVariant, ctx: RunContext): Promise<RunOutcome> {
  const dir = await Deno.makeTempDir({ prefix: "rivet_bench_run_" });
  try {
    const outDir = path.join(dir, "out");
    const cfg = path.join(dir, "rivet.yaml");
    await Deno.writeTextFile(cfg, rivetYaml(c, ctx.fixture, v, outDir));
    const url = c.db === "pg" ? ctx.pgUrl : withDatabase(ctx.mysqlUrl, BENCH_SCHEMA);
    const watch = c.db === "pg" ? ctx.pgWatch : null;
    watch?.start();
    const t0 = performance.now();
    const p = spawn(
      Deno.execPath(),
      [
        "run",
        ...rivetPermissionFlags(),
        path.join(REPO_ROOT, "src/main.ts"),
        "run",
        "-c",
        cfg,
        "--json",
      ],
      { env: { RIVET_BENCH_SOURCE_URL: url }, cwd: dir, stdout: "piped" },
    );
    const sampler = new TreeSampler([p.child.pid], { trackPorts: watch !== null });
    const dl = deadline([p.child], ctx.timeoutS);
    const status = await p.child.status;
    const wallS = (performance.now() - t0) / 1000;
    dl.clear();
    const mem = sampler.stop();
    const longest = watch ? await watch.stop(mem.ports) : null;
    const [stdout, stderr] = await Promise.all([p.stdout, p.stderr]);
    if (dl.hit()) return { kind: "failed", message: `rivet: killed after ${ctx.timeoutS} s` };
    if (!status.success) {
      const text = rivetErrorText(stdout, stderr);
      if (status.code === 1 && /not available in this version/i.test(stderr + stdout)) {
        return { kind: "not_implemented", message: text };
      }
      return { kind: "failed", message: `rivet exited with ${status.code}: ${text}` };
    }
    let warning: string | null = null;
    try {
      const rows = summaryRows(JSON.parse(stdout));
      if (rows !== null && rows !== ctx.rows) {
        warning = `Rivet reported ${rows} rows, expected ${ctx.rows}`;
      }
    } catch {
      warning = "Rivet's --json output did not parse as JSON";
    }
    const outputBytes = await dirBytes(outDir);
    if (outputBytes === 0) warning = "Rivet exited 0 but wrote no output file";
    return {
      kind: "ok",
      wallS,
      peakRssBytes: mem.peakRssBytes,
      longestStatementS: longest,
      outputBytes,
      warning,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs one case once. */
export async function runCase(c: BenchCase, ctx: RunContext): Promise<RunOutcome> {
  switch (c.spec.kind) {
    case "psql_copy":
      return await runPsqlCopy(ctx, c.spec.copyFormat);
    case "mariadb_quick":
      return await runMariadbQuick(ctx);
    case "psql_duckdb":
      return await runPsqlDuckdb(ctx);
    case "rivet":
      return await runRivet(c, c.spec.variant, ctx);
  }
}
