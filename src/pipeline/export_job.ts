// Runs one planned export end to end: read, encode, write parts, commit them, and report figures (execution layer).
import { describeError, RivetError, SourceError } from "../errors.ts";
import type { Destination } from "../destination/destination.ts";
import { dataFileName } from "../plan/naming.ts";
import type { ExportPlan } from "../plan/plan_types.ts";
import type { Source, SourceConnection } from "../source/source.ts";
import { log } from "../observe/log.ts";
import { startProgress } from "../observe/progress.ts";
import { startRssSampler } from "../observe/resource.ts";
import type { CommittedPart, ExportOutcome } from "./outcome.ts";
import { PartSink, type PendingPart } from "./part_sink.ts";
import * as factories from "./factories.ts";

export interface ExportJobDeps {
  readonly openSource: (conn: SourceConnection) => Promise<Source>;
  readonly openDestination: typeof factories.openDestination;
  readonly formatFor: typeof factories.formatFor;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Whether to show live progress, and whether stderr is a terminal. */
  readonly progress: { enabled: boolean; interactive: boolean };
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

interface Extracted {
  readonly pending: PendingPart[];
  readonly rows: number;
  readonly extension: string;
}

/** Reads the query once into uncommitted parts. Parts are aborted if anything fails. */
async function extractOnce(
  plan: ExportPlan,
  source: Source,
  destination: Destination,
  deps: ExportJobDeps,
): Promise<Extracted> {
  const result = await source.query({
    query: plan.query,
    batchSize: plan.tuning.batchSize,
    statementTimeoutS: plan.tuning.statementTimeoutS,
    lockTimeoutS: plan.tuning.lockTimeoutS,
    throttleMs: plan.tuning.throttleMs,
    columnOverrides: plan.columnOverrides,
    maxValueBytes: plan.tuning.maxValueMb * 1024 * 1024,
  }, deps.signal);
  const format = await deps.formatFor(plan.format, result.schema);
  const sink = new PartSink(
    format,
    destination,
    (i) => `${plan.runId}_${i}.${format.extension}`,
    plan.maxFileSizeBytes,
  );
  const progress = startProgress(plan.name, deps.progress);
  const reader = result.batches.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await sink.write(value);
      progress.rows(sink.rows);
    }
    await sink.finish();
    return { pending: sink.pending, rows: sink.rows, extension: format.extension };
  } catch (err) {
    await reader.cancel().catch(() => {});
    await sink.abort();
    throw err;
  } finally {
    progress.done();
  }
}

/** Makes every pending part visible under its final name, in order. */
async function commitParts(
  plan: ExportPlan,
  extracted: Extracted,
  at: Date,
): Promise<CommittedPart[]> {
  const committed: CommittedPart[] = [];
  const count = extracted.pending.length;
  for (const [index, part] of extracted.pending.entries()) {
    const name = dataFileName(plan.name, at, extracted.extension, { index, count });
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
    committed.push({
      name,
      rows: part.rows,
      bytes: part.bytes,
      contentFingerprint: part.contentFingerprint,
      contentMd5: part.contentMd5,
    });
  }
  return committed;
}

function isRetryable(err: unknown): boolean {
  return err instanceof RivetError && err.retryable;
}

/** Runs one export with the retry loop of spec 4.11; never throws, the outcome carries any error. */
export async function runExportJob(
  plan: ExportPlan,
  source: SourceConnection,
  deps: ExportJobDeps = defaultDeps,
): Promise<ExportOutcome> {
  const started = deps.now();
  const t0 = performance.now();
  const rss = startRssSampler(100);
  let retries = 0;
  let parts: CommittedPart[] = [];
  let rows = 0;
  let error: string | null = null;
  let status: ExportOutcome["status"] = "success";
  let skipReason: string | null = null;
  let destination: Destination | null = null;
  try {
    destination = await deps.openDestination(plan.destination);
    let extracted: Extracted | null = null;
    for (let attempt = 0;; attempt++) {
      let src: Source | null = null;
      try {
        src = await deps.openSource(source);
        extracted = await extractOnce(plan, src, destination, deps);
        break;
      } catch (err) {
        if (!isRetryable(err) || attempt >= plan.tuning.maxRetries || deps.signal?.aborted) {
          throw err;
        }
        retries = attempt + 1;
        const backoff = plan.tuning.retryBackoffMs * 2 ** attempt;
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
    rows = extracted.rows;
    if (rows === 0) {
      if (plan.skipEmpty) {
        status = "skipped";
        skipReason = "source returned 0 rows";
      } else {
        log.info(`export '${plan.name}': source returned 0 rows; no file written`);
      }
    } else {
      parts = await commitParts(plan, extracted, deps.now());
    }
  } catch (err) {
    status = "failed";
    error = describeError(
      err instanceof SourceError || err instanceof RivetError
        ? err
        : new RivetError(`export '${plan.name}' failed`, { exitClass: "internal", cause: err }),
    );
  } finally {
    await destination?.close().catch(() => {});
  }
  const finished = deps.now();
  return {
    name: plan.name,
    runId: plan.runId,
    mode: plan.mode,
    status,
    skipReason,
    error,
    rows,
    parts,
    bytes: parts.reduce((a, p) => a + p.bytes, 0),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    peakRssMb: rss.stop(),
    retries,
    tuningLabel: plan.tuning.label,
    batchSize: plan.tuning.batchSize,
    format: plan.format.kind,
    compression: plan.compression,
    destinationKind: plan.destination.type,
    destinationUri: plan.destination.type === "stdout"
      ? "stdout"
      : `file://${plan.destination.resolvedPath}`,
    validated: null,
  };
}
