// `rivet validate`: re-verifies manifest.json, _SUCCESS and the parts at each export's destination prefix, without the source (coordinator).
import { type Command, Option } from "commander";
import type { DestinationConfig } from "../config/config_types.ts";
import type { Verification, VerificationFailure } from "../manifest.ts";

export interface ValidateOptions {
  readonly configPath: string;
  readonly exportName?: string;
  readonly params: Readonly<Record<string, string>>;
  readonly format: "pretty" | "json";
  /** `-o FILE`: the JSON report goes to this file instead of stdout. */
  readonly output?: string;
  /** `--date YYYY-MM-DD`, as typed. */
  readonly date?: string;
  readonly runId?: string;
  /** `--prefix P`: the path/prefix to verify, no templating. */
  readonly prefix?: string;
}

/** Where the report goes; tests pass their own. */
export interface ValidateIo {
  stdout(text: string): Promise<void>;
  writeFile(path: string, text: string): Promise<void>;
}

export interface ValidatedExport {
  readonly export_name: string;
  readonly resolved_prefix: string;
  readonly verification: Verification;
}

export interface ValidateReport {
  readonly exports: ValidatedExport[];
  /** Exports whose destination could not be planned, opened or read. */
  readonly errors: { readonly export_name: string; readonly error: string }[];
  /** Streaming destinations (stdout): nothing stored, nothing to verify. */
  readonly skipped: { readonly export_name: string; readonly reason: string }[];
}

/** `--date YYYY-MM-DD` as midnight UTC of that day. */
export async function parseDateFlag(text: string): Promise<Date> {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (d === null || d.toISOString().slice(0, 10) !== text) {
    const { UsageError } = await import("../errors.ts");
    throw new UsageError(`invalid --date '${text}': expected a calendar day as YYYY-MM-DD`, {
      hint: "e.g. --date 2026-05-21",
    });
  }
  return d;
}

/** The destination path template of an export: the rule `planExport` (build_plan.ts) applies. */
function pathTemplate(d: DestinationConfig): string {
  return d.type === "local" ? d.path ?? d.prefix ?? "." : d.prefix ?? "";
}

/** Whether any export failed: a manifest that did not pass, or a prefix that could not be read. */
export function validateExitCode(report: ValidateReport): number {
  if (report.errors.length > 0) return 1;
  const bad = report.exports.some((e) => !e.verification.passed && !e.verification.legacy_run);
  return bad ? 1 : 0;
}

// ── pretty rendering (pure) ─────────────────────────────────────────────────────────────────

export function describeFailure(f: VerificationFailure): string {
  switch (f.kind) {
    case "part_missing":
      return `part_missing: ${f.path}`;
    case "part_size_mismatch":
      return `part_size_mismatch: ${f.path} (manifest ${f.expected} bytes, destination ${f.actual} bytes)`;
    case "part_checksum_mismatch":
      return `part_checksum_mismatch: ${f.path} (manifest md5 ${f.expected}, destination md5 ${f.actual})`;
    case "success_marker_malformed":
      return `success_marker_malformed: _SUCCESS holds ${JSON.stringify(f.body_preview)}`;
    case "success_marker_stale":
      return `success_marker_stale: _SUCCESS names ${f.marker_fingerprint}, manifest.json is ${f.manifest_fingerprint}`;
    case "manifest_self_inconsistent":
      return `manifest_self_inconsistent: ${f.reason}`;
    case "manifest_read_error":
    case "success_marker_read_error":
    case "list_prefix_error":
      return `${f.kind}: ${f.error}`;
    case "untracked_object":
      return `untracked_object: ${f.key} (${f.size_bytes} bytes; reported, not fatal)`;
    case "content_verification_unmet":
      return `content_verification_unmet: ${f.size_only} of ${f.total} parts only size-verified ` +
        "(verify: content needs an MD5 from the store)";
  }
}

const MARKER_KINDS = new Set([
  "success_marker_malformed",
  "success_marker_stale",
  "success_marker_read_error",
]);

/** The pretty report of spec 2.9. */
export function renderValidatePretty(report: ValidateReport): string[] {
  const lines: string[] = [];
  const label = (name: string, value: string) => `  ${(name + ":").padEnd(10)} ${value}`;
  for (const e of report.exports) {
    const v = e.verification;
    lines.push(`── ${e.export_name} ──`, label("prefix", e.resolved_prefix));
    if (v.legacy_run) {
      lines.push(label("status", "legacy_run (no manifest at destination — nothing to verify)"));
      continue;
    }
    const status = v.passed ? "PASSED" : v.manifest_found ? "FAILED" : "NO MANIFEST";
    lines.push(label("status", status));
    if (v.manifest_found) {
      lines.push(
        label(
          "parts",
          `${v.parts_verified} verified (${v.parts_md5_verified} md5, ${
            v.parts_verified - v.parts_md5_verified
          } size-only), ${v.parts_failed} failed`,
        ),
        label(
          "_SUCCESS",
          v.success_marker_consistent
            ? "consistent"
            : v.failures.some((f) => MARKER_KINDS.has(f.kind))
            ? "INCONSISTENT (see failures)"
            : "absent (no signal)",
        ),
        label(
          "manifest",
          v.manifest_self_consistent ? "self-consistent" : "INCONSISTENT (see failures)",
        ),
      );
    }
    for (const f of v.failures) {
      lines.push(
        label(f.kind === "untracked_object" ? "untracked" : "failure", describeFailure(f)),
      );
    }
  }
  for (const e of report.errors) {
    lines.push(`── ${e.export_name} ──`, label("status", "ERROR"), label("error", e.error));
  }
  for (const s of report.skipped) {
    lines.push(`── ${s.export_name} ──`, label("status", `skipped (${s.reason})`));
  }
  return lines;
}

// ── command ─────────────────────────────────────────────────────────────────────────────────

const defaultIo: ValidateIo = {
  stdout: async (text) => {
    const { printStdout } = await import("../observe/terminal.ts");
    await printStdout(text);
  },
  writeFile: (path, text) => Deno.writeTextFile(path, text),
};

/** Verifies every selected export's prefix; resolves to the exit code (spec 2.9). */
export async function validateCommand(
  opts: ValidateOptions,
  io: ValidateIo = defaultIo,
): Promise<number> {
  const { UsageError, describeError } = await import("../errors.ts");
  if (opts.format !== "pretty" && opts.format !== "json") {
    throw new UsageError(`invalid --format '${String(opts.format)}': expected pretty or json`);
  }
  if (opts.output !== undefined && opts.format !== "json") {
    throw new UsageError("-o/--output writes the JSON report: add --format json");
  }
  if (opts.prefix !== undefined && (opts.date !== undefined || opts.runId !== undefined)) {
    throw new UsageError(
      "--prefix skips templating and cannot be combined with --date or --run-id",
    );
  }
  const at = opts.date === undefined ? new Date() : await parseDateFlag(opts.date);

  const { loadConfigFile } = await import("../pipeline/config_io.ts");
  const { buildRunPlan } = await import("../plan/build_plan.ts");
  const { expandPathTemplate } = await import("../plan/naming.ts");
  const loaded = await loadConfigFile(opts.configPath, opts.params);
  if (
    opts.prefix !== undefined && opts.exportName === undefined && loaded.config.exports.length !== 1
  ) {
    throw new UsageError("--prefix needs a single export: add -e <name>", {
      hint: `exports in this config: ${loaded.config.exports.map((e) => e.name).join(", ")}`,
    });
  }
  // The source is never contacted: planning only needs its dialect.
  const plan = buildRunPlan(
    loaded,
    { type: loaded.config.source.type, url: "" },
    {
      ...(opts.exportName === undefined ? {} : { exportName: opts.exportName }),
      validate: false,
      reconcile: false,
      resume: false,
      force: false,
    },
    at,
  );

  const report: ValidateReport = { exports: [], errors: [], skipped: [] };
  for (const r of plan.rejected) report.errors.push({ export_name: r.name, error: r.error });
  const { openDestination } = await import("../pipeline/factories.ts");
  const { verifyDestinationPrefix } = await import("../destination/verify_prefix.ts");
  for (const e of plan.exports) {
    if (e.destination.type === "stdout") {
      report.skipped.push({
        export_name: e.name,
        reason: "stdout destination: nothing is stored to verify",
      });
      continue;
    }
    const template = pathTemplate(e.destination);
    if (opts.prefix === undefined && opts.runId === undefined && template.includes("{run_id}")) {
      report.errors.push({
        export_name: e.name,
        error: `the destination path '${template}' contains {run_id}: pass --run-id <id> ` +
          "(or --prefix) to say which run to verify",
      });
      continue;
    }
    const resolvedPath = opts.prefix ?? expandPathTemplate(template, {
      exportName: e.name,
      runId: opts.runId ?? e.runId,
      at,
    });
    let dest;
    try {
      dest = await openDestination({ ...e.destination, resolvedPath });
    } catch (err) {
      report.errors.push({
        export_name: e.name,
        error: `cannot open destination '${resolvedPath}': ${describeError(err)}`,
      });
      continue;
    }
    try {
      const verification = await verifyDestinationPrefix(dest, e.verify);
      report.exports.push({ export_name: e.name, resolved_prefix: dest.uri, verification });
    } finally {
      await dest.close().catch(() => {});
    }
  }

  if (opts.format === "json") {
    const text = JSON.stringify(report, null, 2) + "\n";
    if (opts.output !== undefined) await io.writeFile(opts.output, text);
    else await io.stdout(text);
  } else {
    await io.stdout(renderValidatePretty(report).join("\n"));
  }
  return validateExitCode(report);
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerValidate(
  program: Command,
  setExit: (p: Promise<number>) => void,
  io: ValidateIo = defaultIo,
): void {
  program
    .command("validate")
    .description("Re-verify manifest.json, _SUCCESS and the parts at each destination prefix")
    .requiredOption("-c, --config <path>", "path to rivet.yaml")
    .option("-e, --export <name>", "validate only this export")
    .option("-p, --param <KEY=VALUE>", "value for a ${KEY} placeholder (repeatable)", collect, [])
    .addOption(
      new Option("--format <format>", "report format").choices(["pretty", "json"]).default(
        "pretty",
      ),
    )
    .option("-o, --output <file>", "write the JSON report to this file (with --format json)")
    .option("--date <YYYY-MM-DD>", "resolve {date} in destination paths to this day")
    .option("--run-id <id>", "resolve {run_id} in destination paths to this run id")
    .option("--prefix <path>", "verify this path/prefix as is (one export; no templating)")
    .action((o: Record<string, unknown>) => {
      setExit((async () => {
        const { parseParams } = await import("./run_cli.ts");
        const str = (k: string) => o[k] === undefined ? {} : { [k]: String(o[k]) };
        return await validateCommand({
          configPath: o.config as string,
          ...(o.export === undefined ? {} : { exportName: String(o.export) }),
          params: parseParams(o.param as string[]),
          format: o.format as "pretty" | "json",
          ...str("output"),
          ...str("date"),
          ...str("runId"),
          ...str("prefix"),
        }, io);
      })());
    });
}
