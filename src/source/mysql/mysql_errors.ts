// Classifies MySQL/MariaDB driver errors as transient or permanent per spec 4.11 and words them for people (execution layer).
import { redact, SourceError } from "../../errors.ts";

/** The parts of a mysql2 / Node socket error this module reads. */
export interface MysqlErrorLike {
  readonly message?: string;
  /** Server error number (e.g. 1045), absent for socket errors. */
  readonly errno?: number;
  /** Symbolic code: `ER_ACCESS_DENIED_ERROR`, `ECONNREFUSED`, `PROTOCOL_CONNECTION_LOST`, ... */
  readonly code?: string;
  /** mysql2 sets this when the connection is no longer usable. */
  readonly fatal?: boolean;
}

/** What the retry loop should do with an error (spec 4.11). */
export interface MysqlErrorClass {
  readonly retryable: boolean;
  /** A new connection is needed before retrying. */
  readonly reconnect: boolean;
  /** Added to the exponential backoff. */
  readonly extraDelayMs: number;
  /** Short reason for logs and the journal, e.g. `deadlock (1213)`. */
  readonly reason: string;
}

const permanent = (reason: string): MysqlErrorClass => ({
  retryable: false,
  reconnect: false,
  extraDelayMs: 0,
  reason,
});
const transient = (reason: string, reconnect: boolean, extraDelayMs = 0): MysqlErrorClass => ({
  retryable: true,
  reconnect,
  extraDelayMs,
  reason,
});

/** Server error numbers with a fixed class. */
const BY_ERRNO: ReadonlyMap<number, MysqlErrorClass> = new Map([
  [1213, transient("deadlock (1213)", false, 1_000)],
  [1205, transient("lock wait timeout (1205)", false)],
  [1040, transient("too many connections (1040)", true, 15_000)],
  [1053, transient("server shutdown in progress (1053)", true, 15_000)],
  [1969, transient("max_statement_time exceeded (1969)", false)], // MariaDB
  [3024, transient("max_execution_time exceeded (3024)", false)], // MySQL
  [1317, transient("query interrupted (1317)", false)],
  [2006, transient("server has gone away (2006)", true)],
  [2013, transient("lost connection during query (2013)", true)],
  // An administrator's KILL (or a failover) ends the connection, not the data: reconnect.
  [1927, transient("connection was killed (1927)", true)], // MariaDB ER_CONNECTION_KILLED
  [1045, permanent("access denied (1045)")],
  [1044, permanent("access denied to database (1044)")],
  [1049, permanent("unknown database (1049)")],
  [1146, permanent("table does not exist (1146)")],
  [1064, permanent("SQL syntax error (1064)")],
]);

/** Socket and driver codes that mean the connection broke (I/O errors → transient, reconnect). */
const IO_CODES: ReadonlyMap<string, string> = new Map([
  ["ECONNREFUSED", "connection refused"],
  ["ECONNRESET", "connection reset"],
  ["EPIPE", "broken pipe"],
  ["ETIMEDOUT", "connection timed out"],
  ["EHOSTUNREACH", "no route to host"],
  ["ENETUNREACH", "network unreachable"],
  ["ENOTFOUND", "host name not found"],
  ["EAI_AGAIN", "temporary DNS failure"],
  ["PROTOCOL_CONNECTION_LOST", "connection lost"],
  ["PROTOCOL_SEQUENCE_TIMEOUT", "protocol timeout"],
]);

/** Lower-cased message fragments, in spec 4.11 order; the first match wins. */
const BY_TEXT: ReadonlyArray<readonly [readonly string[], MysqlErrorClass]> = [
  [
    ["permission denied", "access denied", "invalid_grant", "credential"],
    permanent("access denied"),
  ],
  [["(temporary)"], transient("temporary failure", false, 500)],
  [
    [
      "connection reset",
      "broken pipe",
      "connection refused",
      "no route to host",
      "network unreachable",
      "name resolution",
      "dns",
      "ssl handshake",
      "i/o timeout",
      "unexpected eof",
      "closed the connection unexpectedly",
      "error reading communication packets",
      "gone away",
      "lost connection",
      "can't connect to mysql server",
    ],
    transient("connection failure", true),
  ],
  [
    ["timed out", "timeout", "canceling statement", "lock wait timeout", "execution time exceeded"],
    transient("timeout", false),
  ],
  [
    ["too many connections", "starting up", "shutting down"],
    transient("server busy or restarting", true, 15_000),
  ],
  [["deadlock", "could not serialize access"], transient("deadlock", false, 1_000)],
];

/** Spec 4.11 classification of a MySQL error: errno table, then I/O codes, then message text. */
export function classifyMysqlError(err: MysqlErrorLike): MysqlErrorClass {
  if (typeof err.errno === "number") {
    const hit = BY_ERRNO.get(err.errno);
    if (hit) return hit;
  }
  if (err.code) {
    const io = IO_CODES.get(err.code);
    if (io) return transient(io, true);
  }
  const text = (err.message ?? "").toLowerCase();
  for (const [needles, cls] of BY_TEXT) {
    if (needles.some((n) => text.includes(n))) return cls;
  }
  if (err.fatal) return transient("connection failure", true);
  return permanent("server error");
}

/** Advice for the person reading the error, by error number or code. */
function adviceFor(err: MysqlErrorLike, cls: MysqlErrorClass): string {
  switch (err.errno) {
    case 1045:
      return "check the user and password of the source URL (or the environment variable it reads)";
    case 1044:
      return "grant the user access to this database, or connect to another one";
    case 1049:
      return "check the database name at the end of the source URL";
    case 1146:
      return "check the table name in the export's query or table: setting";
    case 1064:
      return "fix the SQL of the export's query";
    case 1969:
    case 3024:
      return "raise tuning.statement_timeout_s or make the query cheaper (e.g. chunked mode)";
  }
  if (cls.retryable && cls.reconnect) {
    return "check that the server is running and reachable (host, port, firewall, TLS); Rivet retries transient failures";
  }
  if (cls.retryable) return "this is usually transient; Rivet retries it";
  return "see the server message above";
}

/** The driver's message, made readable: socket errors carry only a code. */
function describe(err: MysqlErrorLike): string {
  const io = err.code ? IO_CODES.get(err.code) : undefined;
  if (io && (!err.message || err.message.includes(err.code ?? ""))) return io;
  const msg = err.message ?? String(err);
  return err.errno && err.errno > 0 && err.errno < 10_000 ? `${msg} (errno ${err.errno})` : msg;
}

/**
 * Wraps a driver error as a SourceError: `<doing> at <where>: <what> — <advice>`, redacted, with
 * `retryable` from `classifyMysqlError`.
 */
export function mysqlSourceError(
  err: unknown,
  doing: string,
  where: string,
  secrets: readonly string[],
): SourceError {
  if (err instanceof SourceError) return err;
  const e: MysqlErrorLike = typeof err === "object" && err !== null
    ? err as MysqlErrorLike
    : { message: String(err) };
  const cls = classifyMysqlError(e);
  const message = redact(`${doing} at ${where}: ${describe(e)} — ${adviceFor(e, cls)}`, secrets);
  return new SourceError(message, { retryable: cls.retryable, cause: err });
}
