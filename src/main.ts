// Entry point of the `rivet` binary: runs the CLI, prints fatal errors, sets the exit code.
import { runCli } from "./cli/cli.ts";
import { describeError, exitCodeFor, redact, RivetError } from "./errors.ts";

const args = [...Deno.args];
const jsonErrors = args.includes("--json-errors");

function fatal(err: unknown): number {
  const message = describeError(err);
  const hint = err instanceof RivetError && err.hint ? redact(err.hint) : undefined;
  const text = jsonErrors
    ? JSON.stringify({ error: message, ...(hint ? { hint } : {}) })
    : `Error: ${message}${hint ? `\n  Hint: ${hint}` : ""}`;
  Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
  if (!(err instanceof RivetError) && Deno.env.get("RIVET_DEBUG")) console.error(err);
  return exitCodeFor(err);
}

let code: number;
try {
  code = await runCli(args.filter((a) => a !== "--json-errors"));
} catch (err) {
  code = fatal(err);
}
Deno.exit(code);
