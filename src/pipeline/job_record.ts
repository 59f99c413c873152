// The common end of every export job: the journal's last event, the metrics row, the outcome (execution layer).
import type { ExportPlan } from "../plan/plan_types.ts";
import type { StateStore } from "../state/state_store.ts";
import type { CommittedPart, ExportOutcome } from "./outcome.ts";
import type { JournalRecorder } from "./journal_recorder.ts";
import type { JournalEvent } from "../state/journal_types.ts";
import { quietly } from "./export_job.ts";

/** What a job knows when it ends; everything else comes from the plan. */
export interface JobEnd {
  readonly started: Date;
  readonly finished: Date;
  readonly durationMs: number;
  readonly peakRssMb: number;
  readonly runId: string;
  /** Key the journal is stored under (a helping worker's differs from the run id). */
  readonly journalKey?: string;
  readonly status: ExportOutcome["status"];
  readonly skipReason: string | null;
  readonly error: string | null;
  readonly rows: number;
  readonly parts: readonly CommittedPart[];
  readonly retries: number;
  readonly validated: boolean | null;
  readonly reconciliation?: ExportOutcome["reconciliation"];
  readonly schemaChanged: boolean | null;
  readonly schemaChanges: ExportOutcome["schemaChanges"];
  readonly quality: boolean | null;
  readonly destinationUri: string;
}

/**
 * Closes the journal with RunCompleted, stores it and the metrics row (failures only warn), and
 * returns the outcome every report is built from.
 */
export async function recordJobEnd(
  plan: ExportPlan,
  state: StateStore,
  journal: JournalRecorder,
  end: JobEnd,
): Promise<ExportOutcome> {
  journal.add({
    kind: "RunCompleted",
    status: end.status,
    error_message: end.error,
    duration_ms: end.durationMs,
  });
  const j = journal.journal();
  await quietly(
    "cannot save the run journal",
    () =>
      state.saveJournal({ ...j, run_id: end.journalKey ?? end.runId }, end.finished.toISOString()),
  );
  const bytes = end.parts.reduce((a, p) => a + p.bytes, 0);
  await quietly("cannot record export metrics", () =>
    state.recordMetric({
      export_name: plan.name,
      run_at: end.started.toISOString(),
      duration_ms: end.durationMs,
      total_rows: end.rows,
      peak_rss_mb: end.peakRssMb,
      status: end.status,
      error_message: end.error,
      tuning_profile: plan.tuning.profile,
      format: plan.format.kind,
      mode: plan.mode,
      files_produced: end.parts.length,
      bytes_written: bytes,
      retries: end.retries,
      validated: end.validated,
      schema_changed: end.schemaChanged,
      run_id: end.runId,
    }));
  return {
    name: plan.name,
    runId: end.runId,
    mode: plan.mode,
    status: end.status,
    skipReason: end.skipReason,
    error: end.error,
    rows: end.rows,
    parts: end.parts,
    bytes,
    startedAt: end.started.toISOString(),
    finishedAt: end.finished.toISOString(),
    durationMs: end.durationMs,
    peakRssMb: end.peakRssMb,
    retries: end.retries,
    tuningLabel: plan.tuning.label,
    batchSize: plan.tuning.batchSize,
    format: plan.format.kind,
    compression: plan.compression,
    destinationKind: plan.destination.type,
    destinationUri: end.destinationUri,
    validated: end.validated,
    ...(end.reconciliation === undefined ? {} : { reconciliation: end.reconciliation }),
    schemaChanged: end.schemaChanged,
    schemaChanges: end.schemaChanges,
    quality: end.quality,
    planWarnings: journal.planWarnings(),
  };
}

/** The first journal event of every job: what the plan resolved to (spec 5.3 PlanResolved). */
export function planResolvedEvent(plan: ExportPlan): JournalEvent {
  return {
    kind: "PlanResolved",
    export_name: plan.name,
    base_query: plan.baseQuery,
    strategy: plan.mode,
    format: plan.format.kind,
    compression: plan.compression,
    destination_type: plan.destination.type,
    tuning_profile: plan.tuning.profile,
    batch_size: plan.tuning.batchSize,
    validate: plan.validate,
    reconcile: plan.reconcile,
    resume: plan.resume,
  };
}

/**
 * Records one committed part: a FileWritten journal event (when a journal is given) and a
 * file_log row (a failure only warns, spec 4.2).
 */
export async function recordPart(
  plan: ExportPlan,
  state: StateStore,
  runId: string,
  at: Date,
  part: CommittedPart,
  journal?: { recorder: JournalRecorder; index: number },
): Promise<void> {
  journal?.recorder.add({
    kind: "FileWritten",
    file_name: part.name,
    rows: part.rows,
    bytes: part.bytes,
    part_index: journal.index,
  });
  await quietly("cannot record the file in the state file log", () =>
    state.recordFile({
      run_id: runId,
      export_name: plan.name,
      file_name: part.name,
      row_count: part.rows,
      bytes: part.bytes,
      format: plan.format.kind,
      compression: plan.compression,
      created_at: at.toISOString(),
    }));
}
