// Runs one planned export end to end: read, check, encode, commit parts, advance state, record (execution layer).
import type * as arrow from "apache-arrow";
import { describeError, RivetError } from "../errors.ts";
import type { Destination } from "../destination/destination.ts";
import { dataFileName } from "../plan/naming.ts";
import type { CursorSnapshot, ExportPlan } from "../plan/plan_types.ts";
import type { Source, SourceConnection } from "../source/source.ts";
import type { StateStore } from "../state/state_store.ts";
import {
  epochMicros,
  MetaColumnsStream,
  RowHasher,
  wantsMetaColumns,
} from "../enrich/meta_columns.ts";
import {
  formatQualityIssue,
  QualityGate,
  type QualityIssue,
  qualityPassed,
} from "../quality/quality_gate.ts";
import {
  decideDrift,
  diffSchemas,
  raisedShape,
  schemaColumns,
  type SchemaDiff,
  ShapeTracker,
  shapeWarnings,
} from "../quality/schema_drift.ts";
import {
  buildManifest,
  MANIFEST_NAME,
  serializeManifest,
  SUCCESS_NAME,
  successMarkerBody,
  type Verification,
} from "../manifest.ts";
import { verifyDestinationPrefix } from "../destination/verify_prefix.ts";
import { EMPTY_SCHEMA_FINGERPRINT, schemaFingerprint } from "../quality/schema_drift.ts";
import { log } from "../observe/log.ts";
import { ipcRowsProgress } from "../observe/cards.ts";
import { BatchMemoryStream } from "../quality/batch_memory.ts";
import { startProgress } from "../observe/progress.ts";
import { startRssSampler } from "../observe/resource.ts";
import type { CommittedPart, ExportOutcome } from "./outcome.ts";
import { PartSink, type PendingPart } from "./part_sink.ts";
import { CursorTracker } from "./cursor_tracker.ts";
import { JournalRecorder } from "./journal_recorder.ts";
import { planResolvedEvent, recordJobEnd, recordPart } from "./job_record.ts";
import { crashPoint } from "./crash_hook.ts";
import * as factories from "./factories.ts";

export interface ExportJobDeps {
  readonly openSource: (conn: SourceConnection) => Promise<Source>;
  readonly openDestination: typeof factories.openDestination;
  readonly formatFor: typeof factories.formatFor;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Whether to show live progress, and whether stderr is a terminal. */
  readonly progress: { enabled: boolean; interactive: boolean; ipc?: boolean };
  readonly signal?: AbortSignal;
}

export const defaultDeps: ExportJobDeps = {
  openSource: factories.openSource,
  openDestination: factories.openDestination,
  formatFor: factories.formatFor,
  now: () => new Date(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  progress: { enabled: false, interactive: false },
};

/** What one read of the query produced, before anything is published. */
export interface Extracted {
  readonly pending: PendingPart[];
  readonly rows: number;
  readonly extension: string;
  /** The destination schema (helper columns removed, meta columns not added), or null for 0 rows. */
  readonly schema: arrow.Schema | null;
  readonly cursor: CursorSnapshot | null;
  readonly skippedAtBoundary: number;
  readonly quality: QualityIssue[] | null;
  readonly shape: ReadonlyMap<string, number> | null;
}

export { hexRowHashes };

let rowHasher: Promise<RowHasher> | null = null;
function sharedRowHasher(): Promise<RowHasher> {
  rowHasher ??= RowHasher.create();
  return rowHasher;
}

async function hexRowHashes(batch: arrow.RecordBatch): Promise<string[]> {
  const hashes = (await sharedRowHasher()).hashBatch(batch);
  return Array.from(hashes, (h) => BigInt.asUintN(64, h).toString(16).padStart(16, "0"));
}

/** What one read runs: the SQL, helper columns to drop, and which stages apply. */
export interface UnitSpec {
  readonly query: string;
  /** Helper columns of the query (e.g. `_rivet_chunk_rn`) removed before writing. */
  readonly dropColumns: readonly string[];
  readonly trackCursor: boolean;
  readonly qualityGate: boolean;
  /** Called with the running row count (progress). */
  readonly onRows?: (rows: number) => void;
  /** Sees every destination batch (after helper columns are dropped), e.g. to read a last key. */
  readonly onBatch?: (batch: arrow.RecordBatch) => void;
}

/** The unit of a single (full / incremental / time-window) export. */
export function singleUnit(plan: ExportPlan): UnitSpec {
  return { query: plan.query, dropColumns: [], trackCursor: true, qualityGate: true };
}

function dropColumnsStream(
  names: readonly string[],
): TransformStream<arrow.RecordBatch, arrow.RecordBatch> {
  return new TransformStream({
    transform(batch, controller) {
      const keep = batch.schema.fields.map((f) => f.name).filter((n) => !names.includes(n));
      controller.enqueue(batch.select(keep));
    },
  });
}

/** Reads one query into uncommitted parts. Parts are aborted if anything fails. */
export async function extractOnce(
  plan: ExportPlan,
  unit: UnitSpec,
  source: Source,
  destination: Destination,
  deps: ExportJobDeps,
): Promise<Extracted> {
  const result = await source.query({
    query: unit.query,
    batchSize: plan.tuning.batchSize,
    statementTimeoutS: plan.tuning.statementTimeoutS,
    lockTimeoutS: plan.tuning.lockTimeoutS,
    throttleMs: plan.tuning.throttleMs,
    columnOverrides: plan.columnOverrides,
    maxValueBytes: plan.tuning.maxValueMb * 1024 * 1024,
    ...(plan.tuning.batchSizeMemoryMb
      ? { batchBytes: plan.tuning.batchSizeMemoryMb * 1024 * 1024 }
      : {}),
  }, deps.signal);

  // Source -> [cursor] -> [quality] -> [shape] -> [meta columns] -> encoder -> destination.
  let stream = result.batches;
  if (unit.dropColumns.length > 0) stream = stream.pipeThrough(dropColumnsStream(unit.dropColumns));
  // `?? null` / `?? "warn"`: a plan sealed before these fields existed has none.
  const batchCap = plan.tuning.maxBatchMemoryMb ?? null;
  if (batchCap !== null) {
    stream = stream.pipeThrough(
      new BatchMemoryStream({
        exportName: plan.name,
        maxBatchMemoryMb: batchCap,
        policy: plan.tuning.onBatchMemoryExceeded ?? "warn",
      }),
    );
  }
  let tracker: CursorTracker | null = null;
  if (unit.trackCursor && plan.strategy.kind === "incremental") {
    tracker = new CursorTracker(
      plan.strategy.trackedColumn,
      plan.strategy.helperColumns,
      plan.strategy.stored,
      hexRowHashes,
    );
    stream = stream.pipeThrough(tracker.stream);
  }
  const gate = plan.quality && unit.qualityGate ? await QualityGate.create(plan.quality) : null;
  if (gate) stream = stream.pipeThrough(gate.stream());
  const shape = plan.shapeDriftFactor > 0 ? new ShapeTracker() : null;
  if (shape) stream = stream.pipeThrough(shape.stream());
  let destSchema: arrow.Schema | null = null;
  stream = stream.pipeThrough(
    new TransformStream<arrow.RecordBatch, arrow.RecordBatch>({
      transform(batch, controller) {
        destSchema ??= batch.schema;
        controller.enqueue(batch);
      },
    }),
  );
  if (unit.onBatch) {
    const tap = unit.onBatch;
    stream = stream.pipeThrough(
      new TransformStream<arrow.RecordBatch, arrow.RecordBatch>({
        transform(batch, controller) {
          tap(batch);
          controller.enqueue(batch);
        },
      }),
    );
  }
  if (wantsMetaColumns(plan.metaColumns)) {
    stream = stream.pipeThrough(
      new MetaColumnsStream({
        ...plan.metaColumns,
        exportedAtMicros: epochMicros(deps.now()),
      }),
    );
  }

  const format = await deps.formatFor(plan.format, result.schema, plan.maxFileSizeBytes);
  const sink = new PartSink(
    format,
    destination,
    (i) => `${plan.runId}_${i}.${format.extension}`,
    plan.maxFileSizeBytes,
  );
  const progress = unit.onRows
    ? null
    : deps.progress.ipc
    ? ipcRowsProgress(plan.name)
    : startProgress(plan.name, deps.progress);
  const reader = stream.getReader();
  try {
    for (;;) {
      if (deps.signal?.aborted) throw interrupted(plan.name);
      const { done, value } = await reader.read();
      if (done) break;
      await sink.write(value);
      if (unit.onRows) unit.onRows(sink.rows);
      else progress!.rows(sink.rows);
    }
    await sink.finish();
    return {
      pending: sink.pending,
      rows: sink.rows,
      extension: format.extension,
      schema: destSchema,
      cursor: tracker ? await tracker.result() : null,
      skippedAtBoundary: tracker?.skipped ?? 0,
      quality: gate ? gate.evaluate(sink.rows) : null,
      shape: shape ? shape.maxBytes() : null,
    };
  } catch (err) {
    await reader.cancel().catch(() => {});
    await sink.abort();
    throw err;
  } finally {
    progress?.done();
  }
}

/** The error of a run stopped by Ctrl-C / SIGTERM. */
export function interrupted(name: string): RivetError {
  return new RivetError(
    `export '${name}' was interrupted; nothing of the unfinished part was published`,
    {
      exitClass: "internal",
      hint: "run it again (chunked exports with chunk_checkpoint continue with --resume)",
    },
  );
}

/**
 * Final names for the parts, never those of files already at the destination: names carry the
 * time to the second, so a second run within the same second waits for the next one instead of
 * replacing the first run's files.
 */
async function freeNames(
  plan: ExportPlan,
  extracted: Extracted,
  destination: Destination,
  deps: ExportJobDeps,
): Promise<string[]> {
  const count = extracted.pending.length;
  for (let tries = 0;; tries++) {
    const at = deps.now();
    const names = extracted.pending.map((_, index) =>
      dataFileName(plan.name, at, extracted.extension, { index, count })
    );
    const taken = await Promise.all(names.map((n) => destination.head(n)));
    if (taken.every((t) => t === null) || tries >= 5) return names;
    await deps.sleep(1000 - (at.getTime() % 1000) + 5);
  }
}

/** Makes every pending part visible under its final name, in order, recording each one. */
export async function commitParts(
  plan: ExportPlan,
  extracted: Extracted,
  names: readonly string[],
  onCommitted: (part: CommittedPart, index: number) => Promise<void>,
): Promise<CommittedPart[]> {
  const committed: CommittedPart[] = [];
  for (const [index, part] of extracted.pending.entries()) {
    const name = names[index]!;
    try {
      await part.upload.commit(name);
    } catch (err) {
      for (const rest of extracted.pending.slice(index + 1)) {
        await rest.upload.abort().catch(() => {});
      }
      throw new RivetError(
        `Cannot write part ${index} of export "${plan.name}" to ${
          plan.destination.resolvedPath || "stdout"
        }`,
        { exitClass: "destination", cause: err },
      );
    }
    const done: CommittedPart = {
      name,
      rows: part.rows,
      bytes: part.bytes,
      contentFingerprint: part.contentFingerprint,
      contentMd5: part.contentMd5,
    };
    committed.push(done);
    await onCommitted(done, index);
  }
  return committed;
}

export async function abortAll(extracted: Extracted): Promise<void> {
  for (const p of extracted.pending) await p.upload.abort().catch(() => {});
}

/** Writes `manifest.json` for this run's committed parts; returns its bytes once durable. */
export async function writeManifest(
  plan: ExportPlan,
  destination: Destination,
  status: string,
  parts: readonly CommittedPart[],
  schema: arrow.Schema | null,
  startedAt: Date,
  finishedAt: Date,
): Promise<Uint8Array | null> {
  try {
    const bytes = serializeManifest(buildManifest({
      runId: plan.runId,
      exportName: plan.name,
      startedAt,
      finishedAt,
      runStatus: status,
      engine: plan.engine,
      destination: { kind: destination.kind, uri: destination.uri },
      format: plan.format.kind,
      compression: plan.compression,
      schemaFingerprint: schema ? await schemaFingerprint(schema) : EMPTY_SCHEMA_FINGERPRINT,
      parts: parts.map((p) => ({
        path: p.name,
        rows: p.rows,
        size_bytes: p.bytes,
        content_fingerprint: p.contentFingerprint,
        content_md5: p.contentMd5,
      })),
    }));
    await destination.put(MANIFEST_NAME, bytes);
    return bytes;
  } catch (err) {
    log.warn(`export '${plan.name}': cannot write ${MANIFEST_NAME}: ${describeError(err)}`);
    return null;
  }
}

/** Describes verification failures in one line each. */
export function verificationProblems(v: Verification): string {
  return v.failures
    .filter((f) => f.kind !== "untracked_object")
    .map((f) => JSON.stringify(f))
    .join("; ");
}

/** The outcome of `--reconcile`: the source's count of the export query against rows written. */
export interface Reconciliation {
  readonly source_count: number;
  readonly exported_rows: number;
  readonly matched: boolean;
}

/** `SELECT COUNT(*)` of the exact query the export ran, on a new connection (spec 8.2.1). */
export async function reconcileCount(
  plan: ExportPlan,
  source: SourceConnection,
  exported: number,
  deps: ExportJobDeps,
): Promise<Reconciliation> {
  const src = await deps.openSource(source);
  try {
    const text = await src.scalar(`SELECT COUNT(*) FROM (${plan.query}) AS _rivet_reconcile`);
    const count = Number(text ?? "0");
    return { source_count: count, exported_rows: exported, matched: count === exported };
  } finally {
    await src.close().catch(() => {});
  }
}

/** Writes `_SUCCESS` over a durable manifest; returns whether it was written (a failure warns). */
export async function writeSuccessMarker(
  plan: ExportPlan,
  destination: Destination,
  manifest: Uint8Array,
): Promise<boolean> {
  try {
    await destination.put(
      SUCCESS_NAME,
      new TextEncoder().encode(await successMarkerBody(manifest)),
    );
    return true;
  } catch (err) {
    log.warn(`export '${plan.name}': cannot write ${SUCCESS_NAME}: ${describeError(err)}`);
    return false;
  }
}

/**
 * `--validate`: verifies the prefix against its manifest, journals the verdict and throws a
 * data-integrity error when it does not pass. Returns true when it passed.
 */
export async function validatePrefix(
  plan: ExportPlan,
  destination: Destination,
  journal: JournalRecorder,
): Promise<boolean> {
  const v = await verifyDestinationPrefix(destination, plan.verify);
  journal.add({ kind: "ValidationResult", passed: v.passed });
  if (!v.passed) {
    throw new RivetError(
      `export '${plan.name}': validation of ${destination.uri} failed: ${verificationProblems(v)}`,
      { exitClass: "data_integrity" },
    );
  }
  return true;
}

export function isRetryable(err: unknown): boolean {
  return err instanceof RivetError && err.retryable;
}

/** Best-effort state write: a failure is a warning, never a failed export (spec 4.2). */
export async function quietly(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    log.warn(`${what}: ${describeError(err)}`);
  }
}

/** Runs one export with the retry loop of spec 4.11; never throws, the outcome carries any error. */
export async function runExportJob(
  plan: ExportPlan,
  source: SourceConnection,
  state: StateStore,
  deps: ExportJobDeps = defaultDeps,
): Promise<ExportOutcome> {
  const started = deps.now();
  const t0 = performance.now();
  const rss = startRssSampler(100);
  const journal = new JournalRecorder(plan.runId, plan.name, deps.now);
  journal.add(planResolvedEvent(plan));
  let retries = 0;
  let parts: CommittedPart[] = [];
  let rows = 0;
  let error: string | null = null;
  let status: ExportOutcome["status"] = "success";
  let skipReason: string | null = null;
  let schemaChanged: boolean | null = null;
  let schemaChanges: SchemaDiff | null = null;
  let quality: QualityIssue[] | null = null;
  let destination: Destination | null = null;
  let validated: boolean | null = null;
  let reconciliation: Reconciliation | null = null;
  let destSchema: arrow.Schema | null = null;
  try {
    destination = await deps.openDestination(plan.destination);
    let extracted: Extracted | null = null;
    for (let attempt = 0;; attempt++) {
      let src: Source | null = null;
      try {
        src = await deps.openSource(source);
        extracted = await extractOnce(plan, singleUnit(plan), src, destination, deps);
        break;
      } catch (err) {
        if (!isRetryable(err) || attempt >= plan.tuning.maxRetries || deps.signal?.aborted) {
          throw err;
        }
        retries = attempt + 1;
        const backoff = plan.tuning.retryBackoffMs * 2 ** attempt;
        journal.add({
          kind: "RetryAttempted",
          attempt: retries,
          reason: describeError(err),
          backoff_ms: backoff,
        });
        log.warn(
          `export '${plan.name}': ${
            describeError(err)
          } — retry ${retries}/${plan.tuning.maxRetries} ` +
            `in ${backoff}ms [reconnecting]`,
        );
        await deps.sleep(backoff);
      } finally {
        await src?.close().catch(() => {});
      }
    }
    crashPoint("after_source_read");
    rows = extracted.rows;
    destSchema = extracted.schema;
    if (extracted.skippedAtBoundary > 0) {
      log.info(
        `export '${plan.name}': ${extracted.skippedAtBoundary} row(s) at the stored cursor were ` +
          `exported by an earlier run and skipped`,
      );
    }

    // Checks that decide whether anything is published: schema drift, then quality.
    if (extracted.schema !== null && rows > 0) {
      const stored = await state.getSchema(plan.name);
      const current = schemaColumns(extracted.schema);
      const diff = stored ? diffSchemas(stored.columns, current) : undefined;
      const decision = decideDrift(plan.onSchemaDrift, diff, plan.name);
      schemaChanged = decision.changed;
      if (decision.changed && diff) {
        schemaChanges = diff;
        journal.add({ kind: "SchemaChanged", ...diff });
      }
      for (const line of decision.logLines) {
        if (decision.failMessage) log.error(line);
        else if (plan.onSchemaDrift === "warn") log.warn(line);
      }
      if (decision.failMessage) {
        await abortAll(extracted);
        throw new RivetError(decision.failMessage, { exitClass: "schema_drift" });
      }
      if (decision.action === "store") {
        await quietly(
          "cannot store the schema snapshot",
          () => state.putSchema(plan.name, current, deps.now().toISOString()),
        );
      }
    }
    if (extracted.quality) {
      quality = extracted.quality;
      for (const issue of quality) {
        log.warn(formatQualityIssue(issue));
        journal.add({
          kind: "QualityIssue",
          severity: issue.severity === "fail" ? "FAIL" : "WARN",
          message: issue.message,
        });
      }
      if (!qualityPassed(quality)) {
        await abortAll(extracted);
        throw new RivetError(`export '${plan.name}': quality checks failed`, {
          exitClass: "data_integrity",
          hint: quality.filter((q) => q.severity === "fail").map((q) => q.message).join("; "),
        });
      }
    }

    if (rows === 0) {
      await abortAll(extracted);
      if (plan.skipEmpty) {
        status = "skipped";
        skipReason = plan.strategy.kind === "incremental"
          ? `no new rows since cursor '${plan.strategy.cursorColumn}'`
          : "source returned 0 rows";
      } else {
        log.info(`export '${plan.name}': source returned 0 rows; no file written`);
      }
    } else {
      // Commit order (contract): data files, file log, manifest, cursor, then _SUCCESS.
      const names = await freeNames(plan, extracted, destination, deps);
      parts = await commitParts(plan, extracted, names, async (part, index) => {
        crashPoint("after_file_write");
        await recordPart(plan, state, plan.runId, deps.now(), part, { recorder: journal, index });
        crashPoint("after_manifest_update");
      });
    }
    // A skipped run leaves the prefix as the last run left it (no stale _SUCCESS, spec 11.2 #6).
    const manifest = status === "skipped" || destination.streaming
      ? null
      : await writeManifest(plan, destination, "success", parts, destSchema, started, deps.now());
    if (rows > 0) {
      if (plan.strategy.kind === "incremental" && extracted.cursor !== null) {
        const at = deps.now().toISOString();
        // Not quiet: a cursor that cannot be saved means the next run re-exports (at-least-once),
        // and the user must know.
        await state.setCursor(
          plan.name,
          extracted.cursor.value,
          at,
          extracted.cursor.boundaryHashes,
        );
        crashPoint("after_cursor_commit");
        await quietly(
          "cannot record the committed progression",
          () =>
            state.recordCommitted(plan.name, {
              strategy: "incremental",
              cursor: extracted!.cursor!.value,
              run_id: plan.runId,
            }, at),
        );
      }
    }
    if (manifest !== null) await writeSuccessMarker(plan, destination, manifest);
    if (plan.validate && !destination.streaming && status !== "skipped") {
      validated = false; // stays false (reported FAIL) when the check throws
      validated = await validatePrefix(plan, destination, journal);
    }
    if (plan.reconcile) {
      if (plan.strategy.kind === "incremental") {
        log.info(
          `export '${plan.name}': --reconcile skipped for an incremental export (the source ` +
            "count covers rows exported by earlier runs)",
        );
      } else {
        reconciliation = await reconcileCount(plan, source, rows, deps);
        journal.add({ kind: "ReconciliationResult", ...reconciliation });
        if (!reconciliation.matched) {
          throw new RivetError(
            `export '${plan.name}': reconcile MISMATCH: exported ${reconciliation.exported_rows} ` +
              `rows but the source now counts ${reconciliation.source_count}`,
            {
              exitClass: "data_integrity",
              hint: "rows changed during the export, or rows were lost: run again and compare",
            },
          );
        }
      }
    }
    if (extracted.shape && plan.shapeDriftFactor > 0) {
      const storedShape = new Map(
        Object.entries(await state.getShape(plan.name).catch(() => ({}))),
      );
      for (const w of shapeWarnings(storedShape, extracted.shape, plan.shapeDriftFactor)) {
        log.warn(w.message);
        journal.add({ kind: "Warning", context: w.context, message: w.message });
      }
      await quietly("cannot store column shape maxima", () =>
        state.raiseShape(
          plan.name,
          Object.fromEntries(raisedShape(storedShape, extracted!.shape!)),
          deps.now().toISOString(),
        ));
    }
  } catch (err) {
    status = "failed";
    if (parts.length > 0 && destination && !destination.streaming) {
      // Some parts are at the destination: say so in a failed manifest, and remove a marker
      // that would now describe another manifest.
      await writeManifest(plan, destination, "failed", parts, destSchema, started, deps.now());
      await destination.delete(SUCCESS_NAME).catch(() => {});
    }
    error = describeError(
      err instanceof RivetError
        ? err
        : new RivetError(`export '${plan.name}' failed`, { exitClass: "internal", cause: err }),
    );
    if (err instanceof RivetError && err.hint) error += ` (${err.hint})`;
  } finally {
    await destination?.close().catch(() => {});
  }
  return await recordJobEnd(plan, state, journal, {
    started,
    finished: deps.now(),
    durationMs: Math.round(performance.now() - t0),
    peakRssMb: rss.stop(),
    runId: plan.runId,
    status,
    skipReason,
    error,
    rows,
    parts,
    retries,
    validated,
    reconciliation,
    schemaChanged,
    schemaChanges,
    quality: quality === null ? null : qualityPassed(quality),
    destinationUri: destination?.uri ?? plan.destination.type,
  });
}
