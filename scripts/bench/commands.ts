// Benchmark helpers: command lines for psql, mariadb and the Rivet CLI, and a byte-counting runner.
import * as path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname ?? ".", "../..");

/** `psql` arguments that run one meta-command or statement against `url`, quietly, failing on error. */
export function psqlArgs(url: string, command: string): string[] {
  return ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", command];
}

/** `mariadb` arguments and environment for a `mysql://user:pass@host:port/db` URL. */
export function mariadbInvocation(
  url: string,
  database: string,
  sql: string,
): { args: string[]; env: Record<string, string> } {
  const u = new URL(url);
  const args = ["--quick", "--batch", "-h", u.hostname || "127.0.0.1", "-P", u.port || "3306"];
  if (u.username) args.push("-u", decodeURIComponent(u.username));
  args.push("-D", database, "-e", sql);
  // The password goes through the environment so it never shows in `ps`.
  const env: Record<string, string> = u.password
    ? { MYSQL_PWD: decodeURIComponent(u.password) }
    : {};
  return { args, env };
}

/** A MySQL URL pointing at another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The database name of a PostgreSQL URL (for filtering pg_stat_activity). */
export function pgDatabaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  return name || "postgres";
}

/** The `--allow-*` flags of the `rivet` task in deno.json, so the bench runs Rivet as users do. */
export function rivetPermissionFlags(): string[] {
  const denoJson = JSON.parse(Deno.readTextFileSync(path.join(REPO_ROOT, "deno.json")));
  const task: unknown = denoJson?.tasks?.rivet;
  const flags = typeof task === "string"
    ? task.split(/\s+/).filter((t) => t.startsWith("--allow-"))
    : [];
  return flags.length > 0 ? flags : [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "--allow-run",
  ];
}

/** Runs a command and returns how many bytes it wrote to stdout; throws with its stderr on failure. */
export async function byteCount(cmd: string, args: string[]): Promise<number> {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const stderr = new Response(child.stderr).text();
  let n = 0;
  for await (const chunk of child.stdout) n += chunk.byteLength;
  const status = await child.status;
  if (!status.success) {
    throw new Error(`${cmd} exited with ${status.code}: ${(await stderr).trim()}`);
  }
  return n;
}

/** Runs a command to completion and returns its trimmed stdout; throws with its stderr on failure. */
export async function capture(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} exited with ${out.code}: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout).trim();
}
