// Runs a chunked export: probe, plan chunks, run them with N workers, checkpoint, resume (execution layer).
import { describeError, RivetError, SourceError } from "../errors.ts";
import type { Destination } from "../destination/destination.ts";
import {
  buildChunkPlan,
  type ChunkKind,
  type ChunkShape,
  chunkSqlFromKeys,
  DENSE_ROW_NUMBER,
  fingerprintInput,
} from "../plan/chunk_plan.ts";
import { chunkFileName, nonceHex } from "../plan/keyset_plan.ts";
import type { ExportPlan } from "../plan/plan_types.ts";
import { groupRunId, memoryChunkSize, mysqlAvgRowBytes } from "../plan/build_plan.ts";
import { quoteLiteral } from "../plan/sql_shapes.ts";
import type { Source, SourceConnection } from "../source/source.ts";
import type { ChunkRunRow, StateStore } from "../state/state_store.ts";
import {
  MANIFEST_NAME,
  parseManifest,
  parseSuccessMarker,
  SUCCESS_NAME,
  xxh3Fingerprint,
} from "../manifest.ts";
import { formatQualityIssue, qualityPassed, rowCountIssues } from "../quality/quality_gate.ts";
import { log } from "../observe/log.ts";
import { startChunkProgress } from "../observe/progress.ts";
import { ipcChunkProgress } from "../observe/cards.ts";
import { chunkWaitPolicy, waitBelow } from "../observe/rss_guard.ts";
import { startRssSampler } from "../observe/resource.ts";
import type { CommittedPart, ExportOutcome } from "./outcome.ts";
import {
  abortAll,
  commitParts,
  type ExportJobDeps,
  type Extracted,
  extractOnce,
  interrupted,
  isRetryable,
  quietly,
  validatePrefix,
  writeManifest,
  writeSuccessMarker,
} from "./export_job.ts";
import { JournalRecorder } from "./journal_recorder.ts";
import { probeChunks, resolveChunkColumn, xxh3Hasher } from "./chunk_probe.ts";
import { planResolvedEvent, recordJobEnd, recordPart } from "./job_record.ts";
import { crashPoint } from "./crash_hook.ts";
import type * as arrow from "apache-arrow";

type ChunkedStrategy = Extract<ExportPlan["strategy"], { kind: "chunked" }>;

/** One chunk to run: its index and keys (as stored in `chunk_task`). */
interface TaskView {
  readonly index: number;
  readonly startKey: string;
  readonly endKey: string;
  readonly attempt: number;
  /** The claim token of a leased (checkpointed) task; null in memory. */
  readonly token: string | null;
}

/** A claimed task's heartbeat: `signal` aborts when the lease is lost to another worker. */
interface Hold {
  readonly signal: AbortSignal;
  stop(): void;
}

/** What a completed chunk produced; stored as JSON in `chunk_task.file_name`. */
interface ChunkResult {
  readonly rows: number;
  readonly parts: readonly CommittedPart[];
}

/** Where chunk tasks come from: memory (no checkpoint) or the state store (checkpoint). */
interface TaskQueue {
  claim(): Promise<TaskView | null>;
  /** Keeps the claim alive while the chunk runs (lease renewal). */
  hold(task: TaskView): Hold;
  /** false when the claim was lost: another worker owns the chunk now. */
  complete(task: TaskView, result: ChunkResult): Promise<boolean>;
  fail(task: TaskView, error: string): Promise<void>;
  /** Gives an interrupted task back so another worker can take it at once. */
  release(task: TaskView): Promise<void>;
  /** Whether another worker still holds a live claim (so this one should wait, not leave). */
  othersRunning(): Promise<boolean>;
  /** Completed results by chunk index, and how many tasks are not completed. */
  results(): Promise<{ done: Map<number, ChunkResult>; notCompleted: number }>;
}

function encodeResult(r: ChunkResult): string {
  return JSON.stringify(r.parts.map((p) => ({
    name: p.name,
    rows: p.rows,
    bytes: p.bytes,
    xxh3: p.contentFingerprint,
    md5: p.contentMd5,
  })));
}

function decodeResult(rows: number, fileName: string | null): ChunkResult {
  if (fileName === null || fileName === "") return { rows, parts: [] };
  try {
    const raw = JSON.parse(fileName) as Array<
      { name: string; rows: number; bytes: number; xxh3: string; md5: string }
    >;
    return {
      rows,
      parts: raw.map((p) => ({
        name: p.name,
        rows: p.rows,
        bytes: p.bytes,
        contentFingerprint: p.xxh3,
        contentMd5: p.md5,
      })),
    };
  } catch {
    // A single plain file name (written by another implementation): sizes unknown.
    return {
      rows,
      parts: [{ name: fileName, rows, bytes: 0, contentFingerprint: "", contentMd5: "" }],
    };
  }
}

class MemoryQueue implements TaskQueue {
  readonly #tasks: Array<TaskView & { status: string; result?: ChunkResult }>;
  constructor(tasks: readonly TaskView[], private readonly maxAttempts: number) {
    this.#tasks = tasks.map((t) => ({ ...t, status: "pending" }));
  }
  claim(): Promise<TaskView | null> {
    const t = this.#tasks.find((t) =>
      t.status === "pending" || (t.status === "failed" && t.attempt < this.maxAttempts)
    );
    if (!t) return Promise.resolve(null);
    t.status = "running";
    (t as { attempt: number }).attempt++;
    return Promise.resolve({
      index: t.index,
      startKey: t.startKey,
      endKey: t.endKey,
      attempt: t.attempt,
      token: null,
    });
  }
  hold(): Hold {
    return { signal: new AbortController().signal, stop: () => {} };
  }
  complete(task: TaskView, result: ChunkResult): Promise<boolean> {
    const t = this.#tasks[task.index]!;
    t.status = "completed";
    t.result = result;
    return Promise.resolve(true);
  }
  fail(task: TaskView): Promise<void> {
    this.#tasks[task.index]!.status = "failed";
    return Promise.resolve();
  }
  release(task: TaskView): Promise<void> {
    this.#tasks[task.index]!.status = "pending";
    return Promise.resolve();
  }
  othersRunning(): Promise<boolean> {
    return Promise.resolve(false);
  }
  results() {
    const done = new Map<number, ChunkResult>();
    for (const t of this.#tasks) if (t.status === "completed") done.set(t.index, t.result!);
    return Promise.resolve({ done, notCompleted: this.#tasks.length - done.size });
  }
}

/**
 * Tasks of a checkpointed run in the state store, shared with any other worker of the same run:
 * each claim carries this worker's id and a lease that a heartbeat renews every third of it.
 */
class StateQueue implements TaskQueue {
  constructor(
    private readonly state: StateStore,
    private readonly runId: string,
    private readonly now: () => Date,
    private readonly worker: WorkerIdentity,
  ) {}
  #until(): string {
    return new Date(this.now().getTime() + this.worker.leaseMs).toISOString();
  }
  async claim(): Promise<TaskView | null> {
    const t = await this.state.claimChunkTaskLeased(
      this.runId,
      { worker_id: this.worker.id, lease_until: this.#until() },
      this.now().toISOString(),
    );
    return t === null ? null : {
      index: t.chunk_index,
      startKey: t.start_key,
      endKey: t.end_key,
      attempt: t.attempts,
      token: t.token,
    };
  }
  hold(task: TaskView): Hold {
    const lost = new AbortController();
    let renewed = this.now().getTime();
    let busy = false;
    const timer = setInterval(async () => {
      if (busy || lost.signal.aborted) return;
      busy = true;
      try {
        const ok = await this.state.renewChunkLease(
          this.runId,
          task.index,
          task.token!,
          this.#until(),
          this.now().toISOString(),
        );
        if (ok) renewed = this.now().getTime();
        else lost.abort(leaseLost(task.index));
      } catch (err) {
        log.warn(`chunk ${task.index}: cannot renew its lease: ${describeError(err)}`);
        // Past the lease another worker may take the chunk: stop working on it.
        if (this.now().getTime() - renewed > this.worker.leaseMs) lost.abort(leaseLost(task.index));
      } finally {
        busy = false;
      }
    }, Math.max(50, Math.floor(this.worker.leaseMs / 3)));
    return { signal: lost.signal, stop: () => clearInterval(timer) };
  }
  complete(task: TaskView, result: ChunkResult): Promise<boolean> {
    return this.state.completeChunkTask(
      this.runId,
      task.index,
      {
        rows_written: result.rows,
        file_name: result.parts.length === 0 ? null : encodeResult(result),
      },
      this.now().toISOString(),
      task.token ?? undefined,
    );
  }
  async fail(task: TaskView, error: string): Promise<void> {
    await this.state.failChunkTask(
      this.runId,
      task.index,
      error,
      this.now().toISOString(),
      task.token ?? undefined,
    );
  }
  async release(task: TaskView): Promise<void> {
    if (task.token === null) return;
    await this.state.releaseChunkTask(this.runId, task.index, task.token, this.now().toISOString());
  }
  async othersRunning(): Promise<boolean> {
    const [tasks, leases] = await Promise.all([
      this.state.listChunkTasks(this.runId),
      this.state.listChunkLeases(this.runId),
    ]);
    const now = this.now().toISOString();
    const live = new Set(
      leases.filter((l) => l.worker_id !== this.worker.id && l.lease_until >= now)
        .map((l) => l.chunk_index),
    );
    return tasks.some((t) => t.status === "running" && live.has(t.chunk_index));
  }
  async results() {
    const done = new Map<number, ChunkResult>();
    const tasks = await this.state.listChunkTasks(this.runId);
    for (const t of tasks) {
      if (t.status === "completed") {
        done.set(t.chunk_index, decodeResult(t.rows_written ?? 0, t.file_name));
      }
    }
    return { done, notCompleted: tasks.length - done.size };
  }
}

/** Who this process is among the workers of a run, and how long its claims hold. */
export interface WorkerIdentity {
  readonly id: string;
  readonly leaseMs: number;
}

/** A worker of a run group met an in-progress run of the export that is not its group's. */
function otherRunInProgress(plan: ExportPlan, otherRunId: string, group: string): RivetError {
  return new RivetError(
    `chunk checkpoint run '${otherRunId}' of export '${plan.name}' is still in progress and ` +
      `is not the run of run group '${group}'`,
    {
      exitClass: "config",
      hint:
        `finish it (\`rivet run -c <config> -e ${plan.name} --resume\`, or workers of its own ` +
        `group) or drop it with \`rivet state reset-chunks -c <config> -e ${plan.name}\``,
    },
  );
}

/** A chunk whose lease another worker took over: its work is abandoned, not failed. */
class LeaseLostError extends RivetError {}
const leaseLost = (index: number) =>
  new LeaseLostError(`chunk ${index}: this worker's lease lapsed and another worker took it`, {
    exitClass: "internal",
  });

/**
 * The worker id (`RIVET_WORKER_ID`, else `<host>:<pid>:<random>`) and the lease
 * (`RIVET_LEASE_SECONDS`, default 60 s; the heartbeat renews it every third).
 */
export function workerIdentity(
  env: (key: string) => string | undefined = (k) => Deno.env.get(k),
): WorkerIdentity {
  const seconds = Number(env("RIVET_LEASE_SECONDS") ?? "60");
  const leaseMs = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 60_000;
  const given = env("RIVET_WORKER_ID");
  if (given !== undefined && given.trim() !== "") return { id: given.trim(), leaseMs };
  let host = "host";
  try {
    host = Deno.hostname();
  } catch { /* no --allow-sys: a generic name, the pid and random suffix still tell apart */ }
  const suffix = [...crypto.getRandomValues(new Uint8Array(3))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return { id: `${host}:${Deno.pid}:${suffix}`, leaseMs };
}

/** The chunk column, logging a warning when it was resolved from the primary key. */
async function resolveColumn(
  plan: ExportPlan,
  s: ChunkedStrategy,
  source: Source,
): Promise<string> {
  const column = await resolveChunkColumn(plan, s, source);
  if (s.column === null) {
    log.warn(
      `export '${plan.name}': chunk_column not set — auto-resolved to '${column}' (the primary ` +
        "key). Set `chunk_column:` explicitly.",
    );
  }
  return column;
}

/** One source connection per parallel slot, reused across its chunks; dropped after a failure. */
interface SlotConnection {
  get(): Promise<Source>;
  drop(): Promise<void>;
}

function slotConnection(deps: ExportJobDeps, source: SourceConnection): SlotConnection {
  let src: Source | null = null;
  return {
    async get() {
      return src ??= await deps.openSource(source);
    },
    async drop() {
      const s = src;
      src = null;
      await s?.close().catch(() => {});
    },
  };
}

/** Runs one chunk with the source retry loop; returns its committed parts. */
async function runChunk(
  plan: ExportPlan,
  task: TaskView,
  ctx: {
    column: string;
    kind: ChunkKind;
    conn: SlotConnection;
    destination: Destination;
    state: StateStore;
    runId: string;
    deps: ExportJobDeps;
    onRows: (delta: number) => void;
  },
): Promise<ChunkResult> {
  const sql = chunkSqlFromKeys(
    plan.engine,
    plan.baseQuery,
    ctx.column,
    ctx.kind,
    task.startKey,
    task.endKey,
  );
  const drop = ctx.kind === "dense" ? [DENSE_ROW_NUMBER] : [];
  let extracted: Extracted | null = null;
  for (let attempt = 0;; attempt++) {
    let seen = 0;
    try {
      const src = await ctx.conn.get();
      extracted = await extractOnce(
        plan,
        {
          query: sql,
          dropColumns: drop,
          trackCursor: false,
          qualityGate: false,
          onRows: (rows) => {
            ctx.onRows(rows - seen);
            seen = rows;
          },
        },
        src,
        ctx.destination,
        ctx.deps,
      );
      break;
    } catch (err) {
      await ctx.conn.drop(); // never reuse a connection that failed mid-chunk
      ctx.onRows(-seen);
      if (!isRetryable(err) || attempt >= plan.tuning.maxRetries || ctx.deps.signal?.aborted) {
        throw err;
      }
      const backoff = plan.tuning.retryBackoffMs * 2 ** attempt;
      log.warn(
        `export '${plan.name}' chunk ${task.index}: ${describeError(err)} — retry ${attempt + 1}/` +
          `${plan.tuning.maxRetries} in ${backoff}ms [reconnecting]`,
      );
      await ctx.deps.sleep(backoff);
    }
  }
  if (extracted.rows === 0) {
    await abortAll(extracted);
    return { rows: 0, parts: [] };
  }
  const at = ctx.deps.now();
  const nonce = nonceHex(crypto.getRandomValues(new Uint8Array(8)));
  const count = extracted.pending.length;
  const ext = extracted.extension as "parquet" | "csv";
  const names = extracted.pending.map((_, j) =>
    chunkFileName(plan.name, at, task.index, nonce, ext, { index: j, count })
  );
  const parts = await commitParts(
    plan,
    extracted,
    names,
    (part) => recordPart(plan, ctx.state, ctx.runId, ctx.deps.now(), part),
  );
  crashPoint(`after_chunk_file:${task.index}`);
  return { rows: extracted.rows, parts };
}

const CHUNK_FILE = /_(\d{8})_(\d{6})_chunk\d+_[0-9a-f]{16}(_part\d+)?\.(parquet|csv)$/;

/**
 * Before a resume: completed chunks whose files are missing or changed at the destination are
 * queued again, and chunk files this run wrote but never completed (a crash between the upload
 * and the task update) move to `_quarantine/<run id>/`, so the prefix ends with exactly one
 * copy of every chunk.
 */
async function reconcileDestination(
  plan: ExportPlan,
  runId: string,
  createdAt: string,
  destination: Destination,
  state: StateStore,
  deps: ExportJobDeps,
): Promise<void> {
  const listing = await destination.list();
  const byName = new Map(listing.map((o) => [o.name, o]));
  const known = new Set<string>();
  for (const t of await state.listChunkTasks(runId)) {
    if (t.status !== "completed") continue;
    const result = decodeResult(t.rows_written ?? 0, t.file_name);
    let intact = true;
    for (const p of result.parts) {
      known.add(p.name);
      const o = byName.get(p.name);
      if (!o || (p.bytes > 0 && o.size !== p.bytes)) intact = false;
    }
    if (!intact) {
      log.warn(
        `export '${plan.name}': chunk ${t.chunk_index}'s files are missing or changed at ${destination.uri}; it will be exported again`,
      );
      await state.requeueChunkTask(
        runId,
        t.chunk_index,
        "files missing or changed at the destination",
        deps.now().toISOString(),
      );
      for (const p of result.parts) known.delete(p.name);
    }
  }
  await quarantineStrays(plan, runId, createdAt, destination, known, listing);
}

/**
 * Moves chunk files of this run that no completed task lists to `_quarantine/<run id>/`: files
 * of a worker killed between its upload and its completion, or of a worker whose lease another
 * one took over. Best effort: failures only warn.
 */
async function quarantineStrays(
  plan: ExportPlan,
  runId: string,
  createdAt: string,
  destination: Destination,
  known: ReadonlySet<string>,
  listing?: readonly { readonly name: string }[],
): Promise<void> {
  listing ??= await destination.list();
  const since = createdAt.replace(/[-:]/g, "").slice(0, 15); // YYYYMMDDTHHMMSS
  for (const o of listing) {
    const m = CHUNK_FILE.exec(o.name);
    if (
      !m || !o.name.startsWith(`${plan.name}_`) || known.has(o.name) ||
      o.name.includes("_quarantine/")
    ) continue;
    if (`${m[1]}T${m[2]}` < since) continue; // an older run's file, not ours
    const target = `_quarantine/${runId}/${o.name}`;
    try {
      const bytes = await destination.read(o.name);
      if (bytes !== null) {
        await destination.put(target, bytes);
        await destination.delete(o.name);
        log.warn(
          `export '${plan.name}': ${o.name} was never recorded as completed (its worker crashed or lost its lease after the upload); moved to ${target}`,
        );
      }
    } catch (err) {
      log.warn(`export '${plan.name}': cannot quarantine ${o.name}: ${describeError(err)}`);
    }
  }
}

/**
 * The run group of a worker: `--run-group` (planned into `plan.runGroup`), else the
 * `RIVET_RUN_GROUP` environment variable. null unless `--worker` on a checkpointed export.
 */
export function runGroupOf(
  plan: ExportPlan,
  env: (key: string) => string | undefined = (k) => Deno.env.get(k),
): string | null {
  const s = plan.strategy;
  if (plan.worker !== true || s.kind !== "chunked" || !s.checkpoint) return null;
  if (plan.runGroup !== undefined) return plan.runGroup;
  const given = env("RIVET_RUN_GROUP")?.trim();
  return given === undefined || given === "" ? null : given;
}

/**
 * The text the plan fingerprint hashes. Unchanged (spec 4.7.5) except with
 * `chunk_size_memory_mb` on a range or dense shape: the configured megabytes stand in for the
 * chunk size (`mem_<mb>mb`), so a resume or a joining worker matches even when the table's
 * statistics, and with them the derived chunk size, moved in between.
 */
function fingerprintText(plan: ExportPlan, column: string, s: ChunkedStrategy): string {
  const shape = s.shape;
  if (
    s.memorySizing === undefined || shape.kind === "by_days" ||
    (shape.kind === "range" && shape.chunkCount !== null)
  ) {
    return fingerprintInput(plan.baseQuery, column, shape);
  }
  const sep = "\x1F";
  return `${plan.baseQuery}${sep}${column}${sep}mem_${s.memorySizing.mb}mb${sep}${
    shape.kind === "dense" ? "dense_rn" : "range"
  }`;
}

/** What the catalog says about a table: estimated rows and average row bytes (null: unknown). */
interface TableStats {
  readonly rows: number | null;
  readonly avgRowBytes: number | null;
}

/**
 * Reads the table's statistics (spec 4.1 step 5): PostgreSQL `pg_class.reltuples` and
 * `pg_relation_size / reltuples`; MySQL `information_schema.TABLES` TABLE_ROWS and
 * AVG_ROW_LENGTH (corrected above 8 KiB; DATA_LENGTH / TABLE_ROWS when it is 0). Never throws:
 * a failed lookup is a warning and unknown values.
 */
async function tableStats(plan: ExportPlan, table: string, source: Source): Promise<TableStats> {
  try {
    if (plan.engine === "postgres") {
      const v = await source.scalar(
        `SELECT c.reltuples::bigint::text || ':' || pg_relation_size(c.oid)::text
           FROM pg_class c WHERE c.oid = to_regclass(${quoteLiteral("postgres", table)})`,
      );
      if (v === null) return { rows: null, avgRowBytes: null };
      const [rows, size] = v.split(":").map(Number) as [number, number];
      // reltuples is -1 (PostgreSQL 14+) or 0 before the first VACUUM/ANALYZE: unknown.
      return {
        rows: rows >= 0 ? rows : null,
        avgRowBytes: rows > 0 && size > 0 ? size / rows : null,
      };
    }
    const unquoted = table.replaceAll("`", "");
    const [schema, name] = unquoted.includes(".")
      ? unquoted.split(".", 2) as [string, string]
      : [null, unquoted];
    const v = await source.scalar(
      `SELECT CONCAT(COALESCE(TABLE_ROWS, -1), ':', COALESCE(AVG_ROW_LENGTH, 0), ':',
                     COALESCE(DATA_LENGTH, 0))
         FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = ${schema === null ? "DATABASE()" : quoteLiteral("mysql", schema)}
          AND TABLE_NAME = ${quoteLiteral("mysql", name)}`,
    );
    if (v === null) return { rows: null, avgRowBytes: null };
    const [rows, avg, data] = v.split(":").map(Number) as [number, number, number];
    const raw = avg > 0 ? avg : rows > 0 && data > 0 ? data / rows : 0;
    return { rows: rows >= 0 ? rows : null, avgRowBytes: raw > 0 ? mysqlAvgRowBytes(raw) : null };
  } catch (err) {
    log.warn(
      `export '${plan.name}': cannot read the statistics of ${table} (${
        describeError(err)
      }); planning without them`,
    );
    return { rows: null, avgRowBytes: null };
  }
}

/**
 * The chunk shape of a fresh run (spec 4.1 steps 5–7). Only when the table is looked up (its
 * chunk column comes from the primary key, or `chunk_size_memory_mb` is set): the chunk size is
 * derived from the statistics when `chunk_size_memory_mb` asks so, and a table whose estimate is
 * above 0 and at most the chunk size runs as a single chunk (range: one key range, plus the NULL
 * chunk when needed; dense: one window). `chunk_count` and `chunk_by_days` do not use a chunk
 * size and are taken as configured.
 */
async function sizeChunks(
  plan: ExportPlan,
  s: ChunkedStrategy,
  source: Source,
  journal: JournalRecorder,
): Promise<ChunkShape> {
  if (s.table === null || (s.memorySizing === undefined && s.column !== null)) return s.shape;
  const stats = await tableStats(plan, s.table, source);
  let shape = s.shape;
  const sized = shape.kind === "dense" || (shape.kind === "range" && shape.chunkCount === null);
  const note = (message: string, level: "info" | "warn") => {
    log[level](`export '${plan.name}': ${message}`);
    journal.add({ kind: "Warning", context: "chunk_plan", message });
  };
  if (s.memorySizing !== undefined) {
    const { mb, ignoredChunkSize } = s.memorySizing;
    if (ignoredChunkSize !== null) {
      note(
        `chunk_size: ${ignoredChunkSize} is ignored because chunk_size_memory_mb is set; the ` +
          "chunk size is derived from the table's statistics (remove one of the two)",
        "warn",
      );
    }
    const m = memoryChunkSize(mb, stats.avgRowBytes);
    if (m.assumed) {
      note(
        `chunk_size_memory_mb: the statistics of ${s.table} give no average row size ` +
          `(never analyzed?); assuming ${m.rowBytes} bytes per row. Run ANALYZE on the table ` +
          "for a better estimate",
        "warn",
      );
    }
    const perRow = m.assumed ? `${m.rowBytes} (assumed)` : String(Math.round(m.rowBytes));
    log.info(
      `export '${plan.name}': chunk_size_memory_mb: ${mb} MiB / ${perRow} bytes per row ` +
        `(~${stats.rows ?? "?"} rows in ${s.table}) -> derived chunk_size ${m.chunkSize}` +
        (sized ? "" : " (not used by chunk_count / chunk_by_days)"),
    );
    if (shape.kind !== "by_days") shape = { ...shape, chunkSize: m.chunkSize };
  }
  if (
    sized && shape.kind !== "by_days" && stats.rows !== null && stats.rows > 0 &&
    stats.rows <= shape.chunkSize
  ) {
    log.info(
      `export '${plan.name}': table statistics estimate ~${stats.rows} rows, no more than ` +
        `chunk_size ${shape.chunkSize}: downgraded to a single chunk (one query; files keep ` +
        "the chunk naming)",
    );
    shape = shape.kind === "dense"
      ? { kind: "dense", chunkSize: Number.MAX_SAFE_INTEGER }
      : { kind: "range", chunkSize: shape.chunkSize, chunkCount: 1 };
  }
  return shape;
}

/** Whether the prefix holds this run's published manifest and a `_SUCCESS` that vouches for it. */
async function prefixHoldsRun(destination: Destination, runId: string): Promise<boolean> {
  if (destination.streaming) return false;
  try {
    const [manifest, marker] = await Promise.all([
      destination.read(MANIFEST_NAME),
      destination.read(SUCCESS_NAME),
    ]);
    if (manifest === null || marker === null) return false;
    const parsed = parseManifest(new TextDecoder().decode(manifest));
    if (!parsed.ok || parsed.value.run_id !== runId || parsed.value.status !== "success") {
      return false;
    }
    return parseSuccessMarker(new TextDecoder().decode(marker)) ===
      await xxh3Fingerprint(manifest);
  } catch {
    return false;
  }
}

/**
 * Takes the publication of a completed run (manifest.json, _SUCCESS) through the state's
 * compare-and-set: `token` when this worker publishes, `by` when another worker already did.
 * While another worker holds a live claim it waits, and takes the claim over if that lease lapses
 * (its holder died mid-publication).
 */
async function acquirePublication(
  plan: ExportPlan,
  runId: string,
  state: StateStore,
  worker: WorkerIdentity,
  deps: ExportJobDeps,
): Promise<{ readonly token: string } | { readonly by: string }> {
  const pollMs = Math.min(2000, Math.max(100, Math.floor(worker.leaseMs / 4)));
  let told = false;
  for (;;) {
    const now = deps.now();
    const r = await state.claimChunkRunPublish(
      runId,
      {
        worker_id: worker.id,
        lease_until: new Date(now.getTime() + worker.leaseMs).toISOString(),
      },
      now.toISOString(),
    );
    if (r.claimed) return { token: r.token };
    if (r.reason === "published") return { by: r.worker_id };
    if (r.reason === "not_completed") {
      throw new RivetError(
        `chunk run '${runId}' of export '${plan.name}' is no longer completed in the state ` +
          "(reset meanwhile?); nothing was published",
        { exitClass: "internal" },
      );
    }
    if (!told) {
      log.info(
        `export '${plan.name}': worker ${r.worker_id} is publishing run '${runId}'; waiting ` +
          "(this worker takes over if its lease lapses)",
      );
      told = true;
    }
    if (deps.signal?.aborted) throw interrupted(plan.name);
    await deps.sleep(pollMs);
  }
}

/** Renews the publication claim every third of the lease while the manifest is written. */
function holdPublication(
  state: StateStore,
  runId: string,
  token: string,
  worker: WorkerIdentity,
  now: () => Date,
): () => void {
  const timer = setInterval(() => {
    state.renewChunkRunPublish(
      runId,
      token,
      new Date(now().getTime() + worker.leaseMs).toISOString(),
    ).catch((err) => log.warn(`cannot renew the publication lease: ${describeError(err)}`));
  }, Math.max(50, Math.floor(worker.leaseMs / 3)));
  return () => clearInterval(timer);
}

/** Refuses to resume or join a run whose chunks were planned from another export definition. */
function checkFingerprint(plan: ExportPlan, run: ChunkRunRow, fingerprint: string): void {
  if (run.plan_hash === fingerprint) return;
  throw new RivetError(
    `chunk plan fingerprint mismatch for export '${plan.name}': the query, chunk column or chunk size changed since run '${run.run_id}' started; cannot resume`,
    {
      exitClass: "config",
      hint:
        `restore the config, or \`rivet state reset-chunks -c <config> -e ${plan.name}\` and run again`,
    },
  );
}

/** Runs a chunked export; never throws, the outcome carries any error. */
export async function runChunkedJob(
  plan: ExportPlan,
  source: SourceConnection,
  state: StateStore,
  deps: ExportJobDeps,
): Promise<ExportOutcome> {
  const s = plan.strategy as ChunkedStrategy;
  const started = deps.now();
  const t0 = performance.now();
  const rss = startRssSampler(100);
  let runId = plan.runId;
  const journal = new JournalRecorder(runId, plan.name, deps.now);
  let status: ExportOutcome["status"] = "success";
  let error: string | null = null;
  let skipReason: string | null = null;
  const parts: CommittedPart[] = [];
  let rows = 0;
  let retries = 0;
  let validated: boolean | null = null;
  let destination: Destination | null = null;
  const schema: arrow.Schema | null = null;
  const worker = workerIdentity();
  /** Whether this process published the run (manifest, _SUCCESS); false for a helping worker. */
  let publisher = true;
  /** This worker's claim on the publication of a checkpointed run, until it is published. */
  let publishToken: string | null = null;
  let stopPublishHold = () => {};
  try {
    destination = await deps.openDestination(plan.destination);
    const hash = await xxh3Hasher();
    let column = "";
    let kind: ChunkKind = s.shape.kind;
    let queue: TaskQueue | null = null;
    let total = 0;
    const group = runGroupOf(plan);
    if (group !== null) runId = groupRunId(plan.name, group);
    /** A run group's run found completed when this worker started: only its publication is left. */
    let completedBefore = false;
    if (group !== null) {
      const run = await state.getChunkRun(runId);
      if (run !== null && run.status === "completed") {
        completedBefore = true;
        if (await prefixHoldsRun(destination, runId)) {
          publisher = false;
          status = "skipped";
          skipReason = `already completed by another worker (run group '${group}')`;
          log.info(
            `export '${plan.name}': run '${runId}' of run group '${group}' was already completed ` +
              `by another worker and ${destination.uri} has its manifest and _SUCCESS; ` +
              "nothing to do",
          );
        } else {
          log.warn(
            `export '${plan.name}': run '${runId}' of run group '${group}' is completed but ` +
              `${destination.uri} has no _SUCCESS matching its manifest (its publisher stopped ` +
              "before writing them); publishing them from the completed chunks",
          );
          queue = new StateQueue(state, runId, deps.now, worker);
          total = (await state.listChunkTasks(runId)).length;
        }
      }
    }
    const failures: string[] = [];
    /** What this process completed itself (reported when another worker publishes). */
    const mine: ChunkResult[] = [];
    let firstError: PromiseRejectedResult | undefined;
    if (!completedBefore) {
      const probeSource = await deps.openSource(source);
      try {
        column = await resolveColumn(plan, s, probeSource);
        if (s.checkpoint && plan.resume) {
          if (
            !destination.streaming && !plan.force && (await destination.head(SUCCESS_NAME)) !== null
          ) {
            throw new RivetError(
              `--resume refused — destination prefix ${destination.uri} already has _SUCCESS from a prior completed run`,
              { exitClass: "config", hint: "pass --force to resume anyway" },
            );
          }
          const run = await state.findInProgressChunkRun(plan.name);
          if (run === null) {
            throw new RivetError(
              `--resume but no in-progress chunk checkpoint for export '${plan.name}'`,
              {
                exitClass: "config",
                hint:
                  `run without --resume first, or \`rivet state reset-chunks -c <config> -e ${plan.name}\``,
              },
            );
          }
          checkFingerprint(plan, run, hash(fingerprintText(plan, column, s)));
          runId = run.run_id;
          const reset = await state.resetRunningChunkTasks(runId, deps.now().toISOString());
          if (reset > 0) {
            log.warn(
              `export '${plan.name}': ${reset} chunk(s) were running when the last process stopped; they run again`,
            );
          }
          if (!destination.streaming) {
            await reconcileDestination(plan, runId, run.created_at, destination, state, deps);
          }
          total = (await state.listChunkTasks(runId)).length;
          queue = new StateQueue(state, runId, deps.now, worker);
        } else {
          /** `--worker`: adopt the export's in-progress run and share its tasks. */
          const join = async (run: ChunkRunRow): Promise<TaskQueue> => {
            checkFingerprint(plan, run, hash(fingerprintText(plan, column, s)));
            runId = run.run_id;
            const tasks = await state.listChunkTasks(runId);
            total = tasks.length;
            const done = tasks.filter((t) => t.status === "completed").length;
            log.info(
              `export '${plan.name}': worker ${worker.id} joins chunk run '${runId}' ` +
                `(${done}/${total} chunks completed)`,
            );
            return new StateQueue(state, runId, deps.now, worker);
          };
          let joined: TaskQueue | null = null;
          if (s.checkpoint) {
            const existing = await state.findInProgressChunkRun(plan.name);
            if (existing !== null && group !== null && existing.run_id !== runId) {
              throw otherRunInProgress(plan, existing.run_id, group);
            }
            if (existing !== null && plan.worker === true) joined = await join(existing);
            else if (existing !== null) {
              throw new RivetError(
                `chunk checkpoint run '${existing.run_id}' of export '${plan.name}' is still in progress`,
                {
                  exitClass: "config",
                  hint:
                    `use \`rivet run --config <cfg> --export ${plan.name} --resume\` (or --worker to help it) or \`rivet state reset-chunks --config <cfg> --export ${plan.name}\``,
                },
              );
            }
          }
          if (joined !== null) {
            queue = joined;
          } else {
            const shape = await sizeChunks(plan, s, probeSource, journal);
            const probes = await probeChunks(plan, column, { ...s, shape }, probeSource);
            const chunkPlan = buildChunkPlan(
              { dialect: plan.engine, baseQuery: plan.baseQuery, column, shape },
              probes,
              hash,
            );
            kind = chunkPlan.kind;
            for (const note of chunkPlan.notes) {
              log.info(`export '${plan.name}': ${note}`);
              journal.add({ kind: "Warning", context: "chunk_plan", message: note });
            }
            total = chunkPlan.chunks.length;
            const tasks = chunkPlan.chunks.map((c) => ({
              index: c.index,
              startKey: c.startKey,
              endKey: c.endKey,
              attempt: 0,
              token: null,
            }));
            if (s.checkpoint) {
              // The prefix is now in progress: an earlier run's marker must not vouch for it.
              if (!destination.streaming) await destination.delete(SUCCESS_NAME).catch(() => {});
              const created = await state.createChunkRun({
                run_id: runId,
                export_name: plan.name,
                plan_hash: hash(fingerprintText(plan, column, s)),
                max_chunk_attempts: s.maxAttempts,
                tasks: tasks.map((t) => ({ start_key: t.startKey, end_key: t.endKey })),
              }, deps.now().toISOString());
              const raced = created.created ? null : await state.findInProgressChunkRun(plan.name);
              if (raced !== null && group !== null && raced.run_id !== runId) {
                throw otherRunInProgress(plan, raced.run_id, group);
              }
              if (raced !== null && plan.worker === true) {
                // Another worker created the run between our check and our insert: help it.
                queue = await join(raced);
              } else if (!created.created) {
                throw new RivetError(
                  `chunk checkpoint run '${created.in_progress_run_id}' of export '${plan.name}' is still in progress`,
                  {
                    exitClass: "config",
                    hint:
                      `use --resume or \`rivet state reset-chunks -c <config> -e ${plan.name}\``,
                  },
                );
              } else {
                if (plan.worker === true) {
                  log.info(
                    `export '${plan.name}': worker ${worker.id} started chunk run '${runId}' ` +
                      `(${total} chunks); other workers may join it`,
                  );
                }
                queue = new StateQueue(state, runId, deps.now, worker);
              }
            } else {
              queue = new MemoryQueue(tasks, s.maxAttempts);
            }
          }
        }
      } finally {
        await probeSource.close().catch(() => {});
      }
      journal.add(planResolvedEvent(plan));

      // Workers: each claims the next task, runs it on its own connection, commits its parts.
      const progress = deps.progress.ipc
        ? ipcChunkProgress(plan.name, total)
        : startChunkProgress(plan.name, total, deps.progress);
      const rssWait = chunkWaitPolicy(s.parallel, s.checkpoint);
      const dest = destination;
      const tasks = queue!;
      const pollMs = Math.min(2000, Math.max(100, Math.floor(worker.leaseMs / 4)));
      const loop = async (conn: SlotConnection) => {
        for (;;) {
          if (deps.signal?.aborted) return;
          await waitBelow(plan.tuning.memoryThresholdMb ?? 0, {
            ...rssWait,
            sleep: deps.sleep,
            label: `export '${plan.name}'`,
            ...(deps.signal ? { signal: deps.signal } : {}),
          });
          const task = await tasks.claim();
          if (task === null) {
            // Chunks held by live workers elsewhere: wait, and take them over if a lease lapses.
            if (await tasks.othersRunning()) {
              await deps.sleep(pollMs);
              continue;
            }
            return;
          }
          journal.add({
            kind: "ChunkStarted",
            chunk_index: task.index,
            start_key: task.startKey,
            end_key: task.endKey,
          });
          // The heartbeat: a lost lease is noticed when the chunk ends and fences its completion.
          const held = tasks.hold(task);
          try {
            const result = await runChunk(plan, task, {
              column,
              kind,
              conn,
              destination: dest,
              state,
              runId,
              deps,
              onRows: (d) => progress.rows(d),
            });
            held.stop();
            if (held.signal.aborted || !(await tasks.complete(task, result))) {
              throw leaseLost(task.index);
            }
            mine.push(result);
            crashPoint(`after_chunk_complete:${task.index}`);
            journal.add({
              kind: "ChunkCompleted",
              chunk_index: task.index,
              rows: result.rows,
              file_name: result.parts[0]?.name ?? null,
            });
            progress.chunkDone();
          } catch (err) {
            held.stop();
            if (deps.signal?.aborted) {
              // Interrupted: hand the chunk back so another worker (or --resume) runs it.
              await tasks.release(task).catch(() => {});
              return;
            }
            if (err instanceof LeaseLostError || held.signal.aborted) {
              log.warn(
                `export '${plan.name}': chunk ${task.index}: worker ${worker.id} lost its lease ` +
                  "to another worker; anything it uploaded stays out of the manifest",
              );
              continue;
            }
            const message = describeError(err);
            retries++;
            journal.add({
              kind: "ChunkFailed",
              chunk_index: task.index,
              error: message,
              attempt: task.attempt,
            });
            failures.push(`chunk ${task.index} [${task.startKey}..${task.endKey}]: ${message}`);
            log.warn(
              `export '${plan.name}': chunk ${task.index} failed (attempt ${task.attempt}): ${message}`,
            );
            await tasks.fail(task, message);
            if (!(err instanceof RivetError) || !err.retryable) {
              // A permanent error (syntax, missing table, permissions) will fail every chunk.
              if (!(err instanceof SourceError) || !err.retryable) throw err;
            }
          }
        }
      };
      const workers = Math.max(1, Math.min(s.parallel, total));
      const results = await Promise.allSettled(
        Array.from({ length: workers }, async () => {
          const conn = slotConnection(deps, source);
          try {
            await loop(conn);
          } finally {
            await conn.drop();
          }
        }),
      );
      progress.done();
      firstError = results.find((r) => r.status === "rejected") as
        | PromiseRejectedResult
        | undefined;
    }
    if (status === "skipped") {
      // The group's run was completed and published before this worker started.
    } else {
      if (deps.signal?.aborted) throw interrupted(plan.name);
      const { done, notCompleted } = await queue!.results();
      const runParts: CommittedPart[] = [];
      let runRows = 0;
      for (const i of [...done.keys()].sort((a, b) => a - b)) {
        const r = done.get(i)!;
        runRows += r.rows;
        runParts.push(...r.parts);
      }
      rows = runRows;
      parts.push(...runParts);
      if (firstError || notCompleted > 0) {
        const why = firstError
          ? describeError(firstError.reason)
          : failures.at(-1) ?? "unknown error";
        throw new RivetError(
          `chunked export incomplete: ${notCompleted} of ${total} chunk(s) not completed; last error: ${why}`,
          {
            exitClass: "source",
            hint: s.checkpoint
              ? `fix the cause and run \`rivet run -c <config> -e ${plan.name} --resume\``
              : "fix the cause and run the export again (set chunk_checkpoint: true to resume instead)",
          },
        );
      }
      if (s.checkpoint) {
        const fin = await state.finishChunkRun(runId, deps.now().toISOString());
        if (!fin.completed) {
          throw new RivetError(
            `chunked export incomplete: ${fin.not_completed} of ${total} chunk(s) of run '${runId}' are not completed`,
            {
              exitClass: "source",
              hint: `run \`rivet run -c <config> -e ${plan.name} --resume\``,
            },
          );
        }
        if (fin.finished_now) crashPoint("after_run_completed");
        // Whoever takes the publication claim first publishes, exactly once: usually the worker that
        // flipped the run, else one that finds it completed without a publication.
        const claim = await acquirePublication(plan, runId, state, worker, deps);
        publisher = "token" in claim;
        if ("token" in claim) {
          publishToken = claim.token;
          stopPublishHold = holdPublication(state, runId, claim.token, worker, deps.now);
          if (completedBefore) {
            log.info(
              `export '${plan.name}': worker ${worker.id} republishes run '${runId}' ` +
                `(${runParts.length} part(s), ${runRows} rows)`,
            );
          }
        } else if (completedBefore) {
          status = "skipped";
          skipReason = `already completed by another worker (run group '${group}')`;
          log.info(
            `export '${plan.name}': run '${runId}' was already completed by another worker, ` +
              `and worker ${claim.by} published it`,
          );
        } else {
          // Another worker publishes (or published) the run; report our own share.
          rows = mine.reduce((a, r) => a + r.rows, 0);
          parts.length = 0;
          for (const r of mine) parts.push(...r.parts);
          log.info(
            `export '${plan.name}': worker ${worker.id} ran ${mine.length} of ${total} chunk(s) ` +
              `(${rows} rows); another worker published run '${runId}'`,
          );
        }
        if (publisher && !destination.streaming) {
          const run = await state.getChunkRun(runId);
          await quarantineStrays(
            plan,
            runId,
            run?.created_at ?? started.toISOString(),
            destination,
            new Set(runParts.map((p) => p.name)),
          ).catch((err) => log.warn(`cannot list ${destination!.uri}: ${describeError(err)}`));
        }
        if (publisher) {
          await quietly(
            "cannot record the committed progression",
            () =>
              state.recordCommitted(plan.name, {
                strategy: "chunked",
                chunk_index: total - 1,
                run_id: runId,
              }, deps.now().toISOString()),
          );
        }
      }
      if (plan.quality && publisher) {
        const issues = rowCountIssues(plan.quality, rows);
        for (const i of issues) {
          log.warn(formatQualityIssue(i));
          journal.add({
            kind: "QualityIssue",
            severity: i.severity === "fail" ? "FAIL" : "WARN",
            message: i.message,
          });
        }
        if (!qualityPassed(issues)) {
          throw new RivetError(`export '${plan.name}': quality checks failed (chunked aggregate)`, {
            exitClass: "data_integrity",
          });
        }
      }
      for (const p of parts) {
        journal.add({
          kind: "FileWritten",
          file_name: p.name,
          rows: p.rows,
          bytes: p.bytes,
          part_index: 0,
        });
      }
      if (!destination.streaming && publisher) {
        const manifest = await writeManifest(
          { ...plan, runId },
          destination,
          "success",
          parts,
          schema,
          started,
          deps.now(),
        );
        const marked = manifest !== null &&
          await writeSuccessMarker({ ...plan, runId }, destination, manifest);
        if (publishToken !== null) {
          stopPublishHold();
          const token = publishToken;
          publishToken = null;
          if (marked) {
            if (!(await state.finishChunkRunPublish(runId, token, deps.now().toISOString()))) {
              log.warn(
                `export '${plan.name}': this worker's publication claim on run '${runId}' lapsed ` +
                  "while it wrote manifest.json and _SUCCESS; another worker may write them again",
              );
            }
          } else {
            // Leave the publication to the next worker of the group (or a resume).
            await state.releaseChunkRunPublish(runId, token).catch(() => false);
          }
        }
        if (plan.validate) {
          validated = false; // stays false (reported FAIL) when the check throws
          validated = await validatePrefix(plan, destination, journal);
        }
      }
    }
  } catch (err) {
    status = "failed";
    error = describeError(err);
    if (err instanceof RivetError && err.hint) error += ` (${err.hint})`;
    if (parts.length > 0 && destination && !destination.streaming && plan.worker !== true) {
      await writeManifest(
        { ...plan, runId },
        destination,
        "failed",
        parts,
        schema,
        started,
        deps.now(),
      );
      await destination.delete(SUCCESS_NAME).catch(() => {});
    }
  } finally {
    stopPublishHold();
    if (publishToken !== null) {
      // Publication failed (quality gate, destination error): let another worker retry it.
      await state.releaseChunkRunPublish(runId, publishToken).catch(() => false);
    }
    await destination?.close().catch(() => {});
  }
  return await recordJobEnd(plan, state, journal, {
    started,
    finished: deps.now(),
    durationMs: Math.round(performance.now() - t0),
    peakRssMb: rss.stop(),
    runId,
    // Helping workers keep their own journal beside the publisher's (same run, other key).
    journalKey: publisher ? runId : `${runId}@${worker.id}`,
    status,
    skipReason,
    error,
    rows,
    parts,
    retries,
    validated,
    schemaChanged: null,
    schemaChanges: null,
    quality: plan.quality ? status !== "failed" : null,
    destinationUri: destination?.uri ?? plan.destination.type,
  });
}
