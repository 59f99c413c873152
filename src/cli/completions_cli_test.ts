// Tests that the completion scripts are generated from the real commander program and complete in bash (coordinator, tests).
import assert from "node:assert/strict";
import { Command } from "commander";
import { registerRun } from "./run_cli.ts";
import { registerState } from "./state_cli.ts";
import { registerSchema } from "./schema_cli.ts";
import { registerCheck } from "./check_cli.ts";
import { registerDoctor } from "./doctor_cli.ts";
import { registerInit } from "./init_cli.ts";
import { commandTree, completionScript, registerCompletions } from "./completions_cli.ts";

function program(): Command {
  const p = new Command().name("rivet").option("--json-errors", "JSON errors");
  const setExit = () => {};
  registerRun(p, setExit);
  registerSchema(p, setExit);
  registerState(p, setExit);
  registerCheck(p, setExit);
  registerDoctor(p, setExit);
  registerInit(p, setExit);
  registerCompletions(p, setExit);
  return p;
}

/** What bash offers for `words` (the last one is being completed). */
async function bashComplete(script: string, words: string[]): Promise<string[]> {
  const arr = words.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(" ");
  const cmd = `${script}\nCOMP_WORDS=(${arr}); COMP_CWORD=${
    words.length - 1
  }; _rivet; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = await new Deno.Command("bash", { args: ["-c", cmd], stdout: "piped" }).output();
  assert.equal(out.code, 0);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

Deno.test("commandTree lists every registered command and nested subcommand", () => {
  const paths = commandTree(program()).map((n) => n.path.join(" "));
  for (const p of ["run", "check", "doctor", "init", "completions", "state", "state show"]) {
    assert.ok(paths.includes(p), `missing ${p}`);
  }
});

Deno.test("bash completion offers subcommands, nested subcommands and each command's own flags", async () => {
  const script = completionScript("bash", program());
  assert.deepEqual(await bashComplete(script, ["rivet", "ch"]), ["check"]);
  assert.ok((await bashComplete(script, ["rivet", "state", ""])).includes("show"));
  const flags = await bashComplete(script, ["rivet", "check", "--"]);
  for (const f of ["--config", "--type-report", "--strict", "--json", "--help"]) {
    assert.ok(flags.includes(f), `missing ${f} in ${flags}`);
  }
  assert.ok(!flags.includes("--resume"), "run's --resume must not be offered for check");
  assert.deepEqual(await bashComplete(script, ["rivet", "completions", "f"]), ["fish"]);
});

Deno.test("a flag added to the program shows up in every shell's script", () => {
  const p = program();
  p.commands.find((c) => c.name() === "doctor")!.option("--brand-new-flag", "added later");
  for (const shell of ["bash", "zsh", "fish"] as const) {
    assert.match(completionScript(shell, p), /brand-new-flag/, shell);
  }
});

Deno.test("zsh and fish scripts register completion for rivet with descriptions", () => {
  const zsh = completionScript("zsh", program());
  assert.match(zsh, /^#compdef rivet/);
  assert.match(zsh, /compdef _rivet rivet/);
  assert.match(zsh, /'check:Preflight each export/);
  const fish = completionScript("fish", program());
  assert.match(fish, /complete -c rivet -n '__fish_use_subcommand' -a 'doctor'/);
  assert.match(fish, /__fish_seen_subcommand_from check' -s c -l config -r -F/);
});
