// Runs a keyset (seek) paginated export: one short ordered query per page, one file per page (execution layer).
import type * as arrow from "apache-arrow";
import { describeError, RivetError } from "../errors.ts";
import type { Destination } from "../destination/destination.ts";
import {
  keysetFileName,
  keysetFirstPageSql,
  keysetHasNextPage,
  keysetKeyLiteral,
  type KeysetKeyType,
  keysetNextPageSql,
} from "../plan/keyset_plan.ts";
import type { ExportPlan } from "../plan/plan_types.ts";
import { quoteLiteral } from "../plan/sql_shapes.ts";
import type { Source, SourceConnection } from "../source/source.ts";
import type { StateStore } from "../state/state_store.ts";
import { SUCCESS_NAME } from "../manifest.ts";
import { formatQualityIssue, qualityPassed, rowCountIssues } from "../quality/quality_gate.ts";
import { log } from "../observe/log.ts";
import { startChunkProgress } from "../observe/progress.ts";
import { ipcChunkProgress } from "../observe/cards.ts";
import { startRssSampler } from "../observe/resource.ts";
import type { CommittedPart, ExportOutcome } from "./outcome.ts";
import { cursorReader } from "./cursor_tracker.ts";
import {
  abortAll,
  commitParts,
  type ExportJobDeps,
  type Extracted,
  extractOnce,
  isRetryable,
  validatePrefix,
  writeManifest,
  writeSuccessMarker,
} from "./export_job.ts";
import { JournalRecorder } from "./journal_recorder.ts";
import { planResolvedEvent, recordJobEnd, recordPart } from "./job_record.ts";

type KeysetStrategy = Extract<ExportPlan["strategy"], { kind: "keyset" }>;

/**
 * Checks that the key can drive keyset pagination: the first and only column of a unique index
 * and NOT NULL (spec 4.8). Without that, pages could skip or repeat rows.
 */
async function checkKey(plan: ExportPlan, s: KeysetStrategy, source: Source): Promise<void> {
  const [schema, table] = s.table.includes(".")
    ? s.table.split(".", 2) as [string, string]
    : [null, s.table];
  const sql = plan.engine === "postgres"
    ? `SELECT count(*) FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = ${quoteLiteral("postgres", s.table)}::regclass AND i.indisunique
          AND i.indnkeyatts = 1 AND i.indpred IS NULL AND a.attnotnull
          AND a.attname = ${quoteLiteral("postgres", s.key)}`
    : `SELECT count(*) FROM information_schema.STATISTICS st
         JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = st.TABLE_SCHEMA
          AND c.TABLE_NAME = st.TABLE_NAME AND c.COLUMN_NAME = st.COLUMN_NAME
        WHERE st.TABLE_SCHEMA = ${schema === null ? "DATABASE()" : quoteLiteral("mysql", schema)}
          AND st.TABLE_NAME = ${quoteLiteral("mysql", table)} AND st.NON_UNIQUE = 0
          AND st.COLUMN_NAME = ${quoteLiteral("mysql", s.key)} AND c.IS_NULLABLE = 'NO'
          AND (SELECT count(*) FROM information_schema.STATISTICS s2
                WHERE s2.TABLE_SCHEMA = st.TABLE_SCHEMA AND s2.TABLE_NAME = st.TABLE_NAME
                  AND s2.INDEX_NAME = st.INDEX_NAME) = 1`;
  const n = Number((await source.scalar(sql)) ?? "0");
  if (n === 0) {
    throw new RivetError(
      `export '${plan.name}': chunk_by_key '${s.key}' is not usable for keyset pagination: it ` +
        `must be NOT NULL and the only column of a unique index on ${s.table}`,
      {
        exitClass: "config",
        hint: "pick a unique NOT NULL key (e.g. the primary key), or use chunk_column ranges",
      },
    );
  }
}

function keyTypeOf(field: arrow.Field): KeysetKeyType {
  const t = String(field.type);
  if (/^u?int/i.test(t)) return "integer";
  return field.metadata.get("rivet.logical_type") === "uuid" ? "uuid" : "text";
}

/** Runs a keyset export; never throws, the outcome carries any error. */
export async function runKeysetJob(
  plan: ExportPlan,
  source: SourceConnection,
  state: StateStore,
  deps: ExportJobDeps,
): Promise<ExportOutcome> {
  const s = plan.strategy as KeysetStrategy;
  const started = deps.now();
  const t0 = performance.now();
  const rss = startRssSampler(100);
  const journal = new JournalRecorder(plan.runId, plan.name, deps.now);
  journal.add(planResolvedEvent(plan));
  let status: ExportOutcome["status"] = "success";
  let error: string | null = null;
  const parts: CommittedPart[] = [];
  let rows = 0;
  let retries = 0;
  let validated: boolean | null = null;
  let destination: Destination | null = null;
  let schema: arrow.Schema | null = null;
  try {
    destination = await deps.openDestination(plan.destination);
    const probe = await deps.openSource(source);
    try {
      await checkKey(plan, s, probe);
    } finally {
      await probe.close().catch(() => {});
    }
    const progress = deps.progress.ipc
      ? ipcChunkProgress(plan.name, 0)
      : startChunkProgress(plan.name, 0, deps.progress);
    let lastLiteral: string | null = null;
    for (let page = 0;; page++) {
      const sql = lastLiteral === null
        ? keysetFirstPageSql(plan.engine, plan.baseQuery, s.key, s.pageSize)
        : keysetNextPageSql(plan.engine, plan.baseQuery, s.key, s.pageSize, lastLiteral);
      let lastBatch: arrow.RecordBatch | null = null;
      let extracted: Extracted | null = null;
      for (let attempt = 0;; attempt++) {
        let src: Source | null = null;
        let seen = 0;
        try {
          src = await deps.openSource(source);
          extracted = await extractOnce(
            plan,
            {
              query: sql,
              dropColumns: [],
              trackCursor: false,
              qualityGate: false,
              onRows: (n) => {
                progress.rows(n - seen);
                seen = n;
              },
              onBatch: (b) => {
                if (b.numRows > 0) lastBatch = b;
              },
            },
            src,
            destination,
            deps,
          );
          break;
        } catch (err) {
          progress.rows(-seen);
          if (!isRetryable(err) || attempt >= plan.tuning.maxRetries || deps.signal?.aborted) {
            throw err;
          }
          retries++;
          const backoff = plan.tuning.retryBackoffMs * 2 ** attempt;
          log.warn(
            `export '${plan.name}' page ${page}: ${describeError(err)} — retry ${attempt + 1}/` +
              `${plan.tuning.maxRetries} in ${backoff}ms [reconnecting]`,
          );
          await deps.sleep(backoff);
        } finally {
          await src?.close().catch(() => {});
        }
      }
      if (extracted.rows === 0) {
        await abortAll(extracted);
        break;
      }
      schema ??= extracted.schema;
      const at = deps.now();
      const count = extracted.pending.length;
      const ext = extracted.extension as "parquet" | "csv";
      const names = extracted.pending.map((_, j) =>
        keysetFileName(plan.name, at, page, ext, { index: j, count })
      );
      const committed = await commitParts(
        plan,
        extracted,
        names,
        (part, index) =>
          recordPart(plan, state, plan.runId, deps.now(), part, { recorder: journal, index }),
      );
      parts.push(...committed);
      rows += extracted.rows;
      journal.add({
        kind: "ChunkCompleted",
        chunk_index: page,
        rows: extracted.rows,
        file_name: committed[0]?.name ?? null,
      });
      progress.chunkDone();
      if (!keysetHasNextPage(extracted.rows, s.pageSize)) break;
      const last = lastBatch as arrow.RecordBatch | null;
      const idx = last ? last.schema.fields.findIndex((f) => f.name === s.key) : -1;
      if (last === null || idx < 0) {
        throw new RivetError(`export '${plan.name}': the query result has no column '${s.key}'`, {
          exitClass: "config",
          hint: "chunk_by_key must name a column the query selects",
        });
      }
      const field = last.schema.fields[idx]!;
      const read = cursorReader(field, s.key);
      const value = read(last.data.children[idx]!, last.getChildAt(idx)!, last.numRows - 1);
      lastLiteral = keysetKeyLiteral(plan.engine, s.key, keyTypeOf(field), value);
    }
    progress.done();
    if (plan.quality) {
      const issues = rowCountIssues(plan.quality, rows);
      for (const i of issues) log.warn(formatQualityIssue(i));
      if (!qualityPassed(issues)) {
        throw new RivetError(`export '${plan.name}': quality checks failed (keyset aggregate)`, {
          exitClass: "data_integrity",
        });
      }
    }
    if (!destination.streaming) {
      const manifest = await writeManifest(
        plan,
        destination,
        "success",
        parts,
        schema,
        started,
        deps.now(),
      );
      if (manifest !== null) await writeSuccessMarker(plan, destination, manifest);
      if (plan.validate) {
        validated = false; // stays false (reported FAIL) when the check throws
        validated = await validatePrefix(plan, destination, journal);
      }
    }
  } catch (err) {
    status = "failed";
    error = describeError(err);
    if (err instanceof RivetError && err.hint) error += ` (${err.hint})`;
    if (parts.length > 0 && destination && !destination.streaming) {
      await writeManifest(plan, destination, "failed", parts, schema, started, deps.now());
      await destination.delete(SUCCESS_NAME).catch(() => {});
    }
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
    skipReason: null,
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
