// PostgreSQL Source: server-side cursor reads (spec 4.3) turned into Arrow record batches (execution layer).
import pg from "pg";
import type * as arrow from "apache-arrow";
import { redact, SourceError } from "../../errors.ts";
import type { TlsConfig } from "../../config/config_types.ts";
import { BatchBuilder } from "../batch_builder.ts";
import { type ColumnSpec, rivetTypeLabel } from "../rivet_types.ts";
import {
  DEFAULT_BATCH_BYTES,
  type QueryResult,
  type ReadRequest,
  type Source,
  type SourceConnection,
} from "../source.ts";
import { type PgErrorContext, toSourceError } from "./postgres_errors.ts";
import { pgArrayDims } from "./postgres_array.ts";
import { CellError, type CellReader, cellReader, resultFormats } from "./postgres_binary.ts";
import { extendedQuery, runExtended, type WireSocket } from "./postgres_wire.ts";
import {
  detectMoneyFormat,
  involvesMoney,
  isPgArrayType,
  MONEY_PROBE_SQL,
  type MoneyFormat,
  type PgCatalog,
  type PgColumnPlan,
  type PgTypeInfo,
  planPgColumn,
} from "./postgres_types.ts";

// ---- the narrow slice of the pg driver this module uses -------------------------------------

interface PgField {
  readonly name: string;
  readonly tableID: number;
  readonly columnID: number;
  readonly dataTypeID: number;
  readonly dataTypeModifier: number;
}

type PgRow = readonly (string | null)[];

interface PgResult {
  readonly rows: PgRow[];
  readonly fields: PgField[];
}

interface PgQueryConfig {
  readonly text: string;
  readonly values?: readonly unknown[];
  readonly rowMode: "array";
  readonly types: { getTypeParser: () => (v: string) => string };
}

interface PgClient {
  /** pg's connection; its `stream` is the (TLS) socket the FETCH loop borrows. */
  readonly connection?: { readonly stream?: WireSocket };
  connect(): Promise<void>;
  query(config: PgQueryConfig): Promise<PgResult | PgResult[]>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
}

type PgClientConfig = Record<string, unknown>;

const newClient = (config: PgClientConfig): PgClient =>
  new pg.Client(config as pg.ClientConfig) as unknown as PgClient;

/** Keeps every value as the server's text: our parsers convert exactly, pg's would not. */
const TEXT_TYPES = { getTypeParser: () => (v: string) => v };

/** Transaction-scoped session settings every read runs under (nothing leaks into a pooler). */
const SESSION_SETTINGS = [
  "SET LOCAL TimeZone = 'UTC'",
  "SET LOCAL DateStyle = 'ISO, YMD'",
  "SET LOCAL IntervalStyle = 'iso_8601'",
  "SET LOCAL extra_float_digits = 3",
  "SET LOCAL bytea_output = 'hex'",
].join("; ");

const CURSOR = "_rivet";
const PROBE_ROWS = 500;

/** Where a URL points, for messages (no credentials). */
export interface PgTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Only to scrub it from messages. */
  readonly password: string;
}

/** Reads host/port/database/user from a postgres:// URL without ever exposing the password. */
export function parsePgTarget(url: string): PgTarget {
  try {
    const u = new URL(url);
    const q = u.searchParams;
    const host = q.get("host") ?? decodeURIComponent(u.hostname.replace(/^\[(.+)\]$/, "$1"));
    return {
      host: host || "localhost",
      port: Number(q.get("port") ?? (u.port || 5432)),
      database: decodeURIComponent(u.pathname.slice(1)) || decodeURIComponent(u.username),
      user: q.get("user") ?? decodeURIComponent(u.username),
      password: q.get("password") ?? decodeURIComponent(u.password),
    };
  } catch {
    return { host: "(unparseable URL)", port: 0, database: "", user: "", password: "" };
  }
}

const SSL_URL_PARAMS = [
  "ssl",
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "uselibpqcompat",
  "sslnegotiation",
];

/** pg client settings for `conn`: a `tls:` block wins over URL ssl parameters. */
export async function pgClientConfig(conn: SourceConnection): Promise<PgClientConfig> {
  const base: PgClientConfig = {
    application_name: "rivet",
    connectionTimeoutMillis: 15_000,
    keepAlive: true,
  };
  if (!conn.tls) return { ...base, connectionString: conn.url };
  const u = new URL(conn.url);
  const cert = u.searchParams.get("sslcert");
  const key = u.searchParams.get("sslkey");
  for (const p of SSL_URL_PARAMS) u.searchParams.delete(p);
  const ssl = await sslOptions(conn.tls);
  if (ssl && cert) ssl.cert = await Deno.readTextFile(cert);
  if (ssl && key) ssl.key = await Deno.readTextFile(key);
  return { ...base, connectionString: u.toString(), ssl };
}

async function sslOptions(tls: TlsConfig): Promise<false | Record<string, unknown>> {
  const mode = tls.mode ?? "verify-full";
  if (mode === "disable") return false;
  const ssl: Record<string, unknown> = {
    rejectUnauthorized: mode !== "require" && tls.accept_invalid_certs !== true,
  };
  if (tls.ca_file) {
    try {
      ssl.ca = await Deno.readTextFile(tls.ca_file);
    } catch (err) {
      throw new SourceError(`cannot read source.tls.ca_file '${tls.ca_file}'`, {
        cause: err,
        hint: "point ca_file at a readable PEM CA bundle",
      });
    }
  }
  if (mode === "verify-ca" || tls.accept_invalid_hostnames === true) {
    ssl.checkServerIdentity = () => undefined;
  }
  return ssl;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses `SHOW work_mem` (`4MB`, `64kB`, bare number = kB) into bytes. */
export function parseWorkMem(text: string): number | undefined {
  const m = /^(\d+)\s*(kB|MB|GB|TB)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { kB: 1, MB: 1024, GB: 1024 ** 2, TB: 1024 ** 3 }[m[2] ?? "kB"] ?? 1;
  return Number(m[1]) * unit * 1024;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function truncateValue(s: string): string {
  const t = s.length > 60 ? `${s.slice(0, 60)}…` : s;
  return t.replace(/\n/g, "\\n");
}

/** The state of one running query. */
interface Cursor {
  readonly req: ReadRequest;
  readonly plans: readonly PgColumnPlan[];
  readonly builder: BatchBuilder;
  readonly ctx: PgErrorContext;
  /** Rows per FETCH allowed by the work_mem rule (spec 4.3), fixed after the probe. */
  workMemRows: number;
  fetchSize: number;
  rowsRead: number;
  state: "open" | "done" | "failed";
}

export class PostgresSource implements Source {
  readonly #client: PgClient;
  readonly #config: PgClientConfig;
  readonly #target: PgTarget;
  #busy = false;
  #closed = false;
  #inFlight = 0;
  #broken: Error | undefined;
  /** Server process id of this connection. */
  readonly backendPid: number;
  /** True when two `pg_backend_pid()` calls differed: a transaction-mode pooler is in between. */
  readonly poolerDetected: boolean;

  private constructor(
    client: PgClient,
    config: PgClientConfig,
    target: PgTarget,
    pids: readonly [number, number],
  ) {
    this.#client = client;
    this.#config = config;
    this.#target = target;
    this.backendPid = pids[0];
    this.poolerDetected = pids[0] !== pids[1];
    client.on("error", (err) => {
      this.#broken = err;
    });
  }

  /** Opens one connection (TLS per `conn.tls`; URL `sslmode` passes through to the driver). */
  static async connect(conn: SourceConnection): Promise<PostgresSource> {
    const target = parsePgTarget(conn.url);
    const ctx = contextFor(target, "connecting");
    let config: PgClientConfig;
    try {
      config = await pgClientConfig(conn);
    } catch (err) {
      throw err instanceof SourceError ? err : toSourceError(err, ctx);
    }
    const client = newClient(config);
    client.on("error", () => {}); // errors during connect surface through connect()
    try {
      await client.connect();
      const pid = async () => {
        const r = await client.query({
          text: "SELECT pg_backend_pid()",
          rowMode: "array",
          types: TEXT_TYPES,
        });
        return Number(single(r).rows[0]?.[0]);
      };
      const pids = [await pid(), await pid()] as const;
      return new PostgresSource(client, config, target, pids);
    } catch (err) {
      await client.end().catch(() => {});
      throw toSourceError(err, ctx);
    }
  }

  /** `host:port/database` of this source, for messages. */
  get target(): string {
    return `${this.#target.host}:${this.#target.port}/${this.#target.database}`;
  }

  async #exec(text: string, values?: readonly unknown[]): Promise<PgResult> {
    if (this.#broken) throw this.#broken;
    this.#inFlight++;
    try {
      const cfg: PgQueryConfig = values === undefined
        ? { text, rowMode: "array", types: TEXT_TYPES }
        : { text, values, rowMode: "array", types: TEXT_TYPES };
      return single(await this.#client.query(cfg));
    } finally {
      this.#inFlight--;
    }
  }

  async query(req: ReadRequest, signal?: AbortSignal): Promise<QueryResult> {
    if (this.#closed) throw new SourceError(`PostgreSQL source ${this.target} is closed`);
    if (this.#busy) {
      throw new SourceError(
        `PostgreSQL at ${this.target}: a query is already running on this connection`,
      );
    }
    if (!Number.isInteger(req.batchSize) || req.batchSize < 1) {
      throw new SourceError(`batch size must be a positive integer, got ${req.batchSize}`);
    }
    signal?.throwIfAborted();
    this.#busy = true;
    const ctx = {
      ...contextFor(this.#target, "running the export query"),
      statementTimeoutS: req.statementTimeoutS,
    };
    let cursor: Cursor;
    let first: PgResult;
    let workMem: number | undefined;
    const onAbortEarly = () => void this.#cancelRunning();
    signal?.addEventListener("abort", onAbortEarly, { once: true });
    try {
      await this.#exec("BEGIN");
      const limits: string[] = [];
      if (req.statementTimeoutS > 0) {
        limits.push(`SET LOCAL statement_timeout = '${Math.ceil(req.statementTimeoutS * 1000)}ms'`);
      }
      if (req.lockTimeoutS > 0) {
        limits.push(`SET LOCAL lock_timeout = '${Math.ceil(req.lockTimeoutS * 1000)}ms'`);
      }
      await this.#exec([...limits, SESSION_SETTINGS].join("; "));
      workMem = parseWorkMem(String((await this.#exec("SHOW work_mem")).rows[0]?.[0] ?? ""));
      const sql = req.query.trim().replace(/;+\s*$/, "");
      await this.#exec(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${sql}`);
      // With a byte budget per batch (batch_size_memory_mb), probe with few rows: the width is
      // unknown until then, and 500 wide rows could exceed the budget many times over.
      const probe = Math.min(req.batchSize, req.batchBytes ? 20 : PROBE_ROWS);
      first = await this.#exec(`FETCH ${probe} FROM ${CURSOR}`);
      const plans = await this.#planColumns(first, req);
      cursor = {
        req,
        plans,
        builder: new BatchBuilder(plans.map((p) => p.spec)),
        ctx,
        workMemRows: req.batchSize,
        fetchSize: probe,
        rowsRead: 0,
        state: first.rows.length < probe ? "done" : "open",
      };
    } catch (err) {
      await this.#rollback();
      this.#busy = false;
      signal?.removeEventListener("abort", onAbortEarly);
      if (signal?.aborted) throw abortError(signal, this.target, err);
      throw toSourceError(err, ctx);
    }
    signal?.removeEventListener("abort", onAbortEarly);

    let firstBatch: arrow.RecordBatch | undefined;
    try {
      firstBatch = this.#decode(cursor, first.rows);
      cursor.workMemRows = nextFetchSize(req, firstBatch, workMem);
      cursor.fetchSize = fetchSizeFor(cursor.workMemRows, firstBatch, req.batchBytes);
      if (cursor.state === "done") await this.#commit();
    } catch (err) {
      cursor.state = "failed";
      await this.#rollback();
      this.#busy = false;
      throw err instanceof SourceError ? err : toSourceError(err, ctx);
    }
    if (cursor.state === "done") this.#busy = false;

    let controllerRef: ReadableStreamDefaultController<arrow.RecordBatch> | undefined;
    const stop = async (): Promise<void> => {
      if (cursor.state !== "open") return;
      cursor.state = "failed";
      if (this.#inFlight > 0) await this.#cancelRunning();
      await this.#rollback();
      this.#busy = false;
    };
    const onAbort = () => {
      if (cursor.state !== "open") return;
      void stop().then(() => {
        try {
          controllerRef?.error(abortError(signal!, this.target, undefined));
        } catch { /* already closed */ }
      });
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const detach = () => signal?.removeEventListener("abort", onAbort);
    if (cursor.state !== "open") detach();

    const batches = new ReadableStream<arrow.RecordBatch>({
      start: (controller) => {
        controllerRef = controller;
        if (firstBatch && firstBatch.numRows > 0) controller.enqueue(firstBatch);
        if (cursor.state === "done") controller.close();
      },
      pull: async (controller) => {
        if (cursor.state !== "open") return;
        try {
          if (req.throttleMs > 0) await sleep(req.throttleMs);
          if (cursor.state !== "open") return;
          const n = cursor.fetchSize;
          let got: number;
          let batch: arrow.RecordBatch | undefined;
          const socket = this.#client.connection?.stream;
          if (socket) {
            got = await this.#fetchWire(cursor, socket, `FETCH ${n} FROM ${CURSOR}`);
            if (cursor.state !== "open") return;
            batch = got > 0 ? cursor.builder.finish() : undefined;
          } else {
            const res = await this.#exec(`FETCH ${n} FROM ${CURSOR}`);
            if (cursor.state !== "open") return;
            got = res.rows.length;
            batch = this.#decode(cursor, res.rows);
          }
          if (batch) cursor.fetchSize = fetchSizeFor(cursor.workMemRows, batch, req.batchBytes);
          if (got < n) {
            cursor.state = "done";
            await this.#commit();
            this.#busy = false;
            detach();
          }
          if (batch && batch.numRows > 0) controller.enqueue(batch);
          if (cursor.state === "done") controller.close();
        } catch (err) {
          if (cursor.state !== "open") return;
          cursor.state = "failed";
          await this.#rollback();
          this.#busy = false;
          detach();
          controller.error(
            signal?.aborted
              ? abortError(signal, this.target, err)
              : err instanceof SourceError
              ? err
              : toSourceError(err, ctx),
          );
        }
      },
      cancel: async () => {
        detach();
        await stop();
      },
    }, {
      // One batch ahead: the next FETCH is sent while the consumer encodes the current batch,
      // so decoding overlaps encoding instead of waiting on the server (still one FETCH each).
      highWaterMark: 2,
    });

    const columns: readonly ColumnSpec[] = cursor.plans.map((p) => p.spec);
    return { columns, schema: cursor.builder.schema, batches };
  }

  /**
   * Runs one FETCH on pg's socket with binary results where that maps 1:1, decoding each
   * DataRow straight into the cursor's builder. Returns the number of rows.
   */
  async #fetchWire(cursor: Cursor, socket: WireSocket, sql: string): Promise<number> {
    if (this.#broken) throw this.#broken;
    const { plans, builder, req } = cursor;
    const cols = builder.columns;
    const ncol = plans.length;
    const readers: CellReader[] = plans.map((p, c) => cellReader(p, cols[c]!));
    const sized = plans.map((p) => p.wire.kind !== "binary" || p.hexText);
    const max = req.maxValueBytes;
    const onRow = (b: Uint8Array, pos: number, end: number) => {
      cursor.rowsRead++;
      if (((b[pos]! << 8) | b[pos + 1]!) !== ncol) {
        throw new SourceError(`PostgreSQL sent a row with an unexpected number of columns`);
      }
      let p = pos + 2;
      for (let c = 0; c < ncol; c++) {
        const len = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
        p += 4;
        if (len < 0) {
          cols[c]!.appendNull();
          continue;
        }
        if (p + len > end) throw new SourceError("PostgreSQL sent a truncated row");
        if (max > 0 && len > max && sized[c]) {
          throw tooLarge(plans[c]!.spec.name, len, max, cursor.rowsRead);
        }
        try {
          readers[c]!(b, p, len);
        } catch (err) {
          throw cellError(plans[c]!, err, cursor.rowsRead);
        }
        p += len;
      }
      builder.endRow();
    };
    this.#inFlight++;
    try {
      return await runExtended(socket, extendedQuery(sql, resultFormats(plans)), onRow);
    } finally {
      this.#inFlight--;
    }
  }

  /** Appends rows to the cursor's builder and returns the batch (undefined for no rows). */
  #decode(cursor: Cursor, rows: readonly PgRow[]): arrow.RecordBatch | undefined {
    if (rows.length === 0) return undefined;
    const { plans, builder, req } = cursor;
    const cols = builder.columns;
    const max = req.maxValueBytes;
    const ncol = plans.length;
    for (const row of rows) {
      cursor.rowsRead++;
      for (let c = 0; c < ncol; c++) {
        const v = row[c] ?? null;
        const plan = plans[c]!;
        if (v === null) {
          cols[c]!.append(null);
          continue;
        }
        if (max > 0 && (plan.hexText ? v.length > 2 * max : v.length * 3 > max)) {
          const bytes = plan.hexText ? (v.length - 2) / 2 : utf8Length(v);
          if (bytes > max) throw tooLarge(plan.spec.name, bytes, max, cursor.rowsRead);
        }
        let value: unknown;
        try {
          value = plan.decode(v);
          cols[c]!.append(value);
        } catch (err) {
          throw new SourceError(
            `column '${plan.spec.name}' (${plan.spec.nativeType}), row ${cursor.rowsRead} of this export: cannot store value '${
              truncateValue(v)
            }' as ${rivetTypeLabel(plan.spec.type)}: ${(err as Error).message}`,
            {
              cause: err,
              hint: "cast the column in the query or set a columns: override for it",
            },
          );
        }
      }
      builder.endRow();
    }
    return builder.finish();
  }

  /** Maps the first FETCH's fields to column plans (one catalog round trip per need). */
  async #planColumns(first: PgResult, req: ReadRequest): Promise<PgColumnPlan[]> {
    const fields = first.fields;
    if (fields.length === 0) return [];
    const oids = [...new Set(fields.map((f) => f.dataTypeID))];
    const catalog = await this.#loadCatalog(oids);
    const natives = await this.#exec(
      "SELECT format_type(t.o, t.m) FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS t(o, m, i) ORDER BY t.i",
      [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)],
    );
    const dims = await this.#arrayDims(fields, first.rows, catalog);
    let money: MoneyFormat | undefined;
    if (fields.some((f) => involvesMoney(f.dataTypeID, catalog))) {
      const probe = (await this.#exec(MONEY_PROBE_SQL)).rows[0]?.[0] ?? "";
      money = detectMoneyFormat(probe);
    }
    const env = money ? { money } : {};
    return fields.map((f, i) => {
      const override = Object.hasOwn(req.columnOverrides, f.name)
        ? req.columnOverrides[f.name]
        : undefined;
      const d = dims.get(i);
      return planPgColumn(
        {
          name: f.name,
          typeOid: f.dataTypeID,
          typmod: f.dataTypeModifier,
          nativeType: natives.rows[i]?.[0] ?? `oid ${f.dataTypeID}`,
          ...(d === undefined ? {} : { arrayDims: d }),
          ...(override === undefined ? {} : { override }),
        },
        catalog,
        env,
      );
    });
  }

  /** pg_type rows for `oids` and, recursively, their element and domain base types. */
  async #loadCatalog(oids: readonly number[]): Promise<PgCatalog> {
    const r = await this.#exec(
      `WITH RECURSIVE t(oid) AS (
         SELECT unnest($1::oid[])
         UNION
         SELECT x.o FROM pg_type p JOIN t ON p.oid = t.oid,
           LATERAL (VALUES (p.typelem), (p.typbasetype)) AS x(o)
         WHERE x.o <> 0
       )
       SELECT p.oid, p.typname, p.typtype, p.typcategory, p.typelem, p.typbasetype,
              p.typtypmod, p.typdelim
       FROM pg_type p WHERE p.oid IN (SELECT oid FROM t)`,
      [oids],
    );
    const catalog = new Map<number, PgTypeInfo>();
    for (const row of r.rows) {
      const oid = Number(row[0]);
      catalog.set(oid, {
        oid,
        name: row[1] ?? "",
        typtype: row[2] ?? "b",
        category: row[3] ?? "",
        elem: Number(row[4] ?? 0),
        baseType: Number(row[5] ?? 0),
        typmod: Number(row[6] ?? -1),
        delimiter: row[7] ?? ",",
      });
    }
    return catalog;
  }

  /**
   * Dimensions of each array column: the larger of the declared `attndims` (when the column comes
   * straight from a table) and what the first FETCH shows. A later value with other dimensions
   * fails with a clear error instead of being flattened.
   */
  async #arrayDims(
    fields: readonly PgField[],
    rows: readonly PgRow[],
    catalog: PgCatalog,
  ): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const arrays = fields.flatMap((f, i) => isPgArrayType(f.dataTypeID, catalog) ? [i] : []);
    if (arrays.length === 0) return out;
    for (const i of arrays) {
      let d = 1;
      for (const row of rows) {
        const v = row[i];
        if (v) d = Math.max(d, pgArrayDims(v));
      }
      out.set(i, d);
    }
    const fromTables = arrays.filter((i) => fields[i]!.tableID !== 0);
    if (fromTables.length > 0) {
      const r = await this.#exec(
        `SELECT t.i, a.attndims FROM unnest($1::oid[], $2::int2[]) WITH ORDINALITY AS t(rel, num, i)
         JOIN pg_attribute a ON a.attrelid = t.rel AND a.attnum = t.num`,
        [fromTables.map((i) => fields[i]!.tableID), fromTables.map((i) => fields[i]!.columnID)],
      );
      for (const row of r.rows) {
        const i = fromTables[Number(row[0]) - 1];
        if (i !== undefined) out.set(i, Math.max(out.get(i) ?? 1, Number(row[1] ?? 0)));
      }
    }
    return out;
  }

  async #commit(): Promise<void> {
    await this.#exec(`CLOSE ${CURSOR}`);
    await this.#exec("COMMIT");
  }

  async #rollback(): Promise<void> {
    // Twice at most: a cancel request racing with the first ROLLBACK can interrupt it.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.#exec("ROLLBACK");
        return;
      } catch {
        if (this.#broken) return; // the connection is gone, and the transaction with it
      }
    }
  }

  /** Cancels the statement running on this connection from a short side connection. */
  async #cancelRunning(): Promise<void> {
    const side = newClient(this.#config);
    side.on("error", () => {});
    try {
      await side.connect();
      await side.query({
        text: "SELECT pg_cancel_backend($1)",
        values: [this.backendPid],
        rowMode: "array",
        types: TEXT_TYPES,
      });
    } catch {
      // Best effort: ROLLBACK follows the running statement anyway.
    } finally {
      await side.end().catch(() => {});
    }
  }

  async scalar(sql: string): Promise<string | null> {
    if (this.#busy) {
      throw new SourceError(
        `PostgreSQL at ${this.target}: cannot run a scalar query while an export query is open`,
      );
    }
    this.#busy = true;
    try {
      await this.#exec("BEGIN");
      await this.#exec(SESSION_SETTINGS);
      const r = await this.#exec(sql.trim().replace(/;+\s*$/, ""));
      await this.#exec("COMMIT");
      return r.rows[0]?.[0] ?? null;
    } catch (err) {
      await this.#rollback();
      throw toSourceError(err, contextFor(this.#target, "running a scalar query"));
    } finally {
      this.#busy = false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.end().catch(() => {});
  }
}

function single(r: PgResult | PgResult[]): PgResult {
  return Array.isArray(r) ? r[r.length - 1]! : r;
}

function contextFor(t: PgTarget, doing: string): PgErrorContext {
  return {
    target: `${t.host}:${t.port}/${t.database}`,
    doing,
    user: t.user,
    secrets: t.password ? [t.password, encodeURIComponent(t.password)] : [],
  };
}

function abortError(signal: AbortSignal, target: string, cause: unknown): SourceError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  return new SourceError(redact(`PostgreSQL at ${target}: export query aborted (${reason})`), {
    retryable: false,
    cause: cause ?? signal.reason,
  });
}

function tooLarge(column: string, bytes: number, max: number, row: number): SourceError {
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return new SourceError(
    `RIVET_VALUE_TOO_LARGE: column '${column}' has a single value of ${
      mb(bytes)
    } MB (row ${row} of this export), over the per-value limit of ${mb(max)} MB`,
    {
      retryable: false,
      hint:
        "raise tuning.max_value_mb, or leave the column out / shorten it in the query (e.g. left(col, 100000))",
    },
  );
}

/** A value that could not be stored, with the column and row (same words as the text path). */
function cellError(plan: PgColumnPlan, err: unknown, row: number): SourceError {
  if (err instanceof SourceError) return err;
  const text = err instanceof CellError ? err.text : "?";
  return new SourceError(
    `column '${plan.spec.name}' (${plan.spec.nativeType}), row ${row} of this export: cannot store value '${
      truncateValue(text)
    }' as ${rivetTypeLabel(plan.spec.type)}: ${(err as Error).message}`,
    { cause: err, hint: "cast the column in the query or set a columns: override for it" },
  );
}

/** Rows of the next FETCH: the work_mem cap, and about DEFAULT_BATCH_BYTES of Arrow data per batch. */
function fetchSizeFor(
  workMemRows: number,
  last: arrow.RecordBatch | undefined,
  batchBytes = DEFAULT_BATCH_BYTES,
): number {
  if (!last || last.numRows === 0) return workMemRows;
  const perRow = Math.max(1, arrowBytes(last) / last.numRows);
  return Math.max(1, Math.min(workMemRows, Math.floor(batchBytes / perRow)));
}

/** Bytes of the values (not the capacity) of a batch's columns. */
function arrowBytes(batch: arrow.RecordBatch): number {
  let n = 0;
  const add = (d: arrow.Data): void => {
    for (const b of [d.values, d.valueOffsets, d.nullBitmap]) if (b) n += b.byteLength;
    for (const c of d.children) add(c);
  };
  for (const c of batch.data.children) add(c);
  return n;
}

/** Fetch size after the probe: batchSize, capped once by work_mem (spec 4.3). */
function nextFetchSize(
  req: ReadRequest,
  probe: arrow.RecordBatch | undefined,
  workMem: number | undefined,
): number {
  const configured = req.batchSize;
  if (workMem === undefined || !probe || probe.numRows === 0) return configured;
  const arrowPerRow = Math.max(1, probe.data.byteLength / probe.numRows);
  const pgPerRow = Math.max(64, arrowPerRow * 1.2);
  const safe = Math.max(100, Math.floor((0.7 * workMem) / pgPerRow));
  return Math.max(1, Math.min(safe, configured));
}
