// Benchmark helper: describes the machine and database servers a benchmark ran on.
import { capture, mariadbInvocation, psqlArgs } from "./commands.ts";

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memory: string;
  readonly kernel: string;
  readonly deno: string;
  readonly postgres: string;
  readonly mariadb: string;
  readonly date: string;
}

function readOr(file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch {
    return "";
  }
}

export async function machineInfo(pgUrl: string, mysqlUrl: string): Promise<MachineInfo> {
  const cpuinfo = readOr("/proc/cpuinfo");
  const memKb = Number(readOr("/proc/meminfo").match(/^MemTotal:\s+(\d+) kB/m)?.[1] ?? 0);
  const ask = async (f: () => Promise<string>) => {
    try {
      return await f();
    } catch (err) {
      return `unknown (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`;
    }
  };
  const my = mariadbInvocation(mysqlUrl, "mysql", "SELECT VERSION()");
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown",
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    postgres: await ask(() => capture("psql", [...psqlArgs(pgUrl, "SHOW server_version"), "-At"])),
    mariadb: await ask(() => capture("mariadb", [...my.args, "-N"])),
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
}
