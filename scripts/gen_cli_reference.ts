// Generates docs/reference/cli.md from the commander program itself (dev tool).
import type { Command } from "commander";
import { buildProgram } from "../src/cli/cli.ts";

function section(cmd: Command, path: string[], out: string[]): void {
  const name = [...path, cmd.name()].join(" ");
  if (path.length > 0) {
    const args = cmd.registeredArguments.map((a) => a.required ? `<${a.name()}>` : `[${a.name()}]`);
    out.push(`## \`${[name, ...args].join(" ")}\``, "", cmd.description(), "");
    const opts = cmd.options.filter((o) => !o.hidden);
    if (opts.length > 0) {
      out.push("| option | meaning | default |", "|---|---|---|");
      for (const o of opts) {
        const def = o.defaultValue === undefined || o.defaultValue === false ||
            (Array.isArray(o.defaultValue) && o.defaultValue.length === 0)
          ? ""
          : `\`${JSON.stringify(o.defaultValue)}\``;
        const req = o.mandatory ? " (required)" : "";
        out.push(`| \`${o.flags}\` | ${o.description}${req} | ${def} |`);
      }
      out.push("");
    }
  }
  for (const sub of cmd.commands) {
    if (sub.name() === "help") continue;
    section(sub, path.length === 0 ? ["rivet"] : [...path, cmd.name()], out);
  }
}

export function cliReference(): string {
  const program = buildProgram(() => {});
  const out = [
    "# Command-line reference",
    "",
    "Generated from the command definitions (`src/cli/`) by",
    "`deno run -A scripts/gen_cli_reference.ts`; a test fails when this file is out of date.",
    "`rivet <command> --help` prints the same. Global options: `--json-errors` (a fatal error",
    "as one JSON object on stderr), `-V, --version`, `-h, --help`.",
    "",
    "Exit codes: 0 success; 1 a failed export, a failed check or a config error; 2 a usage error.",
    "",
  ];
  section(program, [], out);
  return out.join("\n").trimEnd() + "\n";
}

if (import.meta.main) {
  const target = new URL("../docs/reference/cli.md", import.meta.url);
  Deno.writeTextFileSync(target, cliReference());
  console.log(`wrote ${target.pathname}`);
}
