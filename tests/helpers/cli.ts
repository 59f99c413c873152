// Test helper: runs the rivet CLI from source with exactly the permission flags the compile task bakes in.
import * as path from "node:path";

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

/** The `--allow-*` flags of the `rivet` task in deno.json (the same ones `deno compile` bakes in). */
export function rivetPermissionFlags(): string[] {
  const denoJson = JSON.parse(Deno.readTextFileSync(path.join(repoRoot, "deno.json")));
  const task: string = denoJson.tasks.rivet;
  const compile: string = denoJson.tasks.compile;
  const flags = task.split(/\s+/).filter((t) => t.startsWith("--allow-"));
  const compileFlags = compile.split(/\s+/).filter((t) => t.startsWith("--allow-"));
  if (flags.join(" ") !== compileFlags.join(" ")) {
    throw new Error(
      `deno.json: rivet task flags ${flags} differ from compile flags ${compileFlags}`,
    );
  }
  return flags;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Uint8Array;
}

/** Runs `rivet <args>` and collects its output. */
export async function runRivet(
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<CliResult> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", ...rivetPermissionFlags(), path.join(repoRoot, "src/main.ts"), ...args],
    cwd: opts.cwd ?? repoRoot,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...(opts.env ?? {}) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    stdoutBytes: out.stdout,
  };
}

export { repoRoot };
