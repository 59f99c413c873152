// Renders the end-of-run summary block, the compact multi-export lines and the run aggregate JSON (observability layer).
import type { ExportOutcome } from "../pipeline/outcome.ts";

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = (s % 60).toFixed(1).padStart(4, "0");
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m ${rest}s` : `${m}m ${rest}s`;
}

const int = (n: number) => n.toLocaleString("en-US");

/** The per-export block of spec 2.3, as lines. */
export function summaryBlock(o: ExportOutcome, extra: { reportPath?: string } = {}): string[] {
  const header = `── ${o.name} `;
  const lines = [header.padEnd(60, "─")];
  const row = (k: string, v: string) => lines.push(`  ${(k + ":").padEnd(10)} ${v}`);
  row("run_id", o.runId);
  row("status", o.status === "skipped" ? `skipped (${o.skipReason ?? "no rows"})` : o.status);
  row("mode", o.mode);
  row("tuning", `profile=${o.tuningLabel}, batch_size=${int(o.batchSize)}`);
  row("rows", int(o.rows));
  row("files", String(o.parts.length));
  if (o.bytes > 0) row("bytes", formatBytes(o.bytes));
  row("duration", formatDuration(o.durationMs));
  if (o.peakRssMb > 0) row("peak RSS", `${o.peakRssMb} MB (sampled during run)`);
  if (o.format === "parquet" && o.compression !== "zstd") row("compression", o.compression);
  if (o.retries > 0) row("retries", String(o.retries));
  if (o.validated !== null) row("validated", o.validated ? "pass" : "FAIL");
  if (o.quality !== null) row("quality", o.quality ? "pass" : "FAIL");
  if (o.schemaChanged !== null) row("schema", o.schemaChanged ? "CHANGED" : "unchanged");
  if (o.reconciliation) {
    const r = o.reconciliation;
    row(
      "reconcile",
      r.matched
        ? `MATCH (${r.exported_rows}/${r.source_count})`
        : `MISMATCH (exported ${r.exported_rows} vs source ${r.source_count})`,
    );
  }
  if (o.parts.length > 0 && o.destinationKind !== "stdout") row("output", o.destinationUri);
  if (o.error) row("error", oneLine(o.error, 240));
  if (extra.reportPath) row("report", extra.reportPath);
  return lines;
}

export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
}

/** One compact line per export, used when a run has several exports. */
export function compactLine(o: ExportOutcome): string {
  const mark = o.status === "success" ? "✓" : o.status === "failed" ? "✗" : "•";
  const tail = o.status === "failed" && o.error
    ? oneLine(o.error, 120)
    : `${int(o.rows)} rows  ${o.parts.length} files  ${formatBytes(o.bytes)}  ${
      formatDuration(o.durationMs)
    }  RSS ${o.peakRssMb} MB`;
  return `${mark} ${o.name.padEnd(22)} ${o.mode.padEnd(8)} ${tail}`;
}

export interface RunAggregate {
  readonly run_aggregate_id: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly duration_ms: number;
  readonly config_path: string;
  readonly parallel_mode: "sequential" | "parallel-threads" | "parallel-processes";
  readonly total_exports: number;
  readonly success_count: number;
  readonly failed_count: number;
  readonly skipped_count: number;
  readonly total_rows: number;
  readonly total_files: number;
  readonly total_bytes: number;
  readonly peak_rss_mb: number;
  readonly per_export: ReadonlyArray<{
    export_name: string;
    status: string;
    run_id: string;
    mode: string;
    rows: number;
    files: number;
    bytes: number;
    duration_ms: number;
    peak_rss_mb: number;
    error_message: string | null;
  }>;
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** The run aggregate of spec 4.12 (plus peak RSS). */
export function runAggregate(
  outcomes: readonly ExportOutcome[],
  ctx: {
    startedAt: Date;
    finishedAt: Date;
    configPath: string;
    parallelMode: RunAggregate["parallel_mode"];
  },
): RunAggregate {
  const s = ctx.startedAt;
  const id = `agg_${s.getUTCFullYear()}${pad2(s.getUTCMonth() + 1)}${pad2(s.getUTCDate())}T` +
    `${pad2(s.getUTCHours())}${pad2(s.getUTCMinutes())}${pad2(s.getUTCSeconds())}` +
    String(s.getUTCMilliseconds()).padStart(3, "0");
  const success = outcomes.filter((o) => o.status === "success").length;
  const failed = outcomes.filter((o) => o.status === "failed").length;
  return {
    run_aggregate_id: id,
    started_at: ctx.startedAt.toISOString(),
    finished_at: ctx.finishedAt.toISOString(),
    duration_ms: ctx.finishedAt.getTime() - ctx.startedAt.getTime(),
    config_path: ctx.configPath,
    parallel_mode: ctx.parallelMode,
    total_exports: outcomes.length,
    success_count: success,
    failed_count: failed,
    skipped_count: outcomes.length - success - failed,
    total_rows: outcomes.reduce((a, o) => a + o.rows, 0),
    total_files: outcomes.reduce((a, o) => a + o.parts.length, 0),
    total_bytes: outcomes.reduce((a, o) => a + o.bytes, 0),
    peak_rss_mb: outcomes.reduce((a, o) => Math.max(a, o.peakRssMb), 0),
    per_export: outcomes.map((o) => ({
      export_name: o.name,
      status: o.status,
      run_id: o.runId,
      mode: o.mode,
      rows: o.rows,
      files: o.parts.length,
      bytes: o.bytes,
      duration_ms: o.durationMs,
      peak_rss_mb: o.peakRssMb,
      error_message: o.error,
    })),
  };
}

/** The "Run summary" block printed after several exports. */
export function aggregateBlock(a: RunAggregate): string[] {
  const secs = a.duration_ms / 1000;
  const lines = [
    `Run summary (${a.total_exports} exports)`,
    `  id:         ${a.run_aggregate_id}`,
    `  result:     ${a.success_count} success · ${a.failed_count} failed` +
    (a.skipped_count > 0 ? ` · ${a.skipped_count} skipped` : ""),
    `  rows:       ${int(a.total_rows)}`,
    `  files:      ${a.total_files}`,
    `  bytes:      ${formatBytes(a.total_bytes)}`,
    `  duration:   ${formatDuration(a.duration_ms)}`,
    `  throughput: ${int(Math.round(secs > 0 ? a.total_rows / secs : 0))} rows/s`,
    `  peak RSS:   ${a.peak_rss_mb} MB`,
    `  mode:       ${a.parallel_mode}`,
    `  config:     ${a.config_path}`,
  ];
  const failed = a.per_export.filter((e) => e.status === "failed").map((e) => e.export_name);
  if (failed.length > 0) lines.push(`  failed:     ${failed.join(", ")}`);
  return lines;
}
