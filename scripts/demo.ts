// Layer: dev tooling (not shipped in the CLI): `deno task demo`, a real export with nothing to install.
//
// 1. starts an in-memory PostgreSQL (PGlite) seeded with a small shop dataset, served over TCP
//    on 127.0.0.1 (scripts/demo/demo_database.ts, scripts/demo/seed.sql);
// 2. writes ./demo-output/rivet.yaml: every table to Parquet (zstd), two tables to CSV;
// 3. runs the real CLI in a child process, as `deno task rivet run -c demo-output/rivet.yaml`;
// 4. stops the server and exits with the CLI's exit code.

import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { startDemoDatabase } from "./demo/demo_database.ts";
import { CSV_TABLES, demoConfigYaml, PARQUET_TABLES } from "./demo/demo_config.ts";

/** The permissions of the `rivet` task in deno.json. */
const CLI_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-run",
];

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const outDir = join(Deno.cwd(), "demo-output");
const parquetDir = join(outDir, "parquet");
const csvDir = join(outDir, "csv");
const configPath = join(outDir, "rivet.yaml");
const say = (line: string) => console.error(`[demo] ${line}`);

/** Removes what an earlier demo run produced (only the demo's own files). */
async function cleanOutput(): Promise<void> {
  const leftovers = [
    parquetDir,
    csvDir,
    configPath,
    join(outDir, ".rivet"),
    join(outDir, ".rivet_state.db"),
    join(outDir, ".rivet_state.db-wal"),
    join(outDir, ".rivet_state.db-shm"),
  ];
  for (const path of leftovers) {
    await Deno.remove(path, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
  await Deno.mkdir(outDir, { recursive: true });
}

async function main(): Promise<number> {
  await cleanOutput();
  const t0 = performance.now();
  say("starting an in-memory PostgreSQL (PGlite) and loading the demo data ...");
  const db = await startDemoDatabase();
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true; // the CLI gets the same Ctrl+C from the terminal; we clean up after it
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    say(`PostgreSQL ready at ${db.url} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    await Deno.writeTextFile(configPath, demoConfigYaml({ url: db.url, parquetDir, csvDir }));
    const configArg = relative(repoRoot, configPath);
    say(`wrote ${configPath}`);
    say(`running: deno task rivet run -c ${configArg}`);
    const cli = new Deno.Command(Deno.execPath(), {
      args: ["run", ...CLI_PERMISSIONS, join(repoRoot, "src", "main.ts"), "run", "-c", configArg],
      cwd: repoRoot,
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    });
    const status = await cli.spawn().status;
    if (interrupted) {
      say("interrupted");
      return 130;
    }
    if (!status.success) {
      say(`rivet exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}`);
      return status.code || 1;
    }
    const rel = (path: string) => relative(Deno.cwd(), path) || ".";
    console.log("");
    console.log(`Demo export finished. Files are in ${rel(outDir)}/:`);
    console.log(`  Parquet (zstd): ${rel(parquetDir)}/{${PARQUET_TABLES.join(",")}}/`);
    console.log(`  CSV:            ${rel(csvDir)}/{${CSV_TABLES.join(",")}}/`);
    console.log(`  config:         ${rel(configPath)}`);
    console.log(
      `Query them with DuckDB: duckdb -c "SELECT status, count(*), sum(total) FROM '${
        rel(parquetDir)
      }/orders/*.parquet' GROUP BY status"`,
    );
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    await db.stop();
  }
}

let code: number;
try {
  code = await main();
} catch (error) {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && error.cause) say(`  cause: ${String(error.cause)}`);
  code = 1;
}
Deno.exit(code);
