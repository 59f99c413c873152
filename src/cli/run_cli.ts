// `rivet run`: parses its flags and hands them to the run coordinator (coordinator).
import type { Command } from "commander";
import { interruptSignal } from "./interrupt.ts";

/** Collects repeatable `-p KEY=VALUE` flags; items without `=` are dropped, last key wins. */
export function parseParams(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq < 0) continue;
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRun(program: Command, setExit: (p: Promise<number>) => void): void {
  program
    .command("run")
    .description("Run exports from a config file")
    .requiredOption("-c, --config <path>", "path to rivet.yaml")
    .option("-e, --export <name>", "run only this export")
    .option("-p, --param <KEY=VALUE>", "value for a ${KEY} placeholder (repeatable)", collect, [])
    .option(
      "--validate",
      "verify the destination against the manifest after the run (sizes, MD5 where known)",
      false,
    )
    .option(
      "--reconcile",
      "compare the exported row count with the source (implies --validate)",
      false,
    )
    .option("--resume", "resume an in-progress chunk checkpoint run", false)
    .option("--force", "with --resume: ignore an existing _SUCCESS marker", false)
    .option(
      "--worker",
      "share a checkpointed chunk run with other workers: join the export's in-progress run, or start it",
      false,
    )
    .option(
      "--run-group <id>",
      "with --worker: workers of one job (Job uid, CI run id) share one chunk run; a late one " +
        "never starts another (default: $RIVET_RUN_GROUP)",
    )
    .option("--parallel-exports", "run the selected exports concurrently in this process", false)
    .option("--parallel-export-processes", "run each export in its own child process", false)
    .option("--summary-output <path>", "write the run summary JSON to this file")
    .option("--json", "print the run summary JSON on stdout", false)
    .option("--state <path>", "state database file (default: .rivet_state.db beside the config)")
    .option(
      "--state-url <url>",
      "PostgreSQL state database shared by workers (default: $RIVET_STATE_URL)",
    )
    .action((o: Record<string, unknown>) => {
      setExit((async () => {
        if (o.worker === true && o.resume === true) {
          const { UsageError } = await import("../errors.ts");
          throw new UsageError("--worker and --resume are mutually exclusive", {
            hint: "--worker joins a run other workers are still running; --resume takes over " +
              "a run whose processes all stopped (and restarts its running chunks)",
          });
        }
        if (o.runGroup !== undefined && o.worker !== true) {
          const { UsageError } = await import("../errors.ts");
          throw new UsageError("--run-group needs --worker", {
            hint: "--run-group names the shared chunk run of a group of --worker processes",
          });
        }
        const runGroup = ((o.runGroup as string | undefined) ?? Deno.env.get("RIVET_RUN_GROUP"))
          ?.trim();
        const { runCommand } = await import("../pipeline/run.ts");
        return await runCommand({
          configPath: o.config as string,
          ...(o.export === undefined ? {} : { exportName: o.export as string }),
          params: parseParams(o.param as string[]),
          validate: o.validate === true,
          reconcile: o.reconcile === true,
          resume: o.resume === true,
          force: o.force === true,
          worker: o.worker === true,
          ...(o.worker === true && runGroup ? { runGroup } : {}),
          parallelExports: o.parallelExports === true,
          parallelExportProcesses: o.parallelExportProcesses === true,
          ...(o.summaryOutput === undefined ? {} : { summaryOutput: o.summaryOutput as string }),
          json: o.json === true,
          ...(o.state === undefined ? {} : { statePath: o.state as string }),
          ...(o.stateUrl === undefined ? {} : { stateUrl: o.stateUrl as string }),
          signal: interruptSignal(),
        });
      })());
    });
}
