// `deno task bench`: measures Rivet's export throughput and memory against psql/mariadb/DuckDB baselines.
// Usage: deno task bench [--quick] [--only <substring>] [--reps N] [--no-write]
import * as path from "node:path";
import { type BenchCase, casesFor, runCase, type RunOutcome } from "./bench/cases.ts";
import { pgDatabaseName, REPO_ROOT } from "./bench/commands.ts";
import {
  ensureMysqlFixture,
  ensurePgFixture,
  FIXTURE_NAMES,
  type FixtureName,
  fixtureRows,
  FIXTURES,
  type ReadyFixture,
} from "./bench/fixtures.ts";
import { machineInfo } from "./bench/machine.ts";
import { PgStatementWatch } from "./bench/pg_watch.ts";
import {
  type CaseSummary,
  caseTable,
  errorList,
  renderMarkdown,
  renderText,
  summarise,
  targetTable,
} from "./bench/report.ts";

interface Options {
  readonly quick: boolean;
  readonly only: string | null;
  readonly reps: number;
  readonly write: boolean;
}

const USAGE = `Usage: deno task bench [--quick] [--only <substring>] [--reps N] [--no-write]
  --quick        small fixtures, 1 repetition (finishes in about two minutes)
  --only S       run only the cases whose id contains S (e.g. narrow, /pg/, rivet-csv)
  --reps N       repetitions per case (default 3, or 1 with --quick); the median is reported
  --no-write     do not rewrite docs/benchmarks.md
Databases: RIVET_BENCH_PG_URL / RIVET_BENCH_MYSQL_URL (else RIVET_TEST_PG_URL / RIVET_TEST_MYSQL_URL,
else postgres://postgres@127.0.0.1:5432/test and mysql://root@127.0.0.1:3306/test).`;

function parseOptions(args: readonly string[]): Options {
  let quick = false;
  let only: string | null = null;
  let reps: number | null = null;
  let write = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") quick = true;
    else if (a === "--only") only = value();
    else if (a.startsWith("--only=")) only = a.slice("--only=".length);
    else if (a === "--reps") reps = Number(value());
    else if (a === "--no-write") write = false;
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (reps !== null && (!Number.isInteger(reps) || reps < 1)) {
    throw new Error("--reps must be a positive integer");
  }
  return { quick, only, reps: reps ?? (quick ? 1 : 3), write };
}

const log = (msg: string) => console.error(msg);

/** A URL with any password replaced, for printing. */
function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(Deno.args);
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : err}\n${USAGE}`);
    return 2;
  }
  const env = Deno.env.toObject();
  const pgUrl = env.RIVET_BENCH_PG_URL ?? env.RIVET_TEST_PG_URL ??
    "postgres://postgres@127.0.0.1:5432/test";
  const mysqlUrl = env.RIVET_BENCH_MYSQL_URL ?? env.RIVET_TEST_MYSQL_URL ??
    "mysql://root@127.0.0.1:3306/test";
  const started = performance.now();
  const command = ["deno task bench", ...Deno.args].join(" ");

  const plan = new Map<FixtureName, BenchCase[]>();
  for (const f of FIXTURE_NAMES) {
    const cases = casesFor(f).filter((c) => opts.only === null || c.id.includes(opts.only));
    if (cases.length > 0) plan.set(f, cases);
  }
  if (plan.size === 0) {
    console.error(
      `bench: no case id contains "${opts.only}"; ids look like narrow/pg/rivet-parquet`,
    );
    return 2;
  }
  log(
    `rivet bench: ${opts.quick ? "quick" : "full"} mode, ${opts.reps} repetition(s), PG ${
      redact(pgUrl)
    }, MariaDB ${redact(mysqlUrl)}`,
  );

  log("fixtures (schema/database rivet_bench):");
  const ready = new Map<FixtureName, ReadyFixture>();
  for (const [f, cases] of plan) {
    const rows = fixtureRows(f, opts.quick);
    try {
      // PostgreSQL is always needed: its CSV size is the reference "MB" for both databases.
      ready.set(f, await ensurePgFixture(pgUrl, FIXTURES[f], rows, log));
      if (cases.some((c) => c.db === "my")) {
        await ensureMysqlFixture(mysqlUrl, FIXTURES[f], rows, log);
      }
    } catch (err) {
      console.error(
        `bench: cannot create fixture ${f} (${rows} rows): ${
          err instanceof Error ? err.message : err
        }\n` +
          "Check that PostgreSQL and MariaDB are up (scripts/start-dbs.sh) and the URLs above.",
      );
      return 1;
    }
  }

  const needsWatch = [...plan.values()].flat().some((c) => c.role === "rivet" && c.db === "pg");
  const watch = needsWatch ? await PgStatementWatch.open(pgUrl, pgDatabaseName(pgUrl)) : null;
  const outcomes = new Map<string, RunOutcome[]>();
  const total = [...plan.values()].reduce((n, cs) => n + cs.length, 0) * opts.reps;
  let done = 0;
  try {
    for (const [f, cases] of plan) {
      const fx = ready.get(f)!;
      const ctx = {
        pgUrl,
        mysqlUrl,
        fixture: fx.fixture,
        rows: fx.rows,
        pgWatch: watch,
        timeoutS: opts.quick ? 300 : 1800,
      };
      // Interleaved: every case once per repetition, so drift on a noisy machine hits all alike.
      for (let rep = 1; rep <= opts.reps; rep++) {
        for (const c of cases) {
          done++;
          const prev = outcomes.get(c.id) ?? [];
          // A rejected or failing case fails the same way again: run it once only.
          if (prev.some((o) => o.kind !== "ok")) continue;
          const label = `[${
            String(done).padStart(String(total).length)
          }/${total}] ${c.id} (rep ${rep}/${opts.reps})`;
          let o: RunOutcome;
          try {
            o = await runCase(c, ctx);
          } catch (err) {
            o = {
              kind: "failed",
              message: `bench error: ${err instanceof Error ? err.message : err}`,
            };
          }
          outcomes.set(c.id, [...prev, o]);
          log(`${label}: ${describe(o)}`);
        }
      }
    }
  } finally {
    await watch?.close();
  }

  const summaries: CaseSummary[] = [];
  for (const [f, cases] of plan) {
    for (const c of cases) summaries.push(summarise(c, ready.get(f)!, outcomes.get(c.id) ?? []));
  }
  const byId = new Map(summaries.map((s) => [s.case.id, s]));
  const fixtures = [...plan.keys()];
  const targets = targetTable(byId, fixtures);
  const errors = errorList(summaries);
  const elapsedS = (performance.now() - started) / 1000;

  const mbNote =
    "MB/s = MB of the table in CSV form (10^6 bytes of `psql \\copy (SELECT * ...) TO STDOUT (FORMAT csv)`, " +
    "measured once when the fixture is created; the same reference is used for MariaDB) / median wall time.";
  const out: string[] = [];
  for (const f of fixtures) {
    const fx = ready.get(f)!;
    out.push(
      `\n== ${f}: ${fx.rows.toLocaleString("en-US")} rows, ${
        (fx.csvBytes / 1e6).toFixed(1)
      } MB as CSV ==`,
      renderText(caseTable(summaries.filter((s) => s.case.fixture === f))),
    );
  }
  out.push("\n== targets (ratio = Rivet rows/s / baseline rows/s) ==", renderText(targets));
  if (errors.length > 0) {
    out.push("\n== Rivet errors and rejections ==");
    for (const e of errors) {
      out.push(`${e.ids.join(", ")}:\n  ${e.message.replaceAll("\n", "\n  ")}`);
    }
  }
  out.push(`\n${mbNote}`, `Total bench time: ${elapsedS.toFixed(0)} s.`);
  console.log(out.join("\n"));

  if (opts.write) {
    const md = await markdown(
      command,
      opts,
      pgUrl,
      mysqlUrl,
      fixtures,
      ready,
      summaries,
      targets,
      errors,
      mbNote,
      elapsedS,
    );
    const file = path.join(REPO_ROOT, "docs/benchmarks.md");
    await Deno.writeTextFile(file, md);
    log(`wrote ${path.relative(Deno.cwd(), file) || file}`);
  }
  return 0;
}

function describe(o: RunOutcome): string {
  switch (o.kind) {
    case "ok":
      return `${o.wallS.toFixed(2)} s, peak RSS ${(o.peakRssBytes / 1024 / 1024).toFixed(0)} MiB` +
        (o.longestStatementS !== null
          ? `, longest stmt ${(o.longestStatementS * 1000).toFixed(0)} ms`
          : "") +
        (o.warning ? ` (warning: ${o.warning})` : "");
    case "not_implemented":
      return "n/a (not implemented)";
    case "failed":
      return `FAILED: ${o.message.split("\n")[0]}`;
  }
}

async function markdown(
  command: string,
  opts: Options,
  pgUrl: string,
  mysqlUrl: string,
  fixtures: readonly FixtureName[],
  ready: ReadonlyMap<FixtureName, ReadyFixture>,
  summaries: readonly CaseSummary[],
  targets: ReturnType<typeof targetTable>,
  errors: ReturnType<typeof errorList>,
  mbNote: string,
  elapsedS: number,
): Promise<string> {
  const m = await machineInfo(pgUrl, mysqlUrl);
  const lines = [
    "# Benchmarks",
    "",
    "Generated by `deno task bench` (scripts/bench.ts); do not edit by hand. Timings are from one",
    "noisy machine: read the ratios, not the absolute numbers.",
    "",
    `- Command: \`${command}\` (${
      opts.quick ? "quick" : "full"
    } mode, ${opts.reps} repetition(s) per case, median reported; took ${elapsedS.toFixed(0)} s)`,
    `- Date: ${m.date}`,
    `- Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memory} memory, Linux ${m.kernel}`,
    `- Deno ${m.deno}; PostgreSQL ${m.postgres}; MariaDB ${m.mariadb}`,
    "",
    "## How it measures",
    "",
    "- Fixtures live in schema (PostgreSQL) / database (MariaDB) `rivet_bench` and are generated",
    "  server-side (`generate_series`, `seq_1_to_N`); they are kept between runs when present with the",
    "  right row count. `narrow`: id, ~40-char label, numeric(12,2), timestamptz / TIMESTAMP(6), boolean.",
    "  `lineitem`: the 16 TPC-H lineitem columns. `wide`: ~2 KB text + ~2 KB JSON per row.",
    "  Full and `--quick` sizes share the table names, so switching rebuilds them (full: ~90 s once).",
    "- The cases of a fixture run interleaved (each case once per repetition, in turn).",
    "- Baselines: `psql -c \"\\copy (SELECT * FROM t) TO '/dev/null' WITH (FORMAT binary|csv)\"` and",
    '  `mariadb --quick --batch -e "SELECT * FROM t" > /dev/null`. The alternative: `psql \\copy ... csv`',
    "  into a fifo read by DuckDB (`@duckdb/node-api` in a Deno child, no DuckDB CLI is packaged here)",
    "  writing Parquet zstd; wall time and memory cover both processes.",
    "- Rivet: `deno run <rivet task permissions> src/main.ts run -c <generated rivet.yaml> --json` with",
    "  `tuning: { profile: fast }`, local destination in a temp dir deleted after each run.",
    "- Wall time is spawn to exit, so it includes process start-up (Deno, DuckDB).",
    `- ${mbNote}`,
    "- Peak RSS: VmRSS summed over the process tree(s), polled every 50 ms from /proc, raised to the",
    "  largest single-process VmHWM; the largest value over the repetitions is reported.",
    "- Longest statement (Rivet on PostgreSQL): `max(clock_timestamp() - query_start)` of active",
    "  backends in pg_stat_activity, polled every 20 ms on a separate connection, counting only backends",
    "  whose client port belongs to the Rivet process (so other sessions on the server do not count).",
    "  `<20 ms` means no statement was caught running at any poll.",
    "",
  ];
  for (const f of fixtures) {
    const fx = ready.get(f)!;
    lines.push(
      `## ${f}: ${fx.rows.toLocaleString("en-US")} rows, ${
        (fx.csvBytes / 1e6).toFixed(1)
      } MB as CSV`,
      "",
      renderMarkdown(caseTable(summaries.filter((s) => s.case.fixture === f))),
      "",
    );
  }
  lines.push(
    "## Targets",
    "",
    "Ratio = Rivet rows/s divided by the baseline's rows/s (baseline time / Rivet time).",
    "",
    renderMarkdown(targets),
    "",
  );
  if (errors.length > 0) {
    lines.push("## Rivet errors and rejections", "");
    for (const e of errors) {
      lines.push(
        `- ${e.ids.map((i) => `\`${i}\``).join(", ")}:`,
        "",
        "  ```",
        ...e.message.split("\n").map((l) => `  ${l}`),
        "  ```",
        "",
      );
    }
  }
  return lines.join("\n");
}

if (import.meta.main) Deno.exit(await main());
