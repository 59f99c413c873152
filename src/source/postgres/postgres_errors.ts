// Classifies PostgreSQL driver/server errors (spec 4.11) and wraps them into SourceErrors with a human message (execution layer).
import { redact, SourceError } from "../../errors.ts";

/** How a caller should react to a failure. */
export interface PgErrorClass {
  readonly retryable: boolean;
  /** True when the connection must be re-opened before retrying. */
  readonly reconnect: boolean;
  /** Extra backoff on top of the retry policy, in milliseconds. */
  readonly extraDelayMs: number;
}

/** The fields of a driver error this module reads (pg's DatabaseError and Node socket errors). */
export interface PgErrorLike {
  readonly message?: string;
  /** SQLSTATE for server errors, `ECONNREFUSED` and friends for socket errors. */
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** What was going on when the error happened; used for the message and for 57014. */
export interface PgErrorContext {
  /** `host:port/database`, never with credentials. */
  readonly target: string;
  /** What Rivet was doing, e.g. `connecting` or `running the export query`. */
  readonly doing: string;
  /** The user name (shown for authentication failures). */
  readonly user?: string;
  /** Seconds of the statement_timeout Rivet set for this query (0 = none). */
  readonly statementTimeoutS?: number;
  /** Secrets to scrub from any text, e.g. the password. */
  readonly secrets?: readonly string[];
}

const TRANSIENT_RECONNECT: PgErrorClass = { retryable: true, reconnect: true, extraDelayMs: 0 };
const PERMANENT: PgErrorClass = { retryable: false, reconnect: false, extraDelayMs: 0 };

/** SQLSTATE (exact code or two-character class) → class, first match wins; spec 4.11. */
export const SQLSTATE_CLASSES: readonly (readonly [string, PgErrorClass])[] = [
  ["57P01", { retryable: true, reconnect: true, extraDelayMs: 15_000 }], // admin_shutdown
  ["57P02", { retryable: true, reconnect: true, extraDelayMs: 15_000 }], // crash_shutdown
  ["57P03", { retryable: true, reconnect: true, extraDelayMs: 15_000 }], // cannot_connect_now
  ["53300", { retryable: true, reconnect: true, extraDelayMs: 15_000 }], // too_many_connections
  ["40001", { retryable: true, reconnect: false, extraDelayMs: 1_000 }], // serialization_failure
  ["40P01", { retryable: true, reconnect: false, extraDelayMs: 1_000 }], // deadlock_detected
  ["57014", { retryable: true, reconnect: false, extraDelayMs: 0 }], // query_canceled
  // (rec) lock_timeout is contention, not a property of the query: retry it.
  ["55P03", { retryable: true, reconnect: false, extraDelayMs: 1_000 }], // lock_not_available
  ["08", TRANSIENT_RECONNECT], // connection exception
  ["53", { retryable: true, reconnect: false, extraDelayMs: 5_000 }], // insufficient resources
  ["28", PERMANENT], // invalid authorization
  ["42", PERMANENT], // syntax error or access rule violation
];

/** Socket/driver error codes (no SQLSTATE) → class. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

/** Lower-cased message fragments of transient connection failures (spec 4.11, text fallback). */
const TRANSIENT_TEXT = [
  "connection terminated",
  "connection reset",
  "broken pipe",
  "connection refused",
  "no route to host",
  "network unreachable",
  "closed the connection unexpectedly",
  "unexpected eof",
  "timeout expired",
  "connection timeout",
];

const SQLSTATE_RE = /^[0-9A-Z]{5}$/;

/** Classifies a driver error. `statementTimeoutS > 0` makes 57014 permanent (see below). */
export function classifyPgError(err: unknown, statementTimeoutS = 0): PgErrorClass {
  const e = asErrorLike(err);
  const code = e.code ?? "";
  if (SQLSTATE_RE.test(code)) {
    // A 57014 under a statement_timeout Rivet set is the timeout firing: the same query with
    // the same limit would fail again, so retrying only burns time on the source.
    if (code === "57014" && statementTimeoutS > 0) return PERMANENT;
    for (const [key, cls] of SQLSTATE_CLASSES) {
      if (key.length === 5 ? code === key : code.startsWith(key)) return cls;
    }
    return PERMANENT;
  }
  if (SOCKET_CODES.has(code)) return TRANSIENT_RECONNECT;
  const msg = (e.message ?? "").toLowerCase();
  if (msg.includes("does not support ssl")) return PERMANENT;
  if (TRANSIENT_TEXT.some((t) => msg.includes(t))) return TRANSIENT_RECONNECT;
  return PERMANENT;
}

function asErrorLike(err: unknown): PgErrorLike {
  if (err !== null && typeof err === "object") return err as PgErrorLike;
  return { message: String(err) };
}

/** What the user should do next for a failure, by code. */
function adviceFor(e: PgErrorLike, ctx: PgErrorContext): { text: string; hint?: string } {
  const code = e.code ?? "";
  const server = e.message ?? "unknown error";
  switch (code) {
    case "ECONNREFUSED":
      return { text: "connection refused — is the server running and the port right?" };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { text: "host name not found — check the host in the source URL" };
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return { text: `${server} — is the host reachable from here (network, firewall)?` };
    case "28P01":
      return {
        text: `password authentication failed for user '${ctx.user ?? "?"}' (28P01)`,
        hint: "check the password in the source URL, password_env or url_env",
      };
    case "28000":
      return {
        text: `${server} (28000)`,
        hint: "the server's pg_hba.conf does not allow this user/host/database/TLS combination",
      };
    case "3D000":
      return { text: `${server} (3D000)`, hint: "check the database name in the source URL" };
    case "42P01":
      return {
        text: `${server} (42P01)`,
        hint: "check the table name, its schema, and the search_path of the connecting user",
      };
    case "42501":
      return { text: `${server} (42501)`, hint: "grant SELECT on the objects to the export user" };
    case "57014":
      return (ctx.statementTimeoutS ?? 0) > 0
        ? {
          text:
            `${server}: the query ran longer than the statement timeout of ${ctx.statementTimeoutS}s (57014)`,
          hint: "raise tuning.statement_timeout_s, add an index, or split the export into chunks",
        }
        : { text: `${server} (57014)` };
    case "55P03":
      return {
        text: `${server} (55P03)`,
        hint: "another session holds a lock; raise tuning.lock_timeout_s or run off-peak",
      };
  }
  if (/does not support ssl/i.test(server)) {
    return {
      text: "the server does not accept TLS connections",
      hint: "set source.tls.mode: disable (or sslmode=disable) if plaintext is acceptable here",
    };
  }
  const withCode = SQLSTATE_RE.test(code) ? `${server} (${code})` : server;
  return e.hint ? { text: withCode, hint: e.hint } : { text: withCode };
}

/**
 * Wraps a driver error into a SourceError: says what failed on which server, what to do, and
 * carries `retryable` from `classifyPgError`. Passwords and URLs are redacted.
 */
export function toSourceError(err: unknown, ctx: PgErrorContext): SourceError {
  if (err instanceof SourceError) return err;
  const e = asErrorLike(err);
  const cls = classifyPgError(err, ctx.statementTimeoutS ?? 0);
  const advice = adviceFor(e, ctx);
  const head = ctx.doing === "connecting"
    ? `cannot connect to PostgreSQL at ${ctx.target}`
    : `PostgreSQL at ${ctx.target}: ${ctx.doing} failed`;
  const secrets = ctx.secrets ?? [];
  const message = redact(`${head}: ${advice.text}`, secrets);
  const opts: { retryable: boolean; hint?: string; cause: unknown } = {
    retryable: cls.retryable,
    cause: err,
  };
  if (advice.hint !== undefined) opts.hint = redact(advice.hint, secrets);
  return new SourceError(message, opts);
}
