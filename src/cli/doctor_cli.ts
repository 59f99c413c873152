// `rivet doctor`: probes the config, the source credentials and every destination, one [OK]/[FAIL] line each (coordinator).
import type { Command } from "commander";

export interface DoctorOptions {
  readonly configPath: string;
  readonly params: Readonly<Record<string, string>>;
  readonly json: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Runs every probe and prints the report; 0 when all passed, 1 otherwise. */
export async function doctorCommand(o: DoctorOptions): Promise<number> {
  const { loadConfigFile, resolveSource } = await import("../pipeline/config_io.ts");
  const { openSource, openDestination } = await import("../pipeline/factories.ts");
  const doctor = await import("../preflight/doctor.ts");
  const { describeError, redact } = await import("../errors.ts");
  const { printStdout } = await import("../observe/terminal.ts");
  const checks: import("../preflight/doctor.ts").DoctorCheck[] = [];
  let loaded: import("../config/config_types.ts").LoadedConfig | undefined;
  try {
    loaded = await loadConfigFile(o.configPath, o.params);
    checks.push({ ok: true, label: "Config parsed successfully" });
  } catch (err) {
    checks.push({ ok: false, label: "Config", message: describeError(err) });
  }
  if (loaded !== undefined) {
    const engine = loaded.config.source.type;
    let conn: import("../source/source.ts").SourceConnection | undefined;
    try {
      conn = resolveSource(loaded);
    } catch (err) {
      checks.push(doctor.sourceFailure(engine, err));
    }
    if (conn !== undefined) checks.push(await doctor.probeSource(conn, openSource));
    for (const plan of doctor.distinctDestinations(loaded, new Date())) {
      checks.push(await doctor.probeDestination(plan, openDestination));
    }
  }
  const ok = checks.every((c) => c.ok);
  if (o.json) {
    await printStdout(
      redact(JSON.stringify({ config: o.configPath, ok, checks }, null, 2)),
    );
  } else {
    await printStdout(doctor.renderDoctor(o.configPath, checks).join("\n"));
  }
  return ok ? 0 : 1;
}

export function registerDoctor(program: Command, setExit: (p: Promise<number>) => void): void {
  program
    .command("doctor")
    .description("Check the config, the source credentials and that every destination is writable")
    .requiredOption("-c, --config <path>", "path to rivet.yaml")
    .option("-p, --param <KEY=VALUE>", "value for a ${KEY} placeholder (repeatable)", collect, [])
    .option("--json", "print the checks as JSON on stdout", false)
    .action((opts: Record<string, unknown>) => {
      setExit((async () => {
        const { parseParams } = await import("./run_cli.ts");
        return await doctorCommand({
          configPath: opts.config as string,
          params: parseParams(opts.param as string[]),
          json: opts.json === true,
        });
      })());
    });
}
