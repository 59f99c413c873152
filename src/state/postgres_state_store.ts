// PostgresStateStore: the StateStore in a shared PostgreSQL database chosen by RIVET_STATE_URL, via npm:pg (persistence layer).
import pg from "pg";
import { redact } from "../errors.ts";
import {
  num,
  numOrNull,
  str,
  strOrNull,
  toCursor,
  toJournal,
  toLease,
  toMetric,
  toRun,
  toTask,
} from "./state_rows.ts";
import { journalToJson, type RunJournal } from "./journal_types.ts";
import {
  POSTGRES_CHUNK_LEASE_SQL,
  POSTGRES_CHUNK_PUBLISH_SQL,
  POSTGRES_CURSOR_BOUNDARY_SQL,
  POSTGRES_MIGRATIONS,
  POSTGRES_SCHEMA_VERSION,
  POSTGRES_VERSION_TABLE_SQL,
} from "./postgres_migrations.ts";
import {
  type ChunkLeaseRequest,
  type ChunkLeaseRow,
  type ChunkPublishRow,
  type ChunkRunRow,
  type ChunkTaskRow,
  type ClaimChunkPublishResult,
  type CommittedBoundary,
  type CreateChunkRunResult,
  type CursorRow,
  type FileRecord,
  type FileRow,
  type FinishChunkRunResult,
  type LeasedChunkTask,
  type MetricRecord,
  type MetricRow,
  type NewChunkRun,
  type ProgressionRow,
  type RunAggregateRecord,
  type SchemaColumn,
  type SchemaSnapshot,
  StateError,
  type StateStore,
  type StoredJournal,
  type VerifiedBoundary,
} from "./state_store.ts";

// ---- the narrow slice of the pg driver this module uses -------------------------------------

type Row = Record<string, unknown>;

interface PgQueryResult {
  readonly rows: Row[];
  readonly rowCount: number | null;
}

interface PgPoolClient {
  query(text: string, values?: readonly unknown[]): Promise<PgQueryResult>;
  release(destroy?: boolean | Error): void;
}

interface PgPool {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
}

type PgPoolConfig = Record<string, unknown>;

const newPool = (config: PgPoolConfig): PgPool =>
  new pg.Pool(config as pg.PoolConfig) as unknown as PgPool;

// ---- connection settings --------------------------------------------------------------------

/** libpq `sslmode` values; `allow` is treated like `prefer`. */
export type PgSslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

const SSL_MODES: readonly PgSslMode[] = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
];

/** The URL's ssl parameters, removed from the connection string so pg cannot reinterpret them. */
const SSL_URL_PARAMS = [
  "ssl",
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "uselibpqcompat",
  "sslnegotiation",
];

/** What a state URL asks for, before any file is read. */
export interface PgStateTarget {
  /** The URL without ssl parameters (still holding the password: never print it). */
  readonly connectionString: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Only to scrub it from messages. */
  readonly password: string;
  readonly sslMode: PgSslMode;
  readonly sslRootCert: string | null;
  readonly sslCert: string | null;
  readonly sslKey: string | null;
  /** `postgres://user:***@host:port/db`: safe for messages. */
  readonly redacted: string;
}

/**
 * Parses a `postgres://` / `postgresql://` state URL. `sslmode` follows libpq: absent means
 * `prefer` (TLS when the server offers it), `require` encrypts without checking the certificate
 * (unless `sslrootcert` is given: then like `verify-ca`), `verify-ca` checks the chain,
 * `verify-full` the chain and the host name.
 */
export function parseStateUrl(url: string): PgStateTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StateError("RIVET_STATE_URL is not a valid URL", {
      exitClass: "config",
      hint: "use postgres://user:password@host:5432/database[?sslmode=require]",
    });
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new StateError(`RIVET_STATE_URL must start with postgres:// (got ${u.protocol}//…)`, {
      exitClass: "config",
    });
  }
  const q = u.searchParams;
  const modeText = q.get("sslmode") ??
    (q.get("ssl") === "true" || q.get("ssl") === "1"
      ? "require"
      : q.get("ssl") === "false" || q.get("ssl") === "0"
      ? "disable"
      : "prefer");
  if (!SSL_MODES.includes(modeText as PgSslMode)) {
    throw new StateError(`RIVET_STATE_URL has an unknown sslmode '${modeText}'`, {
      exitClass: "config",
      hint: `use one of ${SSL_MODES.join(", ")}`,
    });
  }
  const host = q.get("host") ?? decodeURIComponent(u.hostname.replace(/^\[(.+)\]$/, "$1"));
  const port = Number(q.get("port") ?? (u.port || 5432));
  const user = q.get("user") ?? decodeURIComponent(u.username);
  const password = q.get("password") ?? decodeURIComponent(u.password);
  const database = decodeURIComponent(u.pathname.slice(1)) || user;
  const sslRootCert = q.get("sslrootcert");
  const sslCert = q.get("sslcert");
  const sslKey = q.get("sslkey");
  for (const p of SSL_URL_PARAMS) q.delete(p);
  const shownHost = host.includes(":") ? `[${host}]` : host || "localhost";
  return {
    connectionString: u.toString(),
    host: host || "localhost",
    port,
    database,
    user,
    password,
    sslMode: modeText as PgSslMode,
    sslRootCert,
    sslCert,
    sslKey,
    redacted: `${u.protocol}//${
      user ? `${user}${password ? ":***" : ""}@` : ""
    }${shownHost}:${port}/${database}`,
  };
}

/** node:tls options for pg, or false for plaintext. `prefer` yields the TLS attempt. */
export async function sslOptionsFor(
  t: PgStateTarget,
  readTextFile: (p: string) => Promise<string> = Deno.readTextFile,
): Promise<false | Record<string, unknown>> {
  if (t.sslMode === "disable") return false;
  const read = async (what: string, file: string) => {
    try {
      return await readTextFile(file);
    } catch (err) {
      throw new StateError(`Cannot read ${what} '${file}' named in RIVET_STATE_URL`, {
        exitClass: "config",
        hint: `point ${what} at a readable PEM file`,
        cause: err,
      });
    }
  };
  const ssl: Record<string, unknown> = {};
  if (t.sslRootCert) ssl.ca = await read("sslrootcert", t.sslRootCert);
  if (t.sslCert) ssl.cert = await read("sslcert", t.sslCert);
  if (t.sslKey) ssl.key = await read("sslkey", t.sslKey);
  switch (t.sslMode) {
    case "allow":
    case "prefer":
      ssl.rejectUnauthorized = false;
      break;
    case "require":
      if (t.sslRootCert) ssl.checkServerIdentity = () => undefined; // libpq: like verify-ca
      else ssl.rejectUnauthorized = false;
      break;
    case "verify-ca":
      ssl.rejectUnauthorized = true;
      ssl.checkServerIdentity = () => undefined;
      break;
    case "verify-full":
      ssl.rejectUnauthorized = true;
      break;
  }
  return ssl;
}

function isLocalHost(host: string): boolean {
  return host === "localhost" || host === "127.0.0.1" || host === "::1" || host.startsWith("/");
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** SQLSTATE classes and socket errors worth retrying (by code, never by message text). */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return [
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "EPIPE",
    "57P01",
    "57P02",
    "57P03",
    "53300",
    "40001",
    "40P01",
  ].includes(code) || code.startsWith("08");
}

/** Namespaces of the two-key advisory locks (first key); the second is a hash of the scope. */
const MIGRATE_LOCK = 0x52495654; // "RIVT"
const CHUNK_RUN_LOCK = 0x52495655;

const TASK_COLUMNS =
  "run_id, chunk_index, start_key, end_key, status, attempts, last_error, rows_written, file_name, updated_at";
const RUN_COLUMNS =
  "run_id, export_name, plan_hash, status, max_chunk_attempts, created_at, updated_at";

export interface PostgresStateStoreOptions {
  /** Schema holding the tables (`RIVET_STATE_SCHEMA`); created when missing. */
  readonly schema?: string | undefined;
  /** Warnings (plaintext connection to a remote host). */
  readonly warn?: (message: string) => void;
  /** Connections kept by this process; default 4. */
  readonly maxConnections?: number;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
}

/**
 * State in a PostgreSQL database shared by every machine that points RIVET_STATE_URL at it.
 * Each method runs on a pooled connection in its own short transaction; the schema is created
 * and migrated on open under a transaction-scoped advisory lock, so several processes may open
 * a fresh database at once. Chunk claims use `FOR UPDATE SKIP LOCKED`; chunk run creation takes
 * an advisory lock per export name, so two processes never both start a run of one export.
 */
export class PostgresStateStore implements StateStore {
  readonly location: string;
  /** Whether the connections are encrypted (decided when opening). */
  readonly tls: boolean;
  readonly #pool: PgPool;
  readonly #schema: string | null;
  readonly #password: string;
  readonly #prepared = new WeakSet<PgPoolClient>();
  #closed = false;

  private constructor(
    location: string,
    pool: PgPool,
    schema: string | null,
    password: string,
    tls: boolean,
  ) {
    this.location = location;
    this.#pool = pool;
    this.#schema = schema;
    this.#password = password;
    this.tls = tls;
  }

  /** Connects, creates or migrates the schema, and returns the store. */
  static async open(
    url: string,
    opts: PostgresStateStoreOptions = {},
  ): Promise<PostgresStateStore> {
    const target = parseStateUrl(url);
    const schema = opts.schema === undefined || opts.schema === "" ? null : opts.schema;
    const location = target.redacted + (schema === null ? "" : ` (schema ${schema})`);
    const ssl = await sslOptionsFor(target);
    const base: PgPoolConfig = {
      connectionString: target.connectionString,
      application_name: "rivet-state",
      max: opts.maxConnections ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      keepAlive: true,
    };
    const attempt = async (withSsl: false | Record<string, unknown>) => {
      const pool = newPool({ ...base, ssl: withSsl });
      pool.on("error", () => {}); // an idle connection dropped: the next checkout reconnects
      const store = new PostgresStateStore(location, pool, schema, target.password, !!withSsl);
      try {
        await store.#migrate();
        return store;
      } catch (err) {
        await pool.end().catch(() => {});
        throw err;
      }
    };
    let store: PostgresStateStore;
    if (ssl !== false && (target.sslMode === "prefer" || target.sslMode === "allow")) {
      // libpq `prefer`: TLS when the server offers it, else plaintext.
      try {
        store = await attempt(ssl);
      } catch {
        store = await attempt(false);
      }
    } else {
      store = await attempt(ssl);
    }
    if (!store.tls && !isLocalHost(target.host)) {
      opts.warn?.(
        `state: the connection to the PostgreSQL state database at ${target.host} is not ` +
          "encrypted; add sslmode=verify-full (or require) to RIVET_STATE_URL",
      );
    }
    return store;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** The driver error as a plain Error whose message cannot hold the password; keeps `code`. */
  #scrubbed(err: unknown): Error {
    const out = new Error(
      redact(err instanceof Error ? err.message : String(err), [this.#password]),
    );
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === "string") Object.assign(out, { code });
    return out;
  }

  /** A StateError for a failure while `doing`, with the password scrubbed from every message. */
  #error(doing: string, err: unknown): StateError {
    if (err instanceof StateError) return err;
    const cause = this.#scrubbed(err);
    const transient = isTransient(err);
    return new StateError(`Cannot ${doing} in state database ${this.location}`, {
      cause,
      retryable: transient,
      ...(transient
        ? {
          hint: "check that the state database is reachable (RIVET_STATE_URL host, port, " +
            "firewall) and retry",
        }
        : {}),
    });
  }

  async #checkout(): Promise<PgPoolClient> {
    if (this.#closed) throw new StateError(`state database ${this.location} is closed`);
    const c = await this.#pool.connect();
    if (this.#schema !== null && !this.#prepared.has(c)) {
      try {
        await c.query(`SET search_path TO ${quoteIdent(this.#schema)}`);
      } catch (err) {
        c.release(true);
        throw err;
      }
      this.#prepared.add(c);
    }
    return c;
  }

  /** One statement (or a few without a transaction) on a pooled connection. */
  async #run<T>(doing: string, fn: (c: PgPoolClient) => Promise<T>): Promise<T> {
    let c: PgPoolClient;
    try {
      c = await this.#checkout();
    } catch (err) {
      if (err instanceof StateError) throw err;
      const transient = isTransient(err);
      throw new StateError(
        `Cannot connect to the PostgreSQL state database ${this.location} to ${doing}`,
        {
          cause: this.#scrubbed(err),
          retryable: transient,
          exitClass: transient ? "internal" : "config",
          hint: "check RIVET_STATE_URL (host, port, database, user, password, sslmode) and " +
            "that the server accepts connections from here",
        },
      );
    }
    let broken: Error | undefined;
    try {
      return await fn(c);
    } catch (err) {
      if (isTransient(err)) broken = err as Error;
      throw this.#error(doing, err);
    } finally {
      c.release(broken ?? false);
    }
  }

  /** `fn` inside BEGIN … COMMIT; rolled back on any error. */
  #tx<T>(doing: string, fn: (c: PgPoolClient) => Promise<T>): Promise<T> {
    return this.#run(doing, async (c) => {
      await c.query("BEGIN");
      try {
        const out = await fn(c);
        await c.query("COMMIT");
        return out;
      } catch (err) {
        await c.query("ROLLBACK").catch(() => {});
        throw err;
      }
    });
  }

  async #lockMigrations(c: PgPoolClient): Promise<void> {
    await c.query(
      "SELECT pg_advisory_xact_lock($1::int, hashtext(current_setting('search_path')))",
      [MIGRATE_LOCK],
    );
  }

  static async #versionOf(c: PgPoolClient): Promise<number> {
    const r = await c.query("SELECT COALESCE(MAX(version), 0) AS v FROM rivet_schema_version");
    return Number(r.rows[0]?.v ?? 0);
  }

  /** The schema version recorded in the database (0 before any migration). */
  schemaVersion(): Promise<number> {
    return this.#run("read the schema version", (c) => PostgresStateStore.#versionOf(c));
  }

  async #migrate(): Promise<void> {
    await this.#tx("prepare the state schema", async (c) => {
      await this.#lockMigrations(c);
      if (this.#schema !== null) {
        const exists = await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [
          this.#schema,
        ]);
        if (exists.rows.length === 0) await c.query(`CREATE SCHEMA ${quoteIdent(this.#schema)}`);
      }
      const cs = await c.query("SELECT current_schema() AS s");
      if (cs.rows[0]?.s == null) {
        throw new StateError(
          `state database ${this.location}: no schema of its search_path exists`,
          {
            exitClass: "config",
            hint: "create the schema named in the URL's options=-csearch_path%3D…, or set " +
              "RIVET_STATE_SCHEMA (Rivet creates that one)",
          },
        );
      }
      await c.query(POSTGRES_VERSION_TABLE_SQL);
    });
    const current = await this.schemaVersion();
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw new StateError(
        `state database ${this.location} has schema v${current}, newer than this Rivet ` +
          `understands (v${POSTGRES_SCHEMA_VERSION})`,
        { exitClass: "config", hint: "upgrade Rivet, or point RIVET_STATE_URL elsewhere" },
      );
    }
    for (const [version, sql] of POSTGRES_MIGRATIONS) {
      if (version <= current) continue;
      await this.#tx(`apply migration v${version}`, async (c) => {
        await this.#lockMigrations(c);
        // Another process may have applied it while we waited for the lock.
        if (await PostgresStateStore.#versionOf(c) >= version) return;
        await c.query(sql);
        await c.query("INSERT INTO rivet_schema_version (version) VALUES ($1)", [version]);
      });
    }
    const final = await this.#tx("finish the migration", async (c) => {
      await this.#lockMigrations(c);
      await c.query(
        `DELETE FROM rivet_schema_version
         WHERE version < (SELECT MAX(version) FROM rivet_schema_version)`,
      );
      await c.query(POSTGRES_CURSOR_BOUNDARY_SQL);
      await c.query(POSTGRES_CHUNK_LEASE_SQL);
      await c.query(POSTGRES_CHUNK_PUBLISH_SQL);
      return await PostgresStateStore.#versionOf(c);
    });
    if (final !== POSTGRES_SCHEMA_VERSION) {
      throw new StateError(
        `state: migration incomplete: expected schema v${POSTGRES_SCHEMA_VERSION}, reached v${final}`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end().catch(() => {});
  }

  // ── export_state ──────────────────────────────────────────────────────────────────────────

  getCursor(exportName: string): Promise<CursorRow | null> {
    return this.#run(`read the cursor of export "${exportName}"`, async (c) => {
      const r = await c.query(
        "SELECT export_name, last_cursor_value, last_run_at FROM export_state WHERE export_name = $1",
        [exportName],
      );
      const row = r.rows[0];
      return row === undefined ? null : toCursor(row);
    });
  }

  setCursor(
    exportName: string,
    value: string,
    at: string,
    boundaryHashes: readonly string[] = [],
  ): Promise<void> {
    return this.#tx(`save the cursor of export "${exportName}"`, async (c) => {
      await c.query(
        `INSERT INTO export_state (export_name, last_cursor_value, last_run_at) VALUES ($1, $2, $3)
         ON CONFLICT (export_name) DO UPDATE SET last_cursor_value = excluded.last_cursor_value,
           last_run_at = excluded.last_run_at`,
        [exportName, value, at],
      );
      await c.query(
        `INSERT INTO rivet_cursor_boundary (export_name, cursor_value, row_hashes, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (export_name) DO UPDATE SET cursor_value = excluded.cursor_value,
           row_hashes = excluded.row_hashes, updated_at = excluded.updated_at`,
        [exportName, value, JSON.stringify(boundaryHashes), at],
      );
    });
  }

  getCursorBoundary(exportName: string, value: string): Promise<string[]> {
    return this.#run(`read the cursor boundary of export "${exportName}"`, async (c) => {
      const r = await c.query(
        "SELECT cursor_value, row_hashes FROM rivet_cursor_boundary WHERE export_name = $1",
        [exportName],
      );
      const row = r.rows[0];
      if (row === undefined || row.cursor_value !== value) return [];
      const parsed: unknown = JSON.parse(String(row.row_hashes));
      return Array.isArray(parsed) ? parsed.map(String) : [];
    });
  }

  deleteCursor(exportName: string): Promise<boolean> {
    return this.#tx(`reset the cursor of export "${exportName}"`, async (c) => {
      await c.query("DELETE FROM rivet_cursor_boundary WHERE export_name = $1", [exportName]);
      const r = await c.query("DELETE FROM export_state WHERE export_name = $1", [exportName]);
      return (r.rowCount ?? 0) > 0;
    });
  }

  listCursors(): Promise<CursorRow[]> {
    return this.#run("list cursors", async (c) =>
      (await c.query(
        `SELECT export_name, last_cursor_value, last_run_at FROM export_state
         ORDER BY export_name COLLATE "C"`,
      )).rows.map(toCursor));
  }

  // ── export_metrics ────────────────────────────────────────────────────────────────────────

  recordMetric(m: MetricRecord): Promise<void> {
    return this.#run(`record the metrics of export "${m.export_name}"`, async (c) => {
      await c.query(
        `INSERT INTO export_metrics (export_name, run_at, duration_ms, total_rows, peak_rss_mb,
           status, error_message, tuning_profile, format, mode, files_produced, bytes_written,
           retries, validated, schema_changed, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
        [
          m.export_name,
          m.run_at,
          m.duration_ms,
          m.total_rows,
          m.peak_rss_mb,
          m.status,
          m.error_message,
          m.tuning_profile,
          m.format,
          m.mode,
          m.files_produced,
          m.bytes_written,
          m.retries,
          m.validated,
          m.schema_changed,
          m.run_id,
        ],
      );
    });
  }

  listMetrics(q: { readonly exportName?: string; readonly limit: number }): Promise<MetricRow[]> {
    return this.#run("list metrics", async (c) => {
      const cols = `id, export_name, run_at, duration_ms, total_rows, peak_rss_mb, status,
        error_message, tuning_profile, format, mode, files_produced, bytes_written, retries,
        validated, schema_changed, run_id`;
      const r = q.exportName === undefined
        ? await c.query(`SELECT ${cols} FROM export_metrics ORDER BY id DESC LIMIT $1`, [q.limit])
        : await c.query(
          `SELECT ${cols} FROM export_metrics WHERE export_name = $1 ORDER BY id DESC LIMIT $2`,
          [q.exportName, q.limit],
        );
      return r.rows.map(toMetric);
    });
  }

  // ── file_log ──────────────────────────────────────────────────────────────────────────────

  recordFile(f: FileRecord): Promise<void> {
    return this.#run(`record file ${f.file_name} of export "${f.export_name}"`, async (c) => {
      await c.query(
        `INSERT INTO file_log (run_id, export_name, file_name, row_count, bytes, format,
           compression, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          f.run_id,
          f.export_name,
          f.file_name,
          f.row_count,
          f.bytes,
          f.format,
          f.compression,
          f.created_at,
        ],
      );
    });
  }

  listFiles(q: { readonly exportName?: string; readonly limit: number }): Promise<FileRow[]> {
    return this.#run("list files", async (c) => {
      const cols =
        "id, run_id, export_name, file_name, row_count, bytes, format, compression, created_at";
      const r = q.exportName === undefined
        ? await c.query(`SELECT ${cols} FROM file_log ORDER BY id DESC LIMIT $1`, [q.limit])
        : await c.query(
          `SELECT ${cols} FROM file_log WHERE export_name = $1 ORDER BY id DESC LIMIT $2`,
          [q.exportName, q.limit],
        );
      return r.rows.map((row) => ({
        id: num(row.id),
        run_id: str(row.run_id),
        export_name: str(row.export_name),
        file_name: str(row.file_name),
        row_count: num(row.row_count),
        bytes: num(row.bytes),
        format: str(row.format),
        compression: strOrNull(row.compression),
        created_at: str(row.created_at),
      }));
    });
  }

  // ── export_schema ─────────────────────────────────────────────────────────────────────────

  getSchema(exportName: string): Promise<SchemaSnapshot | null> {
    return this.#run(`read the schema snapshot of export "${exportName}"`, async (c) => {
      const r = await c.query(
        "SELECT export_name, columns_json, updated_at FROM export_schema WHERE export_name = $1",
        [exportName],
      );
      const row = r.rows[0];
      if (row === undefined) return null;
      const parsed: unknown = JSON.parse(str(row.columns_json));
      const columns = Array.isArray(parsed)
        ? parsed.map((col) => ({ name: String(col?.name ?? ""), type: String(col?.type ?? "") }))
        : [];
      return { export_name: str(row.export_name), columns, updated_at: str(row.updated_at) };
    });
  }

  putSchema(exportName: string, columns: readonly SchemaColumn[], at: string): Promise<void> {
    return this.#run(`save the schema snapshot of export "${exportName}"`, async (c) => {
      const json = JSON.stringify(columns.map((col) => ({ name: col.name, type: col.type })));
      await c.query(
        `INSERT INTO export_schema (export_name, columns_json, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (export_name) DO UPDATE SET columns_json = excluded.columns_json,
           updated_at = excluded.updated_at`,
        [exportName, json, at],
      );
    });
  }

  // ── export_shape ──────────────────────────────────────────────────────────────────────────

  getShape(exportName: string): Promise<Record<string, number>> {
    return this.#run(`read the shape of export "${exportName}"`, async (c) => {
      const out: Record<string, number> = {};
      const r = await c.query(
        `SELECT column_name, max_byte_len FROM export_shape WHERE export_name = $1
         ORDER BY column_name COLLATE "C"`,
        [exportName],
      );
      for (const row of r.rows) out[str(row.column_name)] = num(row.max_byte_len);
      return out;
    });
  }

  raiseShape(
    exportName: string,
    maxima: Readonly<Record<string, number>>,
    at: string,
  ): Promise<void> {
    const entries = Object.entries(maxima);
    if (entries.length === 0) return Promise.resolve();
    return this.#run(`save the shape of export "${exportName}"`, async (c) => {
      // One statement: atomic without an explicit transaction.
      await c.query(
        `INSERT INTO export_shape (export_name, column_name, max_byte_len, updated_at)
         SELECT $1, col, len, $4 FROM unnest($2::text[], $3::bigint[]) AS t(col, len)
         ON CONFLICT (export_name, column_name) DO UPDATE SET
           max_byte_len = GREATEST(export_shape.max_byte_len, excluded.max_byte_len),
           updated_at = excluded.updated_at`,
        [exportName, entries.map(([k]) => k), entries.map(([, v]) => v), at],
      );
    });
  }

  // ── run_journal ───────────────────────────────────────────────────────────────────────────

  saveJournal(journal: RunJournal, finishedAt: string): Promise<void> {
    return this.#run(`save the journal of run ${journal.run_id}`, async (c) => {
      await c.query(
        `INSERT INTO run_journal (run_id, export_name, finished_at, journal_json)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (run_id) DO UPDATE SET export_name = excluded.export_name,
           finished_at = excluded.finished_at, journal_json = excluded.journal_json`,
        [journal.run_id, journal.export_name, finishedAt, journalToJson(journal)],
      );
    });
  }

  getJournal(runId: string): Promise<StoredJournal | null> {
    return this.#run(`read the journal of run ${runId}`, async (c) => {
      const r = await c.query(
        "SELECT run_id, export_name, finished_at, journal_json FROM run_journal WHERE run_id = $1",
        [runId],
      );
      const row = r.rows[0];
      return row === undefined ? null : toJournal(row);
    });
  }

  listJournals(exportName: string, limit: number): Promise<StoredJournal[]> {
    return this.#run(`list the journals of export "${exportName}"`, async (c) =>
      (await c.query(
        `SELECT run_id, export_name, finished_at, journal_json FROM run_journal
         WHERE export_name = $1 ORDER BY finished_at COLLATE "C" DESC, run_id COLLATE "C" DESC
         LIMIT $2`,
        [exportName, limit],
      )).rows.map(toJournal));
  }

  // ── export_progression ────────────────────────────────────────────────────────────────────

  recordCommitted(exportName: string, b: CommittedBoundary, at: string): Promise<void> {
    return this.#run(`record the committed boundary of export "${exportName}"`, async (c) => {
      const cursor = b.strategy === "incremental" ? b.cursor : null;
      const index = b.strategy === "chunked" ? b.chunk_index : null;
      // Text comparison in byte order (COLLATE "C"), as SQLite compares.
      await c.query(
        `INSERT INTO export_progression (export_name, last_committed_strategy,
           last_committed_cursor, last_committed_chunk_index, last_committed_run_id,
           last_committed_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (export_name) DO UPDATE SET
           last_committed_strategy = excluded.last_committed_strategy,
           last_committed_cursor = CASE
             WHEN excluded.last_committed_cursor IS NOT NULL
               AND export_progression.last_committed_cursor IS NOT NULL
               AND export_progression.last_committed_cursor COLLATE "C"
                 > excluded.last_committed_cursor COLLATE "C"
             THEN export_progression.last_committed_cursor
             ELSE excluded.last_committed_cursor END,
           last_committed_chunk_index = excluded.last_committed_chunk_index,
           last_committed_run_id = excluded.last_committed_run_id,
           last_committed_at = excluded.last_committed_at`,
        [exportName, b.strategy, cursor, index, b.run_id, at],
      );
    });
  }

  recordVerified(exportName: string, b: VerifiedBoundary, at: string): Promise<void> {
    return this.#run(`record the verified boundary of export "${exportName}"`, async (c) => {
      await c.query(
        `INSERT INTO export_progression (export_name, last_verified_strategy,
           last_verified_cursor, last_verified_chunk_index, last_verified_run_id, last_verified_at)
         VALUES ($1, $2, NULL, $3, $4, $5)
         ON CONFLICT (export_name) DO UPDATE SET
           last_verified_strategy = excluded.last_verified_strategy,
           last_verified_cursor = NULL,
           last_verified_chunk_index = excluded.last_verified_chunk_index,
           last_verified_run_id = excluded.last_verified_run_id,
           last_verified_at = excluded.last_verified_at`,
        [exportName, b.strategy, b.chunk_index, b.run_id, at],
      );
    });
  }

  listProgression(exportName?: string): Promise<ProgressionRow[]> {
    return this.#run("list progression", async (c) => {
      const r = exportName === undefined
        ? await c.query(`SELECT * FROM export_progression ORDER BY export_name COLLATE "C"`)
        : await c.query("SELECT * FROM export_progression WHERE export_name = $1", [exportName]);
      return r.rows.map((row) => ({
        export_name: str(row.export_name),
        last_committed_strategy: strOrNull(row.last_committed_strategy),
        last_committed_cursor: strOrNull(row.last_committed_cursor),
        last_committed_chunk_index: numOrNull(row.last_committed_chunk_index),
        last_committed_run_id: strOrNull(row.last_committed_run_id),
        last_committed_at: strOrNull(row.last_committed_at),
        last_verified_strategy: strOrNull(row.last_verified_strategy),
        last_verified_cursor: strOrNull(row.last_verified_cursor),
        last_verified_chunk_index: numOrNull(row.last_verified_chunk_index),
        last_verified_run_id: strOrNull(row.last_verified_run_id),
        last_verified_at: strOrNull(row.last_verified_at),
      }));
    });
  }

  // ── run_aggregate ─────────────────────────────────────────────────────────────────────────

  insertRunAggregate(a: RunAggregateRecord): Promise<void> {
    return this.#run(`record run aggregate ${a.run_aggregate_id}`, async (c) => {
      await c.query(
        `INSERT INTO run_aggregate (run_aggregate_id, started_at, finished_at, duration_ms,
           config_path, parallel_mode, total_exports, success_count, failed_count, skipped_count,
           total_rows, total_files, total_bytes, details_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          a.run_aggregate_id,
          a.started_at,
          a.finished_at,
          a.duration_ms,
          a.config_path,
          a.parallel_mode,
          a.total_exports,
          a.success_count,
          a.failed_count,
          a.skipped_count,
          a.total_rows,
          a.total_files,
          a.total_bytes,
          JSON.stringify(a.details),
        ],
      );
    });
  }

  // ── chunk_run / chunk_task ────────────────────────────────────────────────────────────────

  createChunkRun(run: NewChunkRun, at: string): Promise<CreateChunkRunResult> {
    return this.#tx(`create chunk checkpoint run ${run.run_id}`, async (c) => {
      // Serializes creators of one export: the in-progress check below cannot race.
      await c.query(
        `SELECT pg_advisory_xact_lock($1::int,
           hashtext(current_setting('search_path') || '|' || $2))`,
        [CHUNK_RUN_LOCK, run.export_name],
      );
      const existing = await c.query(
        `SELECT run_id FROM chunk_run WHERE export_name = $1 AND status = 'in_progress'
         ORDER BY created_at COLLATE "C" DESC, run_id COLLATE "C" DESC LIMIT 1`,
        [run.export_name],
      );
      const first = existing.rows[0];
      if (first !== undefined) {
        return { created: false, in_progress_run_id: str(first.run_id) } as CreateChunkRunResult;
      }
      await c.query(
        `INSERT INTO chunk_run (run_id, export_name, plan_hash, status, max_chunk_attempts,
           created_at, updated_at) VALUES ($1, $2, $3, 'in_progress', $4, $5, $5)`,
        [run.run_id, run.export_name, run.plan_hash, run.max_chunk_attempts, at],
      );
      if (run.tasks.length > 0) {
        await c.query(
          `INSERT INTO chunk_task (run_id, chunk_index, start_key, end_key, status, attempts,
             updated_at)
           SELECT $1, t.i - 1, t.s, t.e, 'pending', 0, $4
           FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(s, e, i)`,
          [run.run_id, run.tasks.map((t) => t.start_key), run.tasks.map((t) => t.end_key), at],
        );
      }
      return { created: true } as CreateChunkRunResult;
    });
  }

  findInProgressChunkRun(exportName: string): Promise<ChunkRunRow | null> {
    return this.#run(`find the in-progress chunk run of export "${exportName}"`, async (c) => {
      const r = await c.query(
        `SELECT ${RUN_COLUMNS} FROM chunk_run WHERE export_name = $1 AND status = 'in_progress'
         ORDER BY created_at COLLATE "C" DESC, run_id COLLATE "C" DESC LIMIT 1`,
        [exportName],
      );
      const row = r.rows[0];
      return row === undefined ? null : toRun(row);
    });
  }

  latestChunkRun(exportName: string): Promise<ChunkRunRow | null> {
    return this.#run(`find the latest chunk run of export "${exportName}"`, async (c) => {
      const r = await c.query(
        `SELECT ${RUN_COLUMNS} FROM chunk_run WHERE export_name = $1
         ORDER BY updated_at COLLATE "C" DESC, created_at COLLATE "C" DESC,
           run_id COLLATE "C" DESC LIMIT 1`,
        [exportName],
      );
      const row = r.rows[0];
      return row === undefined ? null : toRun(row);
    });
  }

  claimChunkTask(runId: string, at: string): Promise<ChunkTaskRow | null> {
    return this.#tx(`claim a chunk task of run ${runId}`, async (c) => {
      // SKIP LOCKED: concurrent claimers each take a different task without waiting.
      const r = await c.query(
        `WITH next AS (
           SELECT t.id FROM chunk_task t JOIN chunk_run r ON r.run_id = t.run_id
           WHERE t.run_id = $2 AND r.status = 'in_progress'
             AND (t.status = 'pending'
                  OR (t.status = 'failed' AND t.attempts < r.max_chunk_attempts))
           ORDER BY t.chunk_index LIMIT 1
           FOR UPDATE OF t SKIP LOCKED)
         UPDATE chunk_task SET status = 'running', attempts = chunk_task.attempts + 1,
           updated_at = $1
         FROM next WHERE chunk_task.id = next.id
         RETURNING ${TASK_COLUMNS.split(", ").map((col) => `chunk_task.${col}`).join(", ")}`,
        [at, runId],
      );
      const row = r.rows[0];
      if (row === undefined) return null;
      await dropLease(c, runId, num(row.chunk_index));
      await touchRun(c, runId, at);
      return toTask(row);
    });
  }

  claimChunkTaskLeased(
    runId: string,
    lease: ChunkLeaseRequest,
    at: string,
  ): Promise<LeasedChunkTask | null> {
    return this.#tx(`claim a chunk task of run ${runId}`, async (c) => {
      // SKIP LOCKED: concurrent claimers each take a different task without waiting. A running
      // task is claimable only when its lease lapsed (byte order of RFC 3339 UTC text = time).
      const r = await c.query(
        `WITH next AS (
           SELECT t.id FROM chunk_task t JOIN chunk_run r ON r.run_id = t.run_id
           LEFT JOIN rivet_chunk_lease l ON l.run_id = t.run_id AND l.chunk_index = t.chunk_index
           WHERE t.run_id = $2 AND r.status = 'in_progress'
             AND (t.status = 'pending'
                  OR (t.status IN ('failed', 'running') AND t.attempts < r.max_chunk_attempts
                      AND (t.status = 'failed' OR l.lease_until COLLATE "C" < $1 COLLATE "C")))
           ORDER BY t.chunk_index LIMIT 1
           FOR UPDATE OF t SKIP LOCKED)
         UPDATE chunk_task SET status = 'running', attempts = chunk_task.attempts + 1,
           updated_at = $1
         FROM next WHERE chunk_task.id = next.id
         RETURNING ${TASK_COLUMNS.split(", ").map((col) => `chunk_task.${col}`).join(", ")}`,
        [at, runId],
      );
      const row = r.rows[0];
      if (row === undefined) return null;
      const token = crypto.randomUUID();
      await c.query(
        `INSERT INTO rivet_chunk_lease (run_id, chunk_index, worker_id, token, lease_until,
           claimed_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (run_id, chunk_index) DO UPDATE SET worker_id = excluded.worker_id,
           token = excluded.token, lease_until = excluded.lease_until,
           claimed_at = excluded.claimed_at`,
        [runId, num(row.chunk_index), lease.worker_id, token, lease.lease_until, at],
      );
      await touchRun(c, runId, at);
      return { ...toTask(row), worker_id: lease.worker_id, lease_until: lease.lease_until, token };
    });
  }

  renewChunkLease(
    runId: string,
    chunkIndex: number,
    token: string,
    leaseUntil: string,
    _at: string,
  ): Promise<boolean> {
    return this.#tx(`renew the lease of chunk ${chunkIndex} of run ${runId}`, async (c) => {
      if (!await holds(c, runId, chunkIndex, token)) return false;
      await c.query(
        "UPDATE rivet_chunk_lease SET lease_until = $1 WHERE run_id = $2 AND chunk_index = $3",
        [leaseUntil, runId, chunkIndex],
      );
      return true;
    });
  }

  listChunkLeases(runId: string): Promise<ChunkLeaseRow[]> {
    return this.#run(`list the chunk leases of run ${runId}`, async (c) =>
      (await c.query(
        `SELECT run_id, chunk_index, worker_id, lease_until, claimed_at FROM rivet_chunk_lease
         WHERE run_id = $1 ORDER BY chunk_index`,
        [runId],
      )).rows.map(toLease));
  }

  releaseChunkTask(
    runId: string,
    chunkIndex: number,
    token: string,
    at: string,
  ): Promise<boolean> {
    return this.#tx(`release chunk ${chunkIndex} of run ${runId}`, async (c) => {
      if (!await holds(c, runId, chunkIndex, token)) return false;
      await c.query(
        `UPDATE chunk_task SET status = 'pending', attempts = GREATEST(attempts - 1, 0),
           updated_at = $1
         WHERE run_id = $2 AND chunk_index = $3`,
        [at, runId, chunkIndex],
      );
      await dropLease(c, runId, chunkIndex);
      await touchRun(c, runId, at);
      return true;
    });
  }

  getChunkRun(runId: string): Promise<ChunkRunRow | null> {
    return this.#run(`read chunk run ${runId}`, async (c) => {
      const r = await c.query(`SELECT ${RUN_COLUMNS} FROM chunk_run WHERE run_id = $1`, [runId]);
      const row = r.rows[0];
      return row === undefined ? null : toRun(row);
    });
  }

  completeChunkTask(
    runId: string,
    chunkIndex: number,
    result: { readonly rows_written: number; readonly file_name: string | null },
    at: string,
    token?: string,
  ): Promise<boolean> {
    return this.#tx(`complete chunk ${chunkIndex} of run ${runId}`, async (c) => {
      if (token !== undefined && !await holds(c, runId, chunkIndex, token)) return false;
      const r = await c.query(
        `UPDATE chunk_task SET status = 'completed', rows_written = $1, file_name = $2,
           last_error = NULL, updated_at = $3
         WHERE run_id = $4 AND chunk_index = $5 AND status = 'running'`,
        [result.rows_written, result.file_name, at, runId, chunkIndex],
      );
      const changed = (r.rowCount ?? 0) > 0;
      if (changed) await touchRun(c, runId, at);
      return changed;
    });
  }

  failChunkTask(
    runId: string,
    chunkIndex: number,
    error: string,
    at: string,
    token?: string,
  ): Promise<boolean> {
    return this.#tx(`mark chunk ${chunkIndex} of run ${runId} failed`, async (c) => {
      if (token !== undefined && !await holds(c, runId, chunkIndex, token)) return false;
      const r = await c.query(
        `UPDATE chunk_task SET status = 'failed', last_error = $1, updated_at = $2
         WHERE run_id = $3 AND chunk_index = $4 AND status = 'running'`,
        [error, at, runId, chunkIndex],
      );
      const changed = (r.rowCount ?? 0) > 0;
      if (changed) await touchRun(c, runId, at);
      return changed;
    });
  }

  resetRunningChunkTasks(runId: string, at: string): Promise<number> {
    return this.#tx(`reset running chunks of run ${runId}`, async (c) => {
      const r = await c.query(
        `UPDATE chunk_task SET status = 'pending', updated_at = $1
         WHERE run_id = $2 AND status = 'running'`,
        [at, runId],
      );
      await c.query(
        `DELETE FROM rivet_chunk_lease WHERE run_id = $1 AND chunk_index IN (
           SELECT chunk_index FROM chunk_task WHERE run_id = $1 AND status <> 'completed')`,
        [runId],
      );
      const n = r.rowCount ?? 0;
      if (n > 0) await touchRun(c, runId, at);
      return n;
    });
  }

  requeueChunkTask(
    runId: string,
    chunkIndex: number,
    reason: string,
    at: string,
  ): Promise<boolean> {
    return this.#tx(`requeue chunk ${chunkIndex} of run ${runId}`, async (c) => {
      const r = await c.query(
        `UPDATE chunk_task SET status = 'pending', attempts = 0, file_name = NULL,
           rows_written = NULL, last_error = $1, updated_at = $2
         WHERE run_id = $3 AND chunk_index = $4 AND status = 'completed'`,
        [reason, at, runId, chunkIndex],
      );
      const changed = (r.rowCount ?? 0) > 0;
      if (changed) {
        await dropLease(c, runId, chunkIndex);
        await touchRun(c, runId, at);
      }
      return changed;
    });
  }

  listChunkTasks(runId: string): Promise<ChunkTaskRow[]> {
    return this.#run(`list the chunks of run ${runId}`, async (c) =>
      (await c.query(
        `SELECT ${TASK_COLUMNS} FROM chunk_task WHERE run_id = $1 ORDER BY chunk_index`,
        [runId],
      )).rows.map(toTask));
  }

  finishChunkRun(runId: string, at: string): Promise<FinishChunkRunResult> {
    return this.#tx(`finish chunk run ${runId}`, async (c): Promise<FinishChunkRunResult> => {
      // Lock the run row first so a concurrent requeue/complete/finish cannot interleave.
      const run = await c.query("SELECT status FROM chunk_run WHERE run_id = $1 FOR UPDATE", [
        runId,
      ]);
      const r = await c.query(
        "SELECT COUNT(*) AS n FROM chunk_task WHERE run_id = $1 AND status <> 'completed'",
        [runId],
      );
      const open = num(r.rows[0]?.n);
      if (open > 0) return { completed: false, not_completed: open };
      if (run.rows[0]?.status === "completed") return { completed: true, finished_now: false };
      const flipped = await c.query(
        "UPDATE chunk_run SET status = 'completed', updated_at = $1 WHERE run_id = $2",
        [at, runId],
      );
      return { completed: true, finished_now: (flipped.rowCount ?? 0) > 0 };
    });
  }

  claimChunkRunPublish(
    runId: string,
    lease: ChunkLeaseRequest,
    at: string,
  ): Promise<ClaimChunkPublishResult> {
    return this.#tx(
      `claim the publication of chunk run ${runId}`,
      async (c): Promise<ClaimChunkPublishResult> => {
        // The run row lock serializes concurrent claimers of one run (compare-and-set).
        const run = await c.query(
          "SELECT status, created_at FROM chunk_run WHERE run_id = $1 FOR UPDATE",
          [runId],
        );
        const r = run.rows[0];
        if (r === undefined || str(r.status) !== "completed") {
          return { claimed: false, reason: "not_completed" };
        }
        const p = (await c.query(
          `SELECT worker_id, lease_until, published_at, run_created_at FROM rivet_chunk_publish
           WHERE run_id = $1`,
          [runId],
        )).rows[0];
        if (p !== undefined && str(p.run_created_at) === str(r.created_at)) {
          if (p.published_at !== null) {
            return {
              claimed: false,
              reason: "published",
              worker_id: str(p.worker_id),
              published_at: str(p.published_at),
            };
          }
          if (str(p.lease_until) >= at) {
            return {
              claimed: false,
              reason: "held",
              worker_id: str(p.worker_id),
              lease_until: str(p.lease_until),
            };
          }
        }
        const token = crypto.randomUUID();
        await c.query(
          `INSERT INTO rivet_chunk_publish (run_id, run_created_at, worker_id, token, lease_until,
             claimed_at, published_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)
           ON CONFLICT (run_id) DO UPDATE SET run_created_at = excluded.run_created_at,
             worker_id = excluded.worker_id, token = excluded.token,
             lease_until = excluded.lease_until, claimed_at = excluded.claimed_at,
             published_at = NULL`,
          [runId, str(r.created_at), lease.worker_id, token, lease.lease_until, at],
        );
        return { claimed: true, token };
      },
    );
  }

  renewChunkRunPublish(runId: string, token: string, leaseUntil: string): Promise<boolean> {
    return this.#run(`renew the publication lease of chunk run ${runId}`, async (c) => {
      const r = await c.query(
        `UPDATE rivet_chunk_publish SET lease_until = $1
         WHERE run_id = $2 AND token = $3 AND published_at IS NULL`,
        [leaseUntil, runId, token],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  finishChunkRunPublish(runId: string, token: string, at: string): Promise<boolean> {
    return this.#run(`mark chunk run ${runId} published`, async (c) => {
      const r = await c.query(
        `UPDATE rivet_chunk_publish SET published_at = $1
         WHERE run_id = $2 AND token = $3 AND published_at IS NULL`,
        [at, runId, token],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  releaseChunkRunPublish(runId: string, token: string): Promise<boolean> {
    return this.#run(`release the publication of chunk run ${runId}`, async (c) => {
      const r = await c.query(
        `DELETE FROM rivet_chunk_publish
         WHERE run_id = $1 AND token = $2 AND published_at IS NULL`,
        [runId, token],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  getChunkRunPublish(runId: string): Promise<ChunkPublishRow | null> {
    return this.#run(`read the publication of chunk run ${runId}`, async (c) => {
      const r = (await c.query(
        `SELECT run_id, worker_id, lease_until, claimed_at, published_at FROM rivet_chunk_publish
         WHERE run_id = $1`,
        [runId],
      )).rows[0];
      return r === undefined ? null : {
        run_id: str(r.run_id),
        worker_id: str(r.worker_id),
        lease_until: str(r.lease_until),
        claimed_at: str(r.claimed_at),
        published_at: r.published_at === null || r.published_at === undefined
          ? null
          : str(r.published_at),
      };
    });
  }

  deleteChunkRuns(exportName: string): Promise<{ runs: number; tasks: number }> {
    return this.#tx(`delete the chunk runs of export "${exportName}"`, async (c) => {
      await c.query(
        "DELETE FROM rivet_chunk_publish WHERE run_id IN (SELECT run_id FROM chunk_run WHERE export_name = $1)",
        [exportName],
      );
      await c.query(
        "DELETE FROM rivet_chunk_lease WHERE run_id IN (SELECT run_id FROM chunk_run WHERE export_name = $1)",
        [exportName],
      );
      const tasks = await c.query(
        "DELETE FROM chunk_task WHERE run_id IN (SELECT run_id FROM chunk_run WHERE export_name = $1)",
        [exportName],
      );
      const runs = await c.query("DELETE FROM chunk_run WHERE export_name = $1", [exportName]);
      return { runs: runs.rowCount ?? 0, tasks: tasks.rowCount ?? 0 };
    });
  }
}

/**
 * Whether the claim `token` still holds the running task. Locks the task row first: every lease
 * write happens under that lock, so the answer stays true until the transaction ends.
 */
async function holds(
  c: PgPoolClient,
  runId: string,
  chunkIndex: number,
  token: string,
): Promise<boolean> {
  const t = await c.query(
    "SELECT status FROM chunk_task WHERE run_id = $1 AND chunk_index = $2 FOR UPDATE",
    [runId, chunkIndex],
  );
  if (t.rows[0]?.status !== "running") return false;
  const l = await c.query(
    "SELECT token FROM rivet_chunk_lease WHERE run_id = $1 AND chunk_index = $2",
    [runId, chunkIndex],
  );
  return l.rows[0]?.token === token;
}

async function dropLease(c: PgPoolClient, runId: string, chunkIndex: number): Promise<void> {
  await c.query("DELETE FROM rivet_chunk_lease WHERE run_id = $1 AND chunk_index = $2", [
    runId,
    chunkIndex,
  ]);
}

async function touchRun(c: PgPoolClient, runId: string, at: string): Promise<void> {
  await c.query("UPDATE chunk_run SET updated_at = $1 WHERE run_id = $2", [at, runId]);
}

// ── row mapping (BIGINT arrives as text from pg; BOOLEAN as boolean) ─────────────────────────
