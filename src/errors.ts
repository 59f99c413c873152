// Error taxonomy and secret redaction shared by every layer (contract types).

/** Which kind of failure this is; decides the exit code and how a caller reacts. */
export type ExitClass =
  | "usage" // bad command line (exit 2)
  | "config" // the YAML or its references are wrong (exit 1)
  | "source" // the database refused or failed
  | "destination" // the store refused or failed
  | "data_integrity" // quality gate, validation, reconcile mismatch
  | "schema_drift"
  | "internal";

/** Base class of every error Rivet raises on purpose. */
export class RivetError extends Error {
  readonly exitClass: ExitClass;
  readonly retryable: boolean;
  /** Optional one-line advice shown under the message. */
  readonly hint: string | undefined;

  constructor(
    message: string,
    opts: { exitClass: ExitClass; retryable?: boolean; hint?: string; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "RivetError";
    this.exitClass = opts.exitClass;
    this.retryable = opts.retryable ?? false;
    this.hint = opts.hint;
  }
}

export class ConfigError extends RivetError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitClass: "config", ...opts });
    this.name = "ConfigError";
  }
}

export class UsageError extends RivetError {
  constructor(message: string, opts: { hint?: string } = {}) {
    super(message, { exitClass: "usage", ...opts });
    this.name = "UsageError";
  }
}

export class SourceError extends RivetError {
  constructor(message: string, opts: { retryable?: boolean; hint?: string; cause?: unknown } = {}) {
    super(message, { exitClass: "source", ...opts });
    this.name = "SourceError";
  }
}

export class DestinationError extends RivetError {
  constructor(message: string, opts: { retryable?: boolean; hint?: string; cause?: unknown } = {}) {
    super(message, { exitClass: "destination", ...opts });
    this.name = "DestinationError";
  }
}

export class DataIntegrityError extends RivetError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitClass: "data_integrity", ...opts });
    this.name = "DataIntegrityError";
  }
}

/** Process exit code for an error (spec 2.2: usage 2, everything else 1). */
export function exitCodeFor(err: unknown): number {
  if (err instanceof RivetError && err.exitClass === "usage") return 2;
  return 1;
}

/** The message of any thrown value, with the messages of its causes appended. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  const seen = new Set<unknown>();
  while (cur !== undefined && cur !== null && !seen.has(cur) && parts.length < 6) {
    seen.add(cur);
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return redact(parts.join(": "));
}

const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+):([^\s/@]*)@/gi;
const PASSWORD_PARAM = /((?:password|passwd|pwd|secret|token)=)[^\s&;]+/gi;

/**
 * Removes credentials from text: `scheme://user:pass@host` becomes `scheme://REDACTED@host`,
 * and `password=...` query parameters become `password=REDACTED`.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_USERINFO, "$1REDACTED@").replace(PASSWORD_PARAM, "$1REDACTED");
  for (const s of secrets) {
    if (s.length >= 3) out = out.split(s).join("REDACTED");
  }
  return out;
}
