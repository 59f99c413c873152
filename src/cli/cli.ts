// Builds the `rivet` command line and dispatches to the subcommands (coordinator).
import { Command, CommanderError } from "commander";
import { RIVET_VERSION } from "../version.ts";
import { UsageError } from "../errors.ts";
import { registerRun } from "./run_cli.ts";
import { registerSchema } from "./schema_cli.ts";
import { registerState } from "./state_cli.ts";
import { registerMetrics } from "./metrics_cli.ts";
import { registerJournal } from "./journal_cli.ts";
import { registerValidate } from "./validate_cli.ts";
import { registerCheck } from "./check_cli.ts";
import { registerDoctor } from "./doctor_cli.ts";
import { registerInit } from "./init_cli.ts";
import { registerCompletions } from "./completions_cli.ts";
import { registerPlan } from "./plan_cli.ts";
import { registerApply } from "./apply_cli.ts";
import { registerReconcile } from "./reconcile_cli.ts";
import { registerRepair } from "./repair_cli.ts";

/** The whole `rivet` command tree; actions hand their exit-code promise to `setExit`. */
export function buildProgram(setExit: (p: Promise<number>) => void): Command {
  const program = new Command()
    .name("rivet")
    .description(
      "Extract PostgreSQL and MySQL data to Parquet or CSV files, safely and resumably.",
    )
    .version(`rivet ${RIVET_VERSION}`, "-V, --version", "print the version")
    .option("--json-errors", "print a fatal error as one JSON object on stderr")
    .configureOutput({ writeErr: () => {} }) // usage errors are printed once, by the entry point
    .exitOverride();
  registerRun(program, setExit);
  registerSchema(program, setExit);
  registerState(program, setExit);
  registerMetrics(program, setExit);
  registerJournal(program, setExit);
  registerValidate(program, setExit);
  registerCheck(program, setExit);
  registerDoctor(program, setExit);
  registerInit(program, setExit);
  registerPlan(program, setExit);
  registerApply(program, setExit);
  registerReconcile(program, setExit);
  registerRepair(program, setExit);
  registerCompletions(program, setExit);
  return program;
}

/** Parses argv and runs the chosen command; resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let pending: Promise<number> | null = null;
  const setExit = (p: Promise<number>) => {
    pending = p;
  };
  const program = buildProgram(setExit);
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({ writeErr: () => {} });
    c.commands.forEach(quiet);
  };
  program.commands.forEach(quiet);
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" || err.code === "commander.version" ||
        err.code === "commander.help"
      ) return 0;
      throw new UsageError(err.message.replace(/^error: /, ""), {
        hint: "run `rivet --help` or `rivet <command> --help` for usage",
      });
    }
    throw err;
  }
  if (pending === null) {
    program.outputHelp({ error: true });
    return 2;
  }
  return await pending;
}
