// `rivet journal`: the event journal of recent runs of one export (coordinator).
import type { Command } from "commander";
import type { StoredJournal } from "../state/state_store.ts";
import { addStateOptions, firstLine, parseLimit, withStore } from "./state_cli.ts";

/** One run of spec 2.13: a blank line, the status line, then what happened. */
export function renderJournal(
  j: StoredJournal,
  fmt: { bytes: (n: number) => string; duration: (ms: number) => string },
): string[] {
  let status = "unknown";
  let durationMs: number | null = null;
  let error: string | null = null;
  let files = 0;
  let rows = 0;
  let bytes = 0;
  let retries = 0;
  const detail: string[] = [];
  for (const { event: e } of j.journal.entries) {
    switch (e.kind) {
      case "FileWritten":
        files++;
        rows += e.rows;
        bytes += e.bytes;
        break;
      case "RetryAttempted":
        retries++;
        break;
      case "QualityIssue":
        detail.push(`  quality [${e.severity}]: ${firstLine(e.message)}`);
        break;
      case "SchemaChanged":
        if (e.added.length > 0) detail.push(`  schema: ${e.added.map((a) => `+${a}`).join(", ")}`);
        if (e.removed.length > 0) {
          detail.push(`  schema: ${e.removed.map((r) => `-${r}`).join(", ")}`);
        }
        for (const [col, from, to] of e.type_changed) detail.push(`  schema: ${col} ${from}→${to}`);
        break;
      case "RunCompleted":
        status = e.status;
        durationMs = e.duration_ms;
        error = e.error_message;
        break;
      default:
        break;
    }
  }
  const mark = status === "success" ? "✓" : status === "failed" ? "✗" : "•";
  const lines = [
    "",
    `${mark} ${j.export_name}  ${status}  ${durationMs === null ? "-" : fmt.duration(durationMs)}`,
    `  run_id: ${j.run_id}`,
  ];
  if (files > 0) lines.push(`  files:  ${files}  rows: ${rows}  size: ${fmt.bytes(bytes)}`);
  if (retries > 0) lines.push(`  retries: ${retries}`);
  lines.push(...detail);
  if (error) lines.push(`  error: ${firstLine(error)}`);
  return lines;
}

export function registerJournal(program: Command, setExit: (p: Promise<number>) => void): void {
  addStateOptions(program.command("journal").description("Show the event journal of recent runs"))
    .requiredOption("-e, --export <name>", "export whose runs to show")
    .option("-l, --last <n>", "how many runs", parseLimit, 5)
    .option("--run-id <id>", "show only this run")
    .action((o: Record<string, unknown>) => {
      setExit(withStore(o, async (s) => {
        const name = o.export as string;
        const { printStdout } = await import("../observe/terminal.ts");
        let journals: StoredJournal[];
        if (o.runId !== undefined) {
          const one = await s.getJournal(o.runId as string);
          if (one === null) {
            if (o.json === true) await printStdout("[]");
            else await printStdout(`No journal found for run_id '${o.runId as string}'.`);
            return 0;
          }
          journals = [one];
        } else {
          journals = await s.listJournals(name, o.last as number);
          if (journals.length === 0) {
            if (o.json === true) await printStdout("[]");
            else await printStdout(`No journal entries for export '${name}' yet.`);
            return 0;
          }
        }
        if (o.json === true) {
          const { journalToJson } = await import("../state/journal_types.ts");
          await printStdout(JSON.stringify(
            journals.map((j) => ({
              finished_at: j.finished_at,
              ...JSON.parse(journalToJson(j.journal)),
            })),
            null,
            2,
          ));
          return 0;
        }
        const { formatBytes, formatDuration } = await import("../observe/summary.ts");
        const fmt = { bytes: formatBytes, duration: formatDuration };
        await printStdout(journals.flatMap((j) => renderJournal(j, fmt)).join("\n"));
        return 0;
      }));
    });
}
