// The sealed plan artifact of `rivet plan` / `rivet apply`: build, redact, serialize, parse, age and rebuild (planning layer, pure).
import type { LoadedConfig } from "../config/config_types.ts";
import { ConfigError, redact } from "../errors.ts";
import type { SourceConnection } from "../source/source.ts";
import type { Hash64 } from "./chunk_plan.ts";
import { makeRunId } from "./naming.ts";
import type { ExportPlan, RunPlan } from "./plan_types.ts";

/** The `artifact` tag every plan file carries; anything else is not a Rivet plan. */
export const PLAN_ARTIFACT_KIND = "rivet-plan";
/** Bumped when a field changes meaning; `apply` refuses versions it does not know. */
export const PLAN_ARTIFACT_VERSION = 1;
/** How long a plan stays valid (spec 2.7: `expires_at` = created + 24 h). */
export const PLAN_LIFETIME_MS = 24 * 3_600_000;
/** Below this age `apply` is silent; from here to the lifetime it warns (spec 2.8). */
export const PLAN_WARN_AGE_MS = 3_600_000;

/** What `rivet plan` computed beyond the resolved plan: chunk ranges and the cursor snapshot. */
export interface ComputedPlan {
  /** The chunk column after primary-key resolution (chunked), else null. */
  readonly chunk_column: string | null;
  /** Inclusive `[start, end]` keys as decimal text (bigint-safe); `["NULL","NULL"]` for the NULL chunk. */
  readonly chunk_ranges: readonly (readonly [string, string])[];
  readonly chunk_count: number;
  /** The stored incremental cursor the plan was built from; null for a first run or another mode. */
  readonly cursor_snapshot: string | null;
  /** Rows the export is expected to read (chunked: the COUNT(*) probe), null when unknown. */
  readonly row_estimate: number | null;
}

/** One export of the artifact. */
export interface ArtifactExport {
  readonly export_name: string;
  /** Mode label: full | incremental | chunked | timewindow. */
  readonly strategy: string;
  /** The chunk plan fingerprint (chunked), else "". */
  readonly plan_fingerprint: string;
  /** The resolved export plan exactly as `rivet run` would execute it (no source URL inside). */
  readonly resolved_plan: ExportPlan;
  readonly computed: ComputedPlan;
  readonly diagnostics: { readonly warnings: readonly string[] };
}

/** The whole artifact: every selected export in one JSON document (spec 11.2 #11). */
export interface PlanArtifact {
  readonly rivet_version: string;
  readonly artifact: typeof PLAN_ARTIFACT_KIND;
  readonly artifact_version: number;
  readonly plan_id: string;
  readonly created_at: string;
  readonly expires_at: string;
  /** Absolute path of the config the plan was built from; `apply` reloads it. */
  readonly config_path: string;
  /** xxh3-64 of the loaded config (see `configFingerprint`). */
  readonly config_fingerprint: string;
  /** Names of the `-p` parameters used (values are never stored: `apply` takes them again). */
  readonly params: readonly string[];
  /** Source engine and URL with the credentials replaced by REDACTED (for people, not for apply). */
  readonly source: { readonly type: "postgres" | "mysql"; readonly url: string };
  readonly warnings: readonly string[];
  readonly exports: readonly ArtifactExport[];
}

/** Everything `buildPlanArtifact` needs; the caller reads the clock and draws the id. */
export interface PlanArtifactInput {
  readonly rivetVersion: string;
  readonly planId: string;
  readonly now: Date;
  readonly configPath: string;
  readonly configFingerprint: string;
  readonly paramNames: readonly string[];
  readonly runPlan: RunPlan;
  /** Per export name: the computed values and the chunk fingerprint ("" when not chunked). */
  readonly computed: Readonly<Record<string, { computed: ComputedPlan; fingerprint: string }>>;
  /** Secret values (passwords) to scrub wherever they appear. */
  readonly secrets: readonly string[];
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

/** A connection URL with its userinfo (`user:pass@` or `user@`) replaced by `REDACTED@`. */
export function redactUrl(url: string): string {
  return redact(url.replace(USERINFO, "$1REDACTED@"));
}

/** The password of a connection URL, decoded, or null. */
export function urlPassword(url: string): string | null {
  try {
    const u = new URL(url);
    return u.password === "" ? null : decodeURIComponent(u.password);
  } catch {
    return null;
  }
}

const SECRET_KEYS = new Set(["password", "url"]);
const ANY_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]*@/gi;

/**
 * `text` with URL passwords (`scheme://user:pass@` → `scheme://REDACTED@`) and the given secrets
 * replaced. Unlike `redact`, `password=` words are left alone: this text may be SQL that runs.
 */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text.replace(ANY_USERINFO, "$1REDACTED@");
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join("REDACTED");
  return out;
}

/**
 * A deep copy of `value` with URL passwords and the given secrets replaced in every string, and
 * every `password`/`url` key removed. `stripped` collects the paths that changed, for the
 * warning `rivet plan` prints.
 */
export function redactDeep(
  value: unknown,
  secrets: readonly string[],
  stripped: string[],
  at = "",
): unknown {
  if (typeof value === "string") {
    const out = scrub(value, secrets);
    if (out !== value) stripped.push(at || "(value)");
    return out;
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => redactDeep(v, secrets, stripped, `${at}[${i}]`));
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const where = at ? `${at}.${k}` : k;
      if (SECRET_KEYS.has(k) && v !== undefined && v !== null) {
        stripped.push(where);
        continue;
      }
      out[k] = redactDeep(v, secrets, stripped, where);
    }
    return out;
  }
  return value;
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) {
      sorted[k] = (v as Record<string, unknown>)[k];
    }
    return sorted;
  });
}

/**
 * The config fingerprint: xxh3-64 of the canonical JSON of the loaded config (after `${}`
 * substitution) with the source credentials taken out, the text of every query file, and the
 * source URL without credentials. A changed query, chunk size, destination or database changes
 * it; a rotated password does not.
 */
export function configFingerprint(
  loaded: LoadedConfig,
  source: SourceConnection,
  hash: Hash64,
): string {
  const { password: _p, url: _u, ...sourceRest } = loaded.config.source;
  const doc = {
    config: { ...loaded.config, source: sourceRest },
    query_files: loaded.queryFiles,
    source_url: redactUrl(source.url),
  };
  return hash(canonicalJson(doc));
}

/** The row estimate of a chunk plan: the COUNT(*) probe when known, else the key span (spec 2.7). */
export function chunkRowEstimate(
  ranges: readonly (readonly [string, string])[],
  rowCount: bigint | null,
): number | null {
  if (rowCount !== null) return Number(rowCount);
  const keyed = ranges.filter(([s]) => s !== "NULL");
  if (keyed.length === 0) return null;
  return Number(BigInt(keyed.at(-1)![1]) - BigInt(keyed[0]![0]) + 1n);
}

/** 16 random bytes the caller drew, as 32 lowercase hex characters. */
export function planIdFrom(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Builds the artifact from a run plan that has no rejected export. The source URL is kept only
 * redacted; everything else is scrubbed of the given secrets. Returns the paths that were
 * stripped so the caller can warn.
 */
export function buildPlanArtifact(
  input: PlanArtifactInput,
): { artifact: PlanArtifact; stripped: string[] } {
  if (input.runPlan.rejected.length > 0) {
    throw new RangeError("a plan artifact cannot hold rejected exports");
  }
  const stripped: string[] = [];
  const exports: ArtifactExport[] = input.runPlan.exports.map((e) => {
    const c = input.computed[e.name];
    return {
      export_name: e.name,
      strategy: e.mode,
      plan_fingerprint: c?.fingerprint ?? "",
      resolved_plan: redactDeep(e, input.secrets, stripped, `exports.${e.name}`) as ExportPlan,
      computed: c?.computed ?? {
        chunk_column: null,
        chunk_ranges: [],
        chunk_count: 0,
        cursor_snapshot: null,
        row_estimate: null,
      },
      diagnostics: { warnings: [] },
    };
  });
  const artifact: PlanArtifact = {
    rivet_version: input.rivetVersion,
    artifact: PLAN_ARTIFACT_KIND,
    artifact_version: PLAN_ARTIFACT_VERSION,
    plan_id: input.planId,
    created_at: input.now.toISOString(),
    expires_at: new Date(input.now.getTime() + PLAN_LIFETIME_MS).toISOString(),
    config_path: input.configPath,
    config_fingerprint: input.configFingerprint,
    params: [...input.paramNames].sort(),
    source: { type: input.runPlan.source.type, url: redactUrl(input.runPlan.source.url) },
    warnings: input.runPlan.warnings.map((w) => scrub(w, input.secrets)),
    exports,
  };
  if (input.runPlan.source.url !== artifact.source.url) stripped.push("source.url");
  return { artifact, stripped };
}

/** The artifact as the text written to disk (pretty JSON, trailing newline). */
export function serializeArtifact(a: PlanArtifact): string {
  return JSON.stringify(a, null, 2) + "\n";
}

function notAPlan(where: string, why: string): ConfigError {
  return new ConfigError(`'${where}' is not a valid Rivet plan artifact: ${why}`, {
    hint: "create one with `rivet plan -c <config> --format json -o <file>`",
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Parses and checks the shape of a plan file's text; throws a ConfigError naming `where`. */
export function parseArtifact(text: string, where: string): PlanArtifact {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw notAPlan(where, `not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(raw) || raw.artifact !== PLAN_ARTIFACT_KIND) {
    throw notAPlan(where, `it has no "artifact": "${PLAN_ARTIFACT_KIND}" field`);
  }
  if (raw.artifact_version !== PLAN_ARTIFACT_VERSION) {
    throw notAPlan(
      where,
      `artifact_version ${String(raw.artifact_version)} is not supported by this rivet ` +
        `(expects ${PLAN_ARTIFACT_VERSION}); plan again with this version`,
    );
  }
  for (const k of ["plan_id", "created_at", "expires_at", "config_path", "config_fingerprint"]) {
    if (typeof raw[k] !== "string" || raw[k] === "") {
      throw notAPlan(where, `"${k}" is missing or not a string`);
    }
  }
  if (Number.isNaN(Date.parse(raw.created_at as string))) {
    throw notAPlan(where, `"created_at" is not a timestamp`);
  }
  if (!isObject(raw.source) || (raw.source.type !== "postgres" && raw.source.type !== "mysql")) {
    throw notAPlan(where, `"source.type" must be postgres or mysql`);
  }
  if (!Array.isArray(raw.exports) || raw.exports.length === 0) {
    throw notAPlan(where, `"exports" is missing or empty`);
  }
  for (const [i, e] of raw.exports.entries()) {
    if (
      !isObject(e) || typeof e.export_name !== "string" || !isObject(e.resolved_plan) ||
      !isObject(e.computed) || !isObject((e.resolved_plan as Record<string, unknown>).strategy) ||
      e.resolved_plan.name !== e.export_name
    ) {
      throw notAPlan(where, `exports[${i}] is incomplete`);
    }
    const c = e.computed as Record<string, unknown>;
    if (!Array.isArray(c.chunk_ranges)) {
      throw notAPlan(where, `exports[${i}].computed.chunk_ranges is missing`);
    }
  }
  if (!Array.isArray(raw.params)) throw notAPlan(where, `"params" is missing`);
  return raw as unknown as PlanArtifact;
}

export type Staleness =
  | { readonly level: "fresh" }
  | { readonly level: "warn" | "stale"; readonly message: string };

/**
 * How old the plan is at `now` (spec 2.8): under 1 h fresh; 1–24 h a warning; 24 h or more
 * stale (`… hours old`, or `… days old (created YYYY-MM-DD)` from 48 h). A plan from the future
 * (clock skew) counts as fresh.
 */
export function stalenessOf(createdAt: string, now: Date): Staleness {
  const age = now.getTime() - Date.parse(createdAt);
  if (!(age >= PLAN_WARN_AGE_MS)) return { level: "fresh" };
  const hours = Math.floor(age / 3_600_000);
  if (age < PLAN_LIFETIME_MS) {
    return {
      level: "warn",
      message: `the plan is ${hours} hour${hours === 1 ? "" : "s"} old; data may have changed`,
    };
  }
  const text = hours >= 48
    ? `${Math.floor(hours / 24)} days old (created ${createdAt.slice(0, 10)})`
    : `${hours} hours old`;
  return { level: "stale", message: `the plan is ${text}, past its 24 h lifetime` };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The run plan `apply` executes: the artifact's resolved export plans with the source the
 * caller resolved from the config (the artifact has no credentials) and a fresh run id per
 * export taken at `now` (a plan may be applied more than once; run ids must not repeat).
 */
export function runPlanFromArtifact(a: PlanArtifact, source: SourceConnection, now: Date): RunPlan {
  const exports = a.exports.map((e) => ({
    ...structuredClone(e.resolved_plan),
    runId: makeRunId(e.export_name, now),
  }));
  return deepFreeze({ source, exports, rejected: [], warnings: [...a.warnings] });
}
