// Writes the per-run report `.rivet/runs/<run_id>/summary.json|md` next to the config (observability layer).
import * as path from "node:path";

/** §8.1 manifest verification object, as produced by the verifier (only the counts are read). */
export interface ManifestVerification {
  readonly manifest_found: boolean;
  readonly legacy_run: boolean;
  readonly parts_verified: number;
  readonly parts_md5_verified: number;
  readonly parts_failed: number;
  readonly success_marker_consistent: boolean;
  readonly manifest_self_consistent: boolean;
  readonly passed: boolean;
  readonly failures: readonly Readonly<Record<string, unknown>>[];
}

/** What the run report is built from (spec 6.4); the derived fields are computed here. */
export interface RunReportInput {
  readonly run_id: string;
  readonly export_name: string;
  /** success | failed | interrupted | skipped … */
  readonly status: string;
  readonly started_at: string;
  /** Time of RunCompleted. */
  readonly finished_at: string;
  readonly duration_ms: number;
  readonly source_engine: string | null;
  readonly destination_kind: string;
  readonly format: string;
  readonly compression: string;
  readonly tuning_profile: string;
  readonly batch_size: number;
  readonly total_rows: number;
  readonly files_produced: number;
  /** Parts durable at the destination (decides `resumable`). */
  readonly files_committed: number;
  readonly bytes_written: number;
  readonly peak_rss_mb: number;
  readonly retries: number;
  readonly pg_temp_bytes_delta: number | null;
  readonly validation:
    | { readonly passed: boolean; readonly manifest?: ManifestVerification }
    | null;
  readonly reconciliation:
    | { readonly source_count: number; readonly exported_rows: number; readonly matched: boolean }
    | null;
  readonly schema_changed: boolean;
  readonly schema_changes: readonly {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly type_changed: readonly (readonly [string, string, string])[];
  }[];
  readonly plan_warnings: readonly { readonly rule: string; readonly message: string }[];
  /** Already redacted. */
  readonly error_message: string | null;
  /** The config path as the user gave it (for the resume command). */
  readonly config_path: string;
  readonly apply_context?: {
    readonly plan_id: string;
    readonly forced: boolean;
    readonly force_bypassed: readonly string[];
  };
}

/** The `summary.json` document. */
export type RunReport = Omit<RunReportInput, "files_committed" | "config_path"> & {
  readonly resumable: boolean;
  readonly resume_command: string | null;
};

export type RunReportResult =
  | { readonly ok: true; readonly dir: string; readonly jsonPath: string; readonly mdPath: string }
  | { readonly ok: false; readonly error: Error };

/** POSIX shell quoting: `[A-Za-z0-9_./-]` stays as is, anything else is single-quoted. */
export function shellQuote(s: string): string {
  if (s !== "" && /^[A-Za-z0-9_./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function buildRunReport(input: RunReportInput): RunReport {
  const { files_committed, config_path, ...rest } = input;
  const resumable = input.status === "failed" && files_committed > 0;
  return {
    ...rest,
    resumable,
    resume_command: resumable ? `rivet run --config ${shellQuote(config_path)} --resume` : null,
  };
}

function statusLabel(status: string): string {
  switch (status) {
    case "success":
      return "SUCCESS";
    case "failed":
      return "FAILED";
    case "interrupted":
      return "INTERRUPTED";
    default:
      return "UNKNOWN";
  }
}

export function renderRunReportMarkdown(r: RunReport): string {
  const l: string[] = [`# Rivet run: \`${r.run_id}\``, ""];
  l.push(
    `- **Export:** ${r.export_name}`,
    `- **Status:** ${statusLabel(r.status)}`,
    `- **Started:** ${r.started_at}`,
    `- **Finished:** ${r.finished_at}`,
    `- **Duration:** ${r.duration_ms} ms (${(r.duration_ms / 1000).toFixed(1)} s)`,
    "",
    "## Plan",
    "",
    `- Source: ${r.source_engine ?? "unknown"}`,
    `- Destination: ${r.destination_kind}`,
    `- Format: ${r.format} (${r.compression})`,
    `- Tuning: ${r.tuning_profile}, batch_size ${r.batch_size}`,
    "",
    "## Throughput",
    "",
    `- Rows: ${r.total_rows}`,
    `- Files: ${r.files_produced}`,
    `- Bytes: ${r.bytes_written}`,
    `- Peak RSS: ${r.peak_rss_mb} MB`,
    `- Retries: ${r.retries}`,
  );
  if (r.pg_temp_bytes_delta !== null) l.push(`- PostgreSQL temp bytes: ${r.pg_temp_bytes_delta}`);
  l.push("", "## Verdicts", "");
  if (r.validation === null) l.push("- Validation: not requested");
  else {
    l.push(`- Validation: ${r.validation.passed ? "PASSED" : "FAILED"}`);
    const m = r.validation.manifest;
    if (m !== undefined) {
      l.push(
        `  - Manifest: ${m.parts_verified} parts verified (${m.parts_md5_verified} md5, ${
          m.parts_verified - m.parts_md5_verified
        } size-only), ${m.parts_failed} failed, _SUCCESS ${
          m.success_marker_consistent ? "consistent" : "absent"
        }`,
      );
    }
  }
  if (r.reconciliation === null) l.push("- Reconciliation: not requested");
  else {
    const c = r.reconciliation;
    l.push(
      `- Reconciliation: ${
        c.matched ? "MATCHED" : "MISMATCH"
      } (source ${c.source_count}, exported ${c.exported_rows})`,
    );
  }
  l.push(`- Schema: ${r.schema_changed ? "CHANGED" : "unchanged"}`);
  if (r.schema_changes.length > 0) {
    l.push("", "## Schema changes", "");
    for (const c of r.schema_changes) {
      for (const a of c.added) l.push(`- added: ${a}`);
      for (const d of c.removed) l.push(`- removed: ${d}`);
      for (const [n, from, to] of c.type_changed) l.push(`- type changed: ${n} ${from} → ${to}`);
    }
  }
  if (r.plan_warnings.length > 0) {
    l.push("", "## Plan warnings", "");
    for (const w of r.plan_warnings) l.push(`- [${w.rule}] ${w.message}`);
  }
  if (r.error_message !== null) {
    const fence = r.error_message.includes("```") ? "~~~~" : "```";
    l.push("", "## Error", "", fence, r.error_message, fence);
  }
  if (r.status === "failed") {
    l.push("", "## Resume", "");
    if (r.resume_command !== null) l.push("```sh", r.resume_command, "```");
    else l.push("No files were committed by this run: re-run it normally (no --resume needed).");
  }
  return l.join("\n") + "\n";
}

/** Where the report of a run goes: `<config dir>/.rivet/runs/<run_id>/`. */
export function runReportDir(configDir: string, runId: string): string {
  return path.join(configDir, ".rivet", "runs", runId.replace(/[\/\\]/g, "_"));
}

/**
 * Writes both files. Never throws: a failure comes back as `{ ok: false, error }` for the
 * caller to print as a warning (a report must never fail a run).
 */
export async function writeRunReport(
  configDir: string,
  input: RunReportInput,
): Promise<RunReportResult> {
  try {
    const report = buildRunReport(input);
    const dir = runReportDir(configDir, input.run_id);
    await Deno.mkdir(dir, { recursive: true });
    const jsonPath = path.join(dir, "summary.json");
    const mdPath = path.join(dir, "summary.md");
    await Deno.writeTextFile(jsonPath, JSON.stringify(report, null, 2) + "\n");
    await Deno.writeTextFile(mdPath, renderRunReportMarkdown(report));
    return { ok: true, dir, jsonPath, mdPath };
  } catch (err) {
    return {
      ok: false,
      error: new Error(`Cannot write the run report of run ${input.run_id} under ${configDir}`, {
        cause: err,
      }),
    };
  }
}
