// `rivet check`: read-only preflight of each export (strategy, row estimate, index use, verdict, advice, type fidelity) (coordinator).
import type { Command } from "commander";

export interface CheckOptions {
  readonly configPath: string;
  readonly exportName?: string;
  readonly params: Readonly<Record<string, string>>;
  readonly typeReport: boolean;
  readonly strict: boolean;
  readonly json: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Analyses the selected exports; 1 when an export could not be analysed, a destination failed, or `--strict` found lossy types. */
export async function checkCommand(o: CheckOptions): Promise<number> {
  const { loadConfigFile, resolveSource } = await import("../pipeline/config_io.ts");
  const { openSource, openDestination } = await import("../pipeline/factories.ts");
  const { checkExport, renderExportCheck } = await import("../preflight/check.ts");
  const { inspectorFor } = await import("../preflight/db_inspect.ts");
  const { isStrictFailure } = await import("../preflight/type_report.ts");
  const { destinationLabel, distinctDestinations } = await import("../preflight/doctor.ts");
  const { ConfigError, describeError, redact } = await import("../errors.ts");
  const { printStdout } = await import("../observe/terminal.ts");

  const loaded = await loadConfigFile(o.configPath, o.params);
  const selected = o.exportName === undefined
    ? loaded.config.exports
    : loaded.config.exports.filter((e) => e.name === o.exportName);
  if (selected.length === 0) {
    throw new ConfigError(
      `export '${o.exportName}' not found in config; known exports: ${
        loaded.config.exports.map((e) => e.name).join(", ")
      }`,
      { hint: "check the spelling of --export" },
    );
  }
  const typeReport = o.typeReport || o.strict || o.json;
  const source = await openSource(resolveSource(loaded));
  const results: import("../preflight/check.ts").ExportCheck[] = [];
  const header: string[] = [];
  try {
    const inspector = inspectorFor(loaded.config.source.type, source);
    const pooler = await inspector.poolerWarning();
    if (pooler) header.push(`Warning: ${pooler}`);
    const maxConnections = await inspector.maxConnections();
    for (const e of selected) {
      results.push(
        await checkExport({ loaded, source, inspector, maxConnections, typeReport }, e),
      );
    }
  } finally {
    await source.close();
  }
  const destinationErrors: string[] = [];
  const subset = { ...loaded, config: { ...loaded.config, exports: selected } };
  for (const plan of distinctDestinations(subset, new Date())) {
    try {
      const d = await openDestination(plan);
      await d.close();
    } catch (err) {
      destinationErrors.push(
        `destination preflight failed for ${destinationLabel(plan)}: ${describeError(err)}`,
      );
    }
  }
  const failed = results.some((r) => r.error !== undefined) || destinationErrors.length > 0;
  const strictFailed = o.strict &&
    results.some((r) => (r.types ?? []).some(isStrictFailure) || r.error !== undefined);
  if (o.json) {
    await printStdout(redact(JSON.stringify(results, null, 2)));
    if (destinationErrors.length > 0 || header.length > 0) {
      const { printHuman } = await import("../observe/terminal.ts");
      printHuman([...header, ...destinationErrors]);
    }
  } else {
    const lines = [`rivet check: config '${o.configPath}'`, ...header, ""];
    for (const r of results) lines.push(...renderExportCheck(r), "");
    for (const d of destinationErrors) lines.push(`Error: ${d}`);
    if (o.strict) {
      const bad = results.flatMap((r) =>
        (r.types ?? []).filter(isStrictFailure).map((t) =>
          `${r.export}.${t.column} (${t.fidelity})`
        )
      );
      lines.push(
        bad.length === 0
          ? "Strict: every column maps exactly or compatibly."
          : `Strict: ${bad.length} column(s) would lose data: ${bad.join(", ")}. ` +
            "Add `columns:` overrides or cast them in the query.",
      );
    }
    await printStdout(lines.map((l) => redact(l)).join("\n"));
  }
  return failed || strictFailed ? 1 : 0;
}

export function registerCheck(program: Command, setExit: (p: Promise<number>) => void): void {
  program
    .command("check")
    .description(
      "Preflight each export: strategy, row estimate, index use, verdict and advice (read-only)",
    )
    .requiredOption("-c, --config <path>", "path to rivet.yaml")
    .option("-e, --export <name>", "check only this export")
    .option("-p, --param <KEY=VALUE>", "value for a ${KEY} placeholder (repeatable)", collect, [])
    .option(
      "--type-report",
      "also print each column's source, Rivet and Arrow type and fidelity",
      false,
    )
    .option(
      "--strict",
      "exit 1 when a column maps lossy or unsupported (implies --type-report)",
      false,
    )
    .option("--json", "print one JSON object per export on stdout (implies --type-report)", false)
    .action((opts: Record<string, unknown>) => {
      setExit((async () => {
        const { parseParams } = await import("./run_cli.ts");
        return await checkCommand({
          configPath: opts.config as string,
          ...(opts.export === undefined ? {} : { exportName: opts.export as string }),
          params: parseParams(opts.param as string[]),
          typeReport: opts.typeReport === true,
          strict: opts.strict === true,
          json: opts.json === true,
        });
      })());
    });
}
