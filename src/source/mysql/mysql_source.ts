// MysqlSource: runs one query on MySQL/MariaDB and streams its rows as Arrow record batches with backpressure (execution layer).
//
// One connection per source. Rows arrive over the text protocol as raw bytes (`typeCast: false`)
// and are converted by `mysql_types.ts`; nothing goes through the driver's Date or number
// parsing. The socket is paused whenever a full batch is waiting for the consumer, so at most
// about one batch (plus one socket read) is buffered. Cancelling a stream, or an error while
// rows are still coming, destroys the connection; the next call reconnects.
import mysql from "mysql2";
import type * as arrow from "apache-arrow";
import { SourceError } from "../../errors.ts";
import type { TlsConfig } from "../../config/config_types.ts";
import { BatchBuilder } from "../batch_builder.ts";
import type { ColumnSpec } from "../rivet_types.ts";
import { arrowSchemaOf, rivetTypeLabel } from "../rivet_types.ts";
import {
  DEFAULT_BATCH_BYTES,
  type QueryResult,
  type ReadRequest,
  type Source,
  type SourceConnection,
} from "../source.ts";
import { mysqlSourceError } from "./mysql_errors.ts";
import {
  type CellAppender,
  type CellConverter,
  isVariableWidth,
  mysqlCellAppender,
  mysqlColumnMapping,
  mysqlFastCellConverter,
  type MysqlFieldMeta,
  unsupportedColumnsMessage,
} from "./mysql_types.ts";

// Narrow views of the mysql2 objects this module uses.
type Cell = Uint8Array | null;
/** A text-protocol row packet as mysql2 frames it: the row's cells are `buffer[offset, end)`. */
interface RowPacket {
  readonly buffer: Uint8Array;
  readonly offset: number;
  readonly end: number;
}
/** mysql2's per-query row parser (`Query#_rowParser`), which this module substitutes. */
interface RowParser {
  next(packet: RowPacket, fields: unknown, options: unknown): unknown;
}
/** What our row parser hands to mysql2 for each row: the row is already in the builder. */
const DECODED_ROW = Object.freeze({ decoded: true });
interface DriverError {
  readonly message?: string;
  readonly errno?: number;
  readonly code?: string;
  readonly fatal?: boolean;
}
interface DriverQuery {
  on(event: "fields", fn: (fields: MysqlFieldMeta[] | undefined) => void): DriverQuery;
  on(event: "result", fn: (row: Cell[] | object) => void): DriverQuery;
  on(event: "error", fn: (err: DriverError) => void): DriverQuery;
  on(event: "end", fn: () => void): DriverQuery;
}
interface DriverConnection {
  readonly threadId: number | null;
  query(opts: { sql: string; rowsAsArray: true; typeCast: false }): DriverQuery;
  query(
    opts: { sql: string; rowsAsArray: true; typeCast: false },
    cb: (err: DriverError | null, rows: Cell[][] | object) => void,
  ): DriverQuery;
  connect(cb: (err: DriverError | null) => void): void;
  on(event: "error", fn: (err: DriverError) => void): void;
  off(event: "error", fn: (err: DriverError) => void): void;
  pause(): void;
  resume(): void;
  destroy(): void;
  /** The socket; mysql2's destroy() only half-closes it, which leaves a paused query blocked. */
  readonly stream?: { destroy(): void };
  end(cb: (err: DriverError | null) => void): void;
}

/** Host, port, credentials and database from a `mysql://user:pass@host:port/db` URL. */
export interface MysqlTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** Parses a MySQL URL; the error never contains the password. */
export function parseMysqlUrl(url: string): MysqlTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SourceError("source URL is not a valid mysql:// URL", {
      hint: "expected mysql://user:password@host:3306/database",
    });
  }
  if (u.protocol !== "mysql:" && u.protocol !== "mariadb:") {
    throw new SourceError(`source URL scheme '${u.protocol}' is not mysql://`);
  }
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")),
  };
}

/** mysql2 `ssl` options for spec 3.3.1 `source.tls`; undefined = plaintext. */
function sslOptions(tls: TlsConfig | undefined): Record<string, unknown> | undefined {
  if (!tls?.mode || tls.mode === "disable") return undefined;
  const ssl: Record<string, unknown> = {
    rejectUnauthorized: tls.mode !== "require" && !tls.accept_invalid_certs,
  };
  if (tls.ca_file) ssl.ca = Deno.readTextFileSync(tls.ca_file);
  if (tls.mode === "verify-ca" || tls.accept_invalid_hostnames) {
    ssl.checkServerIdentity = () => undefined;
  }
  return ssl;
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

const utf8 = new TextDecoder();

function tooLarge(column: string, bytes: number, max: number, row: number): SourceError {
  return new SourceError(
    `RIVET_VALUE_TOO_LARGE: column '${column}' has a single value of ${
      mb(bytes)
    } MB, above the per-cell limit of ${
      mb(max)
    } MB (row ${row}) — raise tuning.max_value_mb or leave the column out of the query`,
  );
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class MysqlSource implements Source {
  readonly #target: MysqlTarget;
  readonly #tls: TlsConfig | undefined;
  /** `host:port/database`, for messages. */
  readonly #where: string;
  #conn: DriverConnection | null;
  #flavour: "mysql" | "mariadb";
  /** A stream is open on the connection; other calls must wait for it. */
  #busy = false;
  #closed = false;

  private constructor(
    target: MysqlTarget,
    tls: TlsConfig | undefined,
    conn: DriverConnection,
    flavour: "mysql" | "mariadb",
  ) {
    this.#target = target;
    this.#tls = tls;
    this.#where = `${target.host}:${target.port}/${target.database}`;
    this.#conn = conn;
    this.#flavour = flavour;
  }

  /** Opens one connection, detects MySQL vs MariaDB and forces the session time zone to UTC. */
  static async connect(conn: SourceConnection): Promise<MysqlSource> {
    const target = parseMysqlUrl(conn.url);
    const { driver, flavour } = await MysqlSource.#open(target, conn.tls);
    return new MysqlSource(target, conn.tls, driver, flavour);
  }

  /** `mariadb` or `mysql`, from `SELECT VERSION()`. */
  get flavour(): "mysql" | "mariadb" {
    return this.#flavour;
  }

  static async #open(
    target: MysqlTarget,
    tls: TlsConfig | undefined,
  ): Promise<{ driver: DriverConnection; flavour: "mysql" | "mariadb" }> {
    const secrets = [target.password];
    const ssl = sslOptions(tls);
    const driver = mysql.createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database || undefined,
      charset: "utf8mb4",
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      dateStrings: true,
      connectTimeout: 10_000,
      ...(ssl ? { ssl } : {}),
    } as never) as unknown as DriverConnection;
    driver.on("error", () => {}); // fatal errors also reach the pending command or the next call
    try {
      await new Promise<void>((resolve, reject) =>
        driver.connect((err) => (err ? reject(err) : resolve()))
      );
      const version = await runSimple(driver, "SELECT VERSION()");
      await runSimple(driver, "SET time_zone = '+00:00'");
      const flavour = /mariadb/i.test(version ?? "") ? "mariadb" : "mysql";
      return { driver, flavour };
    } catch (err) {
      driver.destroy();
      throw mysqlSourceError(
        err,
        "cannot connect to MySQL",
        `${target.host}:${target.port}`,
        secrets,
      );
    }
  }

  async #connection(): Promise<DriverConnection> {
    if (this.#closed) throw new SourceError(`MysqlSource for ${this.#where} is closed`);
    if (!this.#conn) {
      const { driver, flavour } = await MysqlSource.#open(this.#target, this.#tls);
      this.#conn = driver;
      this.#flavour = flavour;
    }
    return this.#conn;
  }

  /** Drops a connection that is mid-result or broken; the next call reconnects. */
  #discard(conn: DriverConnection): void {
    if (this.#conn === conn) this.#conn = null;
    try {
      conn.destroy();
      conn.stream?.destroy(); // a full close: the server's next write fails and ends the query
    } catch { /* already gone */ }
  }

  #claim(): void {
    if (this.#busy) {
      throw new SourceError(
        `MysqlSource for ${this.#where} runs one query at a time — finish or cancel the open batch stream first`,
      );
    }
    this.#busy = true;
  }

  #fail(err: unknown, doing: string): SourceError {
    return mysqlSourceError(err, doing, this.#where, [this.#target.password]);
  }

  /** The statement that sets / restores the per-statement time limit, by server flavour. */
  #timeoutSql(seconds: number | "DEFAULT"): string {
    if (this.#flavour === "mariadb") return `SET SESSION max_statement_time = ${seconds}`;
    const ms = seconds === "DEFAULT" ? "DEFAULT" : Math.round(seconds * 1000);
    return `SET SESSION max_execution_time = ${ms}`;
  }

  async scalar(sql: string): Promise<string | null> {
    this.#claim();
    try {
      const conn = await this.#connection();
      try {
        return await runSimple(conn, sql);
      } catch (err) {
        if ((err as DriverError).fatal) this.#discard(conn);
        throw this.#fail(err, "query failed on MySQL");
      }
    } finally {
      this.#busy = false;
    }
  }

  async query(req: ReadRequest, signal?: AbortSignal): Promise<QueryResult> {
    if (!(req.batchSize >= 1)) {
      throw new SourceError(`batch size must be ≥ 1, got ${req.batchSize}`);
    }
    if (signal?.aborted) {
      throw new SourceError(`query on MySQL ${this.#where} was cancelled before it started`, {
        cause: signal.reason,
      });
    }
    this.#claim();
    let conn: DriverConnection;
    let timeoutSet = false;
    try {
      conn = await this.#connection();
      await runSimple(conn, "SET time_zone = '+00:00'");
      if (req.statementTimeoutS > 0) {
        await runSimple(conn, this.#timeoutSql(req.statementTimeoutS));
        timeoutSet = true;
      }
    } catch (err) {
      this.#busy = false;
      if (this.#conn && (err as DriverError).fatal) this.#discard(this.#conn);
      throw this.#fail(err, "cannot prepare the session on MySQL");
    }
    const restore = async () => {
      if (timeoutSet && this.#conn === conn) {
        await runSimple(conn, this.#timeoutSql("DEFAULT")).catch(() => {});
      }
    };
    try {
      return await this.#stream(conn, req, signal, restore);
    } catch (err) {
      await restore();
      this.#busy = false;
      throw err;
    }
  }

  /** Starts the query, waits for its column definitions and returns the pull-based batch stream. */
  async #stream(
    conn: DriverConnection,
    req: ReadRequest,
    signal: AbortSignal | undefined,
    restore: () => Promise<void>,
  ): Promise<QueryResult> {
    const q = conn.query({ sql: req.query, rowsAsArray: true, typeCast: false });

    let fieldsSeen = false;
    let ended = false;
    let failure: unknown = null;
    let finished = false; // resources released, no more events matter
    let paused = false;
    let resumeTimer: ReturnType<typeof setTimeout> | undefined;
    const ready: arrow.RecordBatch[] = [];
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };

    let builder: BatchBuilder | null = null;
    let converters: CellConverter[] = [];
    let sized: boolean[] = [];
    let specs: ColumnSpec[] = [];
    let appenders: CellAppender[] = [];
    let rowNo = 0;
    let unsupported: string | null = null;

    const stop = (err: unknown) => {
      if (failure || finished) return;
      failure = err;
      if (!ended) this.#discard(conn); // rows are still coming: drop the connection
      notify();
    };

    const fieldsPromise = new Promise<MysqlFieldMeta[]>((resolve, reject) => {
      q.on("fields", (fields) => {
        // Set up the builder right here: rows of the same socket read follow synchronously.
        fieldsSeen = true;
        const list = fields ?? [];
        const mappings = list.map((f) => mysqlColumnMapping(f, req.columnOverrides));
        unsupported = unsupportedColumnsMessage(mappings);
        specs = mappings.map((m) => m.spec);
        if (!unsupported) {
          converters = list.map((f, i) => mysqlFastCellConverter(f, specs[i]!.type));
          sized = specs.map((s) => isVariableWidth(s.type));
          builder = new BatchBuilder(specs);
          const cols = builder.columns;
          appenders = list.map((f, i) => mysqlCellAppender(f, specs[i]!.type, cols[i]!));
        }
        resolve(list);
      });
      q.on("error", (err) => {
        if (err.fatal || err.code === "PROTOCOL_CONNECTION_LOST") this.#discard(conn);
        const wrapped = this.#fail(err, "query failed on MySQL");
        if (!fieldsSeen) reject(wrapped);
        ended = true;
        stop(wrapped);
      });
      q.on("end", () => {
        ended = true;
        if (!fieldsSeen) resolve([]);
        notify();
      });
    });

    // mysql2 assigns its row parser right after the `fields` event; ours takes its place.
    let driverParser: RowParser | null = null;
    let lastBuf: Uint8Array | null = null;
    let view: Uint8Array = new Uint8Array(0);
    const rawParser: RowParser = {
      next: (packet, fields, options) => {
        if (!builder) return driverParser!.next(packet, fields, options);
        if (failure || finished) return DECODED_ROW;
        if (packet.buffer !== lastBuf) {
          lastBuf = packet.buffer; // a plain view: Buffer#subarray is slow
          view = new Uint8Array(lastBuf.buffer, lastBuf.byteOffset, lastBuf.byteLength);
        }
        decodeRow(builder, view, packet.offset, packet.end);
        return DECODED_ROW;
      },
    };
    try {
      Object.defineProperty(q, "_rowParser", {
        configurable: true,
        get: () => rawParser,
        set: (v: RowParser) => (driverParser = v),
      });
    } catch { /* rows arrive as arrays of cells instead */ }
    const decodeRow = (b: BatchBuilder, buf: Uint8Array, start: number, end: number) => {
      const cols = b.columns;
      const n = appenders.length;
      const max = req.maxValueBytes;
      let p = start;
      let i = 0;
      try {
        for (; i < n; i++) {
          const c0 = buf[p]!;
          if (c0 === 0xfb) {
            cols[i]!.appendNull();
            p++;
            continue;
          }
          let len: number;
          if (c0 < 0xfb) {
            len = c0;
            p += 1;
          } else if (c0 === 0xfc) {
            len = buf[p + 1]! | (buf[p + 2]! << 8);
            p += 3;
          } else if (c0 === 0xfd) {
            len = buf[p + 1]! | (buf[p + 2]! << 8) | (buf[p + 3]! << 16);
            p += 4;
          } else {
            len = (buf[p + 1]! | (buf[p + 2]! << 8) | (buf[p + 3]! << 16)) +
              buf[p + 4]! * 0x1000000 +
              (buf[p + 5]! | (buf[p + 6]! << 8) | (buf[p + 7]! << 16)) * 0x100000000;
            p += 9;
          }
          if (p + len > end) {
            throw new SourceError(`MySQL sent a truncated row (row ${rowNo + 1})`);
          }
          if (sized[i] && max > 0 && len > max) throw tooLarge(specs[i]!.name, len, max, rowNo + 1);
          appenders[i]!(buf, p, p + len);
          p += len;
        }
        b.endRow();
        rowNo++;
      } catch (err) {
        stop(this.#valueError(err, specs[i], rowNo + 1));
      }
    };

    q.on("result", (row) => {
      if (failure || finished || !builder) return;
      if (row === DECODED_ROW) {
        afterRow(builder);
        return;
      }
      if (!Array.isArray(row)) return;
      const b = builder;
      let i = 0;
      try {
        for (; i < converters.length; i++) {
          const raw = row[i];
          const column = b.columns[i]!;
          if (raw === null || raw === undefined) {
            column.append(null);
            continue;
          }
          if (sized[i] && req.maxValueBytes > 0 && raw.length > req.maxValueBytes) {
            throw tooLarge(specs[i]!.name, raw.length, req.maxValueBytes, rowNo + 1);
          }
          column.append(converters[i]!(raw));
        }
        b.endRow();
        rowNo++;
      } catch (err) {
        stop(this.#valueError(err, specs[i], rowNo + 1));
        return;
      }
      afterRow(b);
    });

    // How often the batch's bytes are measured: every 256 rows, or every 16 with a byte budget
    // (batch_size_memory_mb), where wide rows would overshoot a small budget between checks.
    const checkMask = req.batchBytes ? 15 : 255;
    /** Cuts a batch when it is full and pauses the socket until the consumer takes it. */
    const afterRow = (b: BatchBuilder) => {
      if (
        b.rows >= req.batchSize ||
        ((b.rows & checkMask) === 0 && b.byteSize >= (req.batchBytes ?? DEFAULT_BATCH_BYTES))
      ) {
        ready.push(b.finish());
        if (!ended) {
          conn.pause();
          paused = true;
        }
        notify();
      }
    };

    // A connection the server closes mid-result (KILL, failover, restart) reports the loss on the
    // connection only, never on the query: without this the stream would wait forever.
    const onConnectionError = (err: DriverError) => {
      if (ended) return;
      this.#discard(conn);
      stop(this.#fail(err, "query failed on MySQL"));
    };
    conn.on("error", onConnectionError);
    const release = async () => {
      if (finished) return;
      finished = true;
      conn.off("error", onConnectionError);
      clearTimeout(resumeTimer);
      signal?.removeEventListener("abort", onAbort);
      await restore();
      this.#busy = false;
    };
    const onAbort = () => {
      stop(
        new SourceError(`query on MySQL ${this.#where} was cancelled`, { cause: signal?.reason }),
      );
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    try {
      await fieldsPromise;
    } catch (err) {
      signal?.removeEventListener("abort", onAbort);
      conn.off("error", onConnectionError);
      finished = true;
      throw err;
    }
    if (unsupported) {
      const err = new SourceError(unsupported);
      stop(err);
      await release();
      throw err;
    }
    const schema = arrowSchemaOf(specs);
    const resume = () => {
      resumeTimer = undefined;
      if (paused && !finished && !failure) {
        paused = false;
        conn.resume();
      }
    };

    const batches = new ReadableStream<arrow.RecordBatch>({
      pull: async (controller) => {
        while (true) {
          if (failure) {
            const err = failure;
            await release();
            throw err;
          }
          const batch = ready.shift();
          if (batch) {
            controller.enqueue(batch);
            if (paused && resumeTimer === undefined) {
              if (req.throttleMs > 0) resumeTimer = setTimeout(resume, req.throttleMs);
              else resume();
            }
            return;
          }
          if (ended) {
            if (builder && builder.rows > 0) {
              controller.enqueue(builder.finish());
              return;
            }
            await release();
            controller.close();
            return;
          }
          if (paused && resumeTimer === undefined) resume();
          await new Promise<void>((r) => (wake = r));
        }
      },
      cancel: async () => {
        if (!ended && !failure) {
          failure = new SourceError("cancelled");
          this.#discard(conn);
        }
        await release();
      },
    }, { highWaterMark: 0 });

    return { columns: specs, schema, batches };
  }

  /** Wraps a conversion failure with the column, its types and the row number. */
  #valueError(err: unknown, spec: ColumnSpec | undefined, row: number): SourceError {
    if (err instanceof SourceError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    if (!spec) {
      return new SourceError(`cannot convert row ${row} from MySQL ${this.#where}: ${msg}`);
    }
    return new SourceError(
      `cannot convert column '${spec.name}' (MySQL type '${spec.nativeType}' → ${
        rivetTypeLabel(spec.type)
      }) at row ${row} from MySQL ${this.#where}: ${msg} — CAST the column in SQL or set a column override in rivet.yaml`,
      { cause: err },
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const conn = this.#conn;
    this.#conn = null;
    if (!conn) return;
    if (this.#busy) {
      this.#discard(conn);
      return;
    }
    await Promise.race([
      new Promise<void>((resolve) => conn.end(() => resolve())),
      sleep(2_000),
    ]);
    conn.destroy();
  }
}

/** Runs one statement and returns the first cell of the first row as UTF-8 text (or null). */
function runSimple(conn: DriverConnection, sql: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    conn.query({ sql, rowsAsArray: true, typeCast: false }, (err, rows) => {
      if (err) return reject(err);
      if (!Array.isArray(rows)) return resolve(null);
      const cell = rows[0]?.[0];
      resolve(cell === null || cell === undefined ? null : utf8.decode(cell));
    });
  });
}
