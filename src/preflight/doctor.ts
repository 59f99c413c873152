// Connectivity and credential probes for `rivet doctor`: source connect + SELECT 1, a tiny probe object per destination (preflight layer: reads database metadata, writes no data or state — only the doctor probe object, removed again).
import type { ExportConfig, LoadedConfig } from "../config/config_types.ts";
import type { DestinationPlan } from "../plan/plan_types.ts";
import { expandPathTemplate, makeRunId } from "../plan/naming.ts";
import type { Source, SourceConnection } from "../source/source.ts";
import type { Destination } from "../destination/destination.ts";
import { describeError, redact, RivetError } from "../errors.ts";
import * as path from "node:path";

/** The object the destination probe writes (2 bytes, `ok`) and removes again. */
export const PROBE_OBJECT = ".rivet_doctor_probe";

/** One `[OK]` / `[FAIL]` line of the doctor report. */
export interface DoctorCheck {
  readonly ok: boolean;
  /** `Config parsed successfully`, `Source auth (Postgres)`, `Destination Local(./out)`. */
  readonly label: string;
  readonly category?: string;
  readonly message?: string;
  readonly hint?: string;
}

export type SourceCategory = "auth error" | "connectivity error" | "error";
export type DestinationCategory =
  | "auth error"
  | "bucket not found"
  | "path not found"
  | "connectivity error"
  | "error";

/** Each error in a cause chain, outermost first. */
function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let cur: unknown = err;
  while (cur !== undefined && cur !== null && out.length < 8 && !out.includes(cur)) {
    out.push(cur);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return out;
}

interface ErrorFields {
  code?: unknown;
  errno?: unknown;
  name?: unknown;
  status?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

function fields(e: unknown): ErrorFields {
  return typeof e === "object" && e !== null ? e as ErrorFields : {};
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
  "ETIMEOUT",
]);

const MYSQL_AUTH_ERRNOS = new Set([1044, 1045, 1698, 1251, 1862]);

function isNetwork(e: unknown): boolean {
  const f = fields(e);
  if (typeof f.code === "string" && NETWORK_CODES.has(f.code)) return true;
  return e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.TimedOut || e instanceof Deno.errors.NotConnected;
}

/** Spec 2.5 source categories, from driver codes in the cause chain (never from message text). */
export function sourceCategory(err: unknown): SourceCategory {
  for (const e of chain(err)) {
    const f = fields(e);
    const code = typeof f.code === "string" ? f.code : "";
    if (/^28[0-9A-Z]{3}$/.test(code)) return "auth error"; // PG invalid authorization
    if (typeof f.errno === "number" && MYSQL_AUTH_ERRNOS.has(f.errno)) return "auth error";
    if (code === "ER_ACCESS_DENIED_ERROR" || code === "ER_DBACCESS_DENIED_ERROR") {
      return "auth error";
    }
    if (/^08[0-9A-Z]{3}$/.test(code) || isNetwork(e)) return "connectivity error";
  }
  return "error";
}

/** Spec 2.5 destination categories, from error names, status codes and errno codes in the cause chain. */
export function destinationCategory(err: unknown): DestinationCategory {
  for (const e of chain(err)) {
    const f = fields(e);
    const name = typeof f.name === "string" ? f.name : "";
    const code = typeof f.code === "string" ? f.code : "";
    const status = typeof f.code === "number"
      ? f.code
      : typeof f.status === "number"
      ? f.status
      : f.$metadata?.httpStatusCode;
    if (name === "NoSuchBucket") return "bucket not found";
    if (
      [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "Forbidden",
        "ExpiredToken",
        "InvalidToken",
        "CredentialsProviderError",
      ].includes(name) || status === 401 || status === 403
    ) return "auth error";
    if (status === 404) return "bucket not found";
    if (
      e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory ||
      code === "ENOENT" || code === "ENOTDIR"
    ) return "path not found";
    if (e instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
      return "auth error";
    }
    if (isNetwork(e)) return "connectivity error";
  }
  return "error";
}

const SOURCE_HINTS: Readonly<Record<SourceCategory, string>> = {
  "auth error":
    "check the user name and password in the source URL (the variable named by source.url_env, " +
    "or source.password_env), and that this user may log in from this host",
  "connectivity error":
    "check the host and port in the source URL, that the server is running, and that this " +
    "machine can reach it (firewall, VPN, security group)",
  "error": "run with RIVET_LOG=debug for details",
};

function label(engine: "postgres" | "mysql"): string {
  return engine === "postgres" ? "Postgres" : "Mysql";
}

/** A failed source check for an error that happened before connecting (e.g. url_env unset). */
export function sourceFailure(engine: "postgres" | "mysql", err: unknown): DoctorCheck {
  const category = sourceCategory(err);
  const hint = err instanceof RivetError && err.hint
    ? err.hint
    : err instanceof RivetError && err.exitClass === "config"
    ? "fix the source: block of the config, or the environment variable it names"
    : SOURCE_HINTS[category];
  return {
    ok: false,
    label: `Source auth (${label(engine)})`,
    category,
    message: describeError(err),
    hint,
  };
}

/** Connects and runs `SELECT 1`. */
export async function probeSource(
  conn: SourceConnection,
  open: (c: SourceConnection) => Promise<Source>,
): Promise<DoctorCheck> {
  let source: Source | undefined;
  try {
    source = await open(conn);
    const one = await source.scalar("SELECT 1");
    if (one !== "1") throw new Error(`SELECT 1 returned ${one ?? "NULL"}`);
    return { ok: true, label: `Source auth (${label(conn.type)})` };
  } catch (err) {
    const category = sourceCategory(err);
    const specific = err instanceof RivetError && err.hint ? ` (${err.hint})` : "";
    return {
      ok: false,
      label: `Source auth (${label(conn.type)})`,
      category,
      message: describeError(err),
      hint: SOURCE_HINTS[category] + specific,
    };
  } finally {
    await source?.close().catch(() => {});
  }
}

/** The destination of one export with its path template expanded, as `run` would write to it. */
export function destinationPlanOf(
  loaded: LoadedConfig,
  e: ExportConfig,
  now: Date,
): DestinationPlan {
  const d = e.destination;
  const template = d.type === "stdout"
    ? ""
    : d.type === "local"
    ? d.path ?? d.prefix ?? "."
    : d.prefix ?? "";
  const runId = makeRunId(e.name, now);
  return {
    ...d,
    resolvedPath: expandPathTemplate(template, { exportName: e.name, runId, at: now }),
    ...(d.credentials_file
      ? { credentialsFilePath: path.resolve(loaded.dir, d.credentials_file) }
      : {}),
  };
}

/** `Local(./out)`, `S3(bucket)`, `GCS(bucket)`, `Azure(container)`. */
export function destinationLabel(p: DestinationPlan): string {
  switch (p.type) {
    case "local":
      return `Local(${p.resolvedPath})`;
    case "s3":
      return `S3(${p.bucket ?? ""})`;
    case "gcs":
      return `GCS(${p.bucket ?? ""})`;
    case "azure":
      return `Azure(${p.bucket ?? p.prefix ?? ""})`;
    default:
      return p.type;
  }
}

/**
 * The destinations to probe: stdout skipped, object stores de-duplicated by (type, bucket,
 * endpoint), local directories by their expanded path.
 */
export function distinctDestinations(loaded: LoadedConfig, now: Date): DestinationPlan[] {
  const seen = new Set<string>();
  const out: DestinationPlan[] = [];
  for (const e of loaded.config.exports) {
    const p = destinationPlanOf(loaded, e, now);
    if (p.type === "stdout") continue;
    const key = p.type === "local"
      ? `local|${path.resolve(loaded.dir, p.resolvedPath)}`
      : `${p.type}|${p.bucket ?? ""}|${p.endpoint ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** Writes the 2-byte probe object at the destination prefix and removes it again. */
export async function probeDestination(
  plan: DestinationPlan,
  open: (p: DestinationPlan) => Promise<Destination>,
): Promise<DoctorCheck> {
  const name = `Destination ${destinationLabel(plan)}`;
  let dest: Destination | undefined;
  try {
    dest = await open(plan);
    await dest.put(PROBE_OBJECT, new TextEncoder().encode("ok"));
    await dest.delete(PROBE_OBJECT);
    return { ok: true, label: name };
  } catch (err) {
    const category = destinationCategory(err);
    return {
      ok: false,
      label: name,
      category,
      message: describeError(err),
      ...(err instanceof RivetError && err.hint ? { hint: err.hint } : {}),
    };
  } finally {
    await dest?.close().catch(() => {});
  }
}

/** The doctor report (spec 2.5), every line redacted. */
export function renderDoctor(configPath: string, checks: readonly DoctorCheck[]): string[] {
  const lines = [`rivet doctor: verifying auth for config '${configPath}'`, ""];
  for (const c of checks) {
    if (c.ok) {
      lines.push(`[OK]  ${c.label}`);
      continue;
    }
    if (c.label === "Config") {
      lines.push(`[FAIL] Config error: ${c.message ?? ""}`);
    } else if (c.label.startsWith("Destination ")) {
      lines.push(`[FAIL] ${c.label} -- ${c.category ?? "error"}: ${c.message ?? ""}`);
    } else {
      lines.push(`[FAIL] Source ${c.category ?? "error"}: ${c.message ?? ""}`);
    }
    if (c.hint) lines.push(`       Hint: ${c.hint}`);
  }
  lines.push("");
  lines.push(
    checks.every((c) => c.ok)
      ? "All checks passed."
      : "Some checks failed. Fix the issues above before running exports.",
  );
  return lines.map((l) => redact(l));
}
