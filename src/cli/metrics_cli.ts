// `rivet metrics`: the newest export_metrics rows as a table or JSON (coordinator).
import type { Command } from "commander";
import type { MetricRow } from "../state/state_store.ts";
import { addStateOptions, firstLine, parseLimit, withStore } from "./state_cli.ts";

/** The table of spec 2.12, with Error / retries lines under a row when they apply. */
export function renderMetrics(
  rows: readonly MetricRow[],
  fmt: { bytes: (n: number) => string; duration: (ms: number) => string },
): string[] {
  if (rows.length === 0) return ["No metrics recorded yet."];
  const lines = [
    `${"EXPORT".padEnd(20)} ${"STATUS".padEnd(8)}${"ROWS".padStart(7)}${"DURATION".padStart(10)}${
      "RSS".padStart(6)
    }${"FILES".padStart(7)}${"BYTES".padStart(10)} RUN ID`,
    "-".repeat(90),
  ];
  for (const m of rows) {
    lines.push(
      `${m.export_name.padEnd(20)} ${m.status.padEnd(8)}${String(m.total_rows).padStart(7)}${
        fmt.duration(m.duration_ms).padStart(10)
      }${(m.peak_rss_mb === null ? "-" : `${m.peak_rss_mb}MB`).padStart(6)}${
        String(m.files_produced).padStart(7)
      }${fmt.bytes(m.bytes_written).padStart(10)} ${m.run_id ?? "-"}`,
    );
    if (m.error_message) lines.push(`  Error: ${firstLine(m.error_message)}`);
    const extra: string[] = [];
    if (m.retries > 0) extra.push(`retries=${m.retries}`);
    if (m.validated !== null) extra.push(`validated=${m.validated ? "pass" : "FAIL"}`);
    if (m.schema_changed !== null) extra.push(`schema=${m.schema_changed ? "CHANGED" : "ok"}`);
    if (extra.length > 0) lines.push(`  ${extra.join("  ")}`);
  }
  return lines;
}

export function registerMetrics(program: Command, setExit: (p: Promise<number>) => void): void {
  addStateOptions(
    program.command("metrics").description("Show recent export metrics, newest first"),
  )
    .option("-e, --export <name>", "only this export")
    .option("-l, --last <n>", "how many rows", parseLimit, 20)
    .action((o: Record<string, unknown>) => {
      setExit(withStore(o, async (s) => {
        const rows = await s.listMetrics({
          ...(o.export === undefined ? {} : { exportName: o.export as string }),
          limit: o.last as number,
        });
        const { printStdout } = await import("../observe/terminal.ts");
        if (o.json === true) {
          await printStdout(JSON.stringify(rows, null, 2));
        } else {
          const { formatBytes, formatDuration } = await import("../observe/summary.ts");
          await printStdout(
            renderMetrics(rows, { bytes: formatBytes, duration: formatDuration }).join("\n"),
          );
        }
        return 0;
      }));
    });
}
