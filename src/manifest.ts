// manifest.json and _SUCCESS of spec 6.3 and the prefix verification of spec 8.1, as pure data and functions (contract types).
import { xxhash3 } from "hash-wasm";

export type ManifestStatus = "success" | "failed" | "interrupted";
export type PartStatus = "committed" | "quarantined";

export interface ManifestPart {
  readonly part_id: number;
  /** Relative to the destination prefix. */
  readonly path: string;
  readonly rows: number;
  readonly size_bytes: number;
  /** `xxh3:<16 hex>` of the part's bytes. */
  readonly content_fingerprint: string;
  /** Standard base64 MD5 of the part's bytes, `""` when unknown. */
  readonly content_md5: string;
  readonly status: PartStatus;
}

/** manifest_version 1; the key order here is the order in the file. */
export interface Manifest {
  readonly manifest_version: 1;
  readonly run_id: string;
  readonly export_name: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly status: ManifestStatus;
  readonly source: {
    readonly engine: "postgres" | "mysql";
    readonly schema: string | null;
    readonly table: string | null;
  };
  readonly destination: { readonly kind: string; readonly uri: string };
  readonly format: "parquet" | "csv";
  readonly compression: string;
  readonly schema_fingerprint: string;
  readonly row_count: number;
  readonly part_count: number;
  readonly parts: readonly ManifestPart[];
}

export const MANIFEST_NAME = "manifest.json";
export const SUCCESS_NAME = "_SUCCESS";
export const DOCTOR_PROBE_NAME = ".rivet_doctor_probe";

/** A part as the pipeline records it; `part_id` is assigned by `buildManifest` when absent. */
export interface ManifestPartInput {
  readonly part_id?: number;
  readonly path: string;
  readonly rows: number;
  readonly size_bytes: number;
  readonly content_fingerprint: string;
  readonly content_md5?: string;
  readonly status?: PartStatus;
}

export interface ManifestInput {
  readonly runId: string;
  readonly exportName: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /** The run summary's status: `success`, `failed`, or anything else (→ `interrupted`). */
  readonly runStatus: string;
  readonly engine: "postgres" | "mysql";
  readonly destination: { readonly kind: string; readonly uri: string };
  readonly format: "parquet" | "csv";
  readonly compression: string;
  readonly schemaFingerprint: string;
  /** In commit order. */
  readonly parts: readonly ManifestPartInput[];
}

/** The manifest of one export job (spec 6.3), frozen. */
export function buildManifest(input: ManifestInput): Manifest {
  const dot = input.exportName.indexOf(".");
  const qualified = dot > 0 && dot < input.exportName.length - 1;
  let maxId = 0;
  for (const p of input.parts) if (p.part_id !== undefined) maxId = Math.max(maxId, p.part_id);
  const parts = input.parts.map((p): ManifestPart => {
    const part_id = p.part_id ?? ++maxId;
    return Object.freeze({
      part_id,
      path: p.path,
      rows: p.rows,
      size_bytes: p.size_bytes,
      content_fingerprint: p.content_fingerprint,
      content_md5: p.content_md5 ?? "",
      status: p.status ?? "committed",
    });
  });
  const committed = parts.filter((p) => p.status === "committed");
  return deepFreeze({
    manifest_version: 1,
    run_id: input.runId,
    export_name: input.exportName,
    started_at: input.startedAt.toISOString(),
    finished_at: input.finishedAt.toISOString(),
    status: input.runStatus === "success"
      ? "success"
      : input.runStatus === "failed"
      ? "failed"
      : "interrupted",
    source: {
      engine: input.engine,
      schema: qualified ? input.exportName.slice(0, dot) : null,
      table: qualified ? input.exportName.slice(dot + 1) : null,
    },
    destination: { kind: input.destination.kind, uri: input.destination.uri },
    format: input.format,
    compression: input.compression,
    schema_fingerprint: input.schemaFingerprint,
    row_count: committed.reduce((n, p) => n + p.rows, 0),
    part_count: committed.length,
    parts,
  });
}

/** The bytes written as `manifest.json`: JSON with a 2-space indent, keys in contract order. */
export function serializeManifest(m: Manifest): Uint8Array {
  const ordered = {
    manifest_version: m.manifest_version,
    run_id: m.run_id,
    export_name: m.export_name,
    started_at: m.started_at,
    finished_at: m.finished_at,
    status: m.status,
    source: { engine: m.source.engine, schema: m.source.schema, table: m.source.table },
    destination: { kind: m.destination.kind, uri: m.destination.uri },
    format: m.format,
    compression: m.compression,
    schema_fingerprint: m.schema_fingerprint,
    row_count: m.row_count,
    part_count: m.part_count,
    parts: m.parts.map((p) => ({
      part_id: p.part_id,
      path: p.path,
      rows: p.rows,
      size_bytes: p.size_bytes,
      content_fingerprint: p.content_fingerprint,
      content_md5: p.content_md5,
      status: p.status,
    })),
  };
  return new TextEncoder().encode(JSON.stringify(ordered, null, 2));
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Reads a manifest, checking every field's type. Rejects `manifest_version` other than 1.
 * Self-consistency (counts, unique ids) is checked by `manifestProblems`, not here.
 */
export function parseManifest(text: string): ParseResult<Manifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const errors: string[] = [];
  const obj = (v: unknown, at: string): Record<string, unknown> => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      return v as Record<string, unknown>;
    }
    errors.push(`${at} must be an object`);
    return {};
  };
  const str = (o: Record<string, unknown>, k: string, at: string): string => {
    const v = o[k];
    if (typeof v !== "string") errors.push(`${at}${k} must be a string`);
    return typeof v === "string" ? v : "";
  };
  const strOrNull = (o: Record<string, unknown>, k: string, at: string): string | null => {
    const v = o[k];
    if (v !== null && typeof v !== "string") errors.push(`${at}${k} must be a string or null`);
    return typeof v === "string" ? v : null;
  };
  const count = (o: Record<string, unknown>, k: string, at: string): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      errors.push(`${at}${k} must be a non-negative integer`);
      return 0;
    }
    return v;
  };
  const oneOf = <T extends string>(
    o: Record<string, unknown>,
    k: string,
    at: string,
    allowed: readonly T[],
  ): T => {
    const v = o[k];
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      errors.push(`${at}${k} must be one of ${allowed.join(", ")}`);
      return allowed[0]!;
    }
    return v as T;
  };
  const root = obj(raw, "the manifest");
  if (errors.length > 0) return { ok: false, error: errors.join("; ") };
  if (root.manifest_version !== 1) {
    return {
      ok: false,
      error: `unsupported manifest_version ${JSON.stringify(root.manifest_version)} (expected 1)`,
    };
  }
  const source = obj(root.source, "source");
  const destination = obj(root.destination, "destination");
  if (!Array.isArray(root.parts)) errors.push("parts must be an array");
  const parts = (Array.isArray(root.parts) ? root.parts : []).map((v, i): ManifestPart => {
    const at = `parts[${i}].`;
    const p = obj(v, `parts[${i}]`);
    return {
      part_id: count(p, "part_id", at),
      path: str(p, "path", at),
      rows: count(p, "rows", at),
      size_bytes: count(p, "size_bytes", at),
      content_fingerprint: str(p, "content_fingerprint", at),
      content_md5: str(p, "content_md5", at),
      status: oneOf(p, "status", at, ["committed", "quarantined"] as const),
    };
  });
  const manifest: Manifest = {
    manifest_version: 1,
    run_id: str(root, "run_id", ""),
    export_name: str(root, "export_name", ""),
    started_at: str(root, "started_at", ""),
    finished_at: str(root, "finished_at", ""),
    status: oneOf(root, "status", "", ["success", "failed", "interrupted"] as const),
    source: {
      engine: oneOf(source, "engine", "source.", ["postgres", "mysql"] as const),
      schema: strOrNull(source, "schema", "source."),
      table: strOrNull(source, "table", "source."),
    },
    destination: {
      kind: str(destination, "kind", "destination."),
      uri: str(destination, "uri", "destination."),
    },
    format: oneOf(root, "format", "", ["parquet", "csv"] as const),
    compression: str(root, "compression", ""),
    schema_fingerprint: str(root, "schema_fingerprint", ""),
    row_count: count(root, "row_count", ""),
    part_count: count(root, "part_count", ""),
    parts,
  };
  if (errors.length > 0) return { ok: false, error: errors.join("; ") };
  return { ok: true, value: deepFreeze(manifest) };
}

/** What makes a parsed manifest disagree with itself (spec 8.1 step 3); empty when consistent. */
export function manifestProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const committed = m.parts.filter((p) => p.status === "committed");
  if (m.part_count !== committed.length) {
    problems.push(`part_count is ${m.part_count} but ${committed.length} parts are committed`);
  }
  const rows = committed.reduce((n, p) => n + p.rows, 0);
  if (m.row_count !== rows) {
    problems.push(`row_count is ${m.row_count} but the committed parts hold ${rows} rows`);
  }
  const ids = new Set<number>();
  for (const p of m.parts) {
    if (ids.has(p.part_id)) problems.push(`part_id ${p.part_id} appears more than once`);
    ids.add(p.part_id);
  }
  return problems;
}

/** `xxh3:<16 lowercase hex>` of some bytes. */
export async function xxh3Fingerprint(bytes: Uint8Array): Promise<string> {
  return `xxh3:${await xxhash3(bytes)}`;
}

/** The body of `_SUCCESS`: `xxh3:<16 hex of xxh3_64(manifest bytes)>\n`. */
export async function successMarkerBody(manifestBytes: Uint8Array): Promise<string> {
  return `${await xxh3Fingerprint(manifestBytes)}\n`;
}

const MARKER = /^xxh3:[0-9a-f]{16}$/;

/**
 * The fingerprint a `_SUCCESS` body carries, or null when malformed. Trailing whitespace and
 * CRLF are tolerated; leading whitespace, a BOM, extra data and uppercase hex are not.
 */
export function parseSuccessMarker(text: string): string | null {
  const body = text.replace(/[ \t\r\n]+$/, "");
  return MARKER.test(body) ? body : null;
}

// ---- verification (spec 8.1) -------------------------------------------------------------------

export type VerificationFailure =
  | { readonly kind: "part_missing"; readonly path: string }
  | {
    readonly kind: "part_size_mismatch";
    readonly path: string;
    readonly expected: number;
    readonly actual: number;
  }
  | {
    readonly kind: "part_checksum_mismatch";
    readonly path: string;
    readonly expected: string;
    readonly actual: string;
  }
  | { readonly kind: "success_marker_malformed"; readonly body_preview: string }
  | {
    readonly kind: "success_marker_stale";
    readonly marker_fingerprint: string;
    readonly manifest_fingerprint: string;
  }
  | { readonly kind: "manifest_self_inconsistent"; readonly reason: string }
  | { readonly kind: "manifest_read_error"; readonly error: string }
  | { readonly kind: "success_marker_read_error"; readonly error: string }
  | { readonly kind: "list_prefix_error"; readonly error: string }
  | { readonly kind: "untracked_object"; readonly key: string; readonly size_bytes: number }
  | {
    readonly kind: "content_verification_unmet";
    readonly size_only: number;
    readonly total: number;
  };

export interface Verification {
  readonly manifest_found: boolean;
  readonly legacy_run: boolean;
  readonly parts_verified: number;
  readonly parts_md5_verified: number;
  readonly parts_failed: number;
  readonly success_marker_consistent: boolean;
  readonly manifest_self_consistent: boolean;
  readonly passed: boolean;
  readonly failures: readonly VerificationFailure[];
}

/** An object as listed (name relative to the prefix). */
export interface ListedObject {
  readonly name: string;
  readonly size: number;
  /** Base64 or 32-hex MD5 when the store reports one. */
  readonly md5?: string;
}

/** A read that failed (not "absent": that is null). */
export interface ReadFailure {
  readonly error: string;
}

export interface VerificationInput {
  /** Bytes of `manifest.json`, null when absent. */
  readonly manifest: Uint8Array | null | ReadFailure;
  /** Bytes of `_SUCCESS`, null when absent. */
  readonly marker: Uint8Array | null | ReadFailure;
  readonly listing: readonly ListedObject[] | ReadFailure;
  /** `content` also requires every part to be MD5-verified. */
  readonly verify: "size" | "content";
}

/** Names at the prefix root that belong to Rivet, not to any part. */
const OWN_OBJECTS = new Set([MANIFEST_NAME, SUCCESS_NAME, DOCTOR_PROBE_NAME]);

/** Verifies a destination prefix from what was read from it (spec 8.1). */
export async function verifyPrefix(input: VerificationInput): Promise<Verification> {
  const failures: VerificationFailure[] = [];
  const result = (v: Partial<Verification>): Verification => {
    const fatal = failures.some((f) => f.kind !== "untracked_object");
    const manifestFound = v.manifest_found ?? true;
    return deepFreeze({
      manifest_found: manifestFound,
      legacy_run: v.legacy_run ?? false,
      parts_verified: v.parts_verified ?? 0,
      parts_md5_verified: v.parts_md5_verified ?? 0,
      parts_failed: v.parts_failed ?? 0,
      success_marker_consistent: v.success_marker_consistent ?? false,
      manifest_self_consistent: v.manifest_self_consistent ?? false,
      passed: manifestFound && !fatal,
      failures,
    });
  };

  if (input.manifest === null) return result({ manifest_found: false, legacy_run: true });
  if (isFailure(input.manifest)) {
    failures.push({ kind: "manifest_read_error", error: input.manifest.error });
    return result({ manifest_found: false });
  }
  const manifestBytes = input.manifest;

  // The marker is checked against the manifest's bytes, whatever they hold.
  let markerConsistent = false;
  if (input.marker !== null) {
    if (isFailure(input.marker)) {
      failures.push({ kind: "success_marker_read_error", error: input.marker.error });
    } else {
      const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(input.marker);
      const markerFp = parseSuccessMarker(text);
      const manifestFp = await xxh3Fingerprint(manifestBytes);
      if (markerFp === null) {
        failures.push({
          kind: "success_marker_malformed",
          body_preview: [...text].slice(0, 40).join(""),
        });
      } else if (markerFp !== manifestFp) {
        failures.push({
          kind: "success_marker_stale",
          marker_fingerprint: markerFp,
          manifest_fingerprint: manifestFp,
        });
      } else {
        markerConsistent = true;
      }
    }
  }

  const parsed = parseManifest(new TextDecoder().decode(manifestBytes));
  if (!parsed.ok) {
    failures.unshift({
      kind: "manifest_self_inconsistent",
      reason: `parse failed: ${parsed.error}`,
    });
    return result({ success_marker_consistent: markerConsistent });
  }
  const manifest = parsed.value;
  const problems = manifestProblems(manifest);
  for (const reason of problems) failures.push({ kind: "manifest_self_inconsistent", reason });

  if (isFailure(input.listing)) {
    failures.push({ kind: "list_prefix_error", error: input.listing.error });
    return result({
      success_marker_consistent: markerConsistent,
      manifest_self_consistent: problems.length === 0,
    });
  }
  const listed = new Map<string, ListedObject>();
  for (const o of input.listing) if (!o.name.includes("_quarantine")) listed.set(o.name, o);

  let verified = 0;
  let md5Verified = 0;
  let failed = 0;
  for (const part of manifest.parts) {
    if (part.status !== "committed") continue;
    const obj = listed.get(part.path);
    if (obj === undefined) {
      failures.push({ kind: "part_missing", path: part.path });
      failed++;
      continue;
    }
    if (obj.size !== part.size_bytes) {
      failures.push({
        kind: "part_size_mismatch",
        path: part.path,
        expected: part.size_bytes,
        actual: obj.size,
      });
      failed++;
      continue;
    }
    const expected = md5Bytes(part.content_md5);
    const actual = md5Bytes(obj.md5);
    if (expected !== null && actual !== null) {
      if (!sameBytes(expected, actual)) {
        failures.push({
          kind: "part_checksum_mismatch",
          path: part.path,
          expected: part.content_md5,
          actual: obj.md5 ?? "",
        });
        failed++;
        continue;
      }
      md5Verified++;
    }
    verified++;
  }

  const referenced = new Set(manifest.parts.map((p) => p.path));
  for (const o of listed.values()) {
    if (!referenced.has(o.name) && !OWN_OBJECTS.has(o.name)) {
      failures.push({ kind: "untracked_object", key: o.name, size_bytes: o.size });
    }
  }
  if (input.verify === "content" && verified > md5Verified) {
    failures.push({
      kind: "content_verification_unmet",
      size_only: verified - md5Verified,
      total: verified,
    });
  }
  return result({
    parts_verified: verified,
    parts_md5_verified: md5Verified,
    parts_failed: failed,
    success_marker_consistent: markerConsistent,
    manifest_self_consistent: problems.length === 0,
  });
}

function isFailure(v: unknown): v is ReadFailure {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v) &&
    typeof (v as ReadFailure).error === "string";
}

/** The 16 bytes an MD5 string stands for (standard base64 or 32 hex), or null. */
export function md5Bytes(text: string | undefined): Uint8Array | null {
  if (text === undefined || text === "") return null;
  if (/^[0-9a-fA-F]{32}$/.test(text)) {
    return Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
  }
  if (!/^[A-Za-z0-9+/]{22}==$/.test(text)) return null;
  try {
    const bin = atob(text);
    return bin.length === 16 ? Uint8Array.from(bin, (c) => c.charCodeAt(0)) : null;
  } catch {
    return null;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
