// Run journal events and their stored JSON form (`run_journal.journal_json`, spec 5.3) (persistence layer, data only).

/** One journal event; `kind` is the variant name used as the JSON key when stored. */
export type JournalEvent =
  | {
    readonly kind: "PlanResolved";
    readonly export_name: string;
    readonly base_query: string;
    readonly strategy: string;
    readonly format: string;
    readonly compression: string | null;
    readonly destination_type: string;
    readonly tuning_profile: string;
    readonly batch_size: number;
    readonly validate: boolean;
    readonly reconcile: boolean;
    readonly resume: boolean;
  }
  | { readonly kind: "PlanWarning"; readonly rule: string; readonly message: string }
  | {
    readonly kind: "FileWritten";
    readonly file_name: string;
    readonly rows: number;
    readonly bytes: number;
    readonly part_index: number;
  }
  | {
    readonly kind: "ChunkStarted";
    readonly chunk_index: number;
    readonly start_key: string;
    readonly end_key: string;
  }
  | {
    readonly kind: "ChunkCompleted";
    readonly chunk_index: number;
    readonly rows: number;
    /** null for a chunk that produced no rows. */
    readonly file_name: string | null;
  }
  | {
    readonly kind: "ChunkFailed";
    readonly chunk_index: number;
    readonly error: string;
    readonly attempt: number;
  }
  | {
    readonly kind: "RetryAttempted";
    readonly attempt: number;
    readonly reason: string;
    readonly backoff_ms: number;
  }
  | { readonly kind: "QualityIssue"; readonly severity: "FAIL" | "WARN"; readonly message: string }
  | {
    readonly kind: "SchemaChanged";
    /** `"name (Type)"` entries. */
    readonly added: readonly string[];
    readonly removed: readonly string[];
    /** `[name, old type, new type]`. */
    readonly type_changed: readonly (readonly [string, string, string])[];
  }
  | { readonly kind: "Warning"; readonly context: string; readonly message: string }
  | {
    readonly kind: "ParallelismAdjusted";
    readonly from: number;
    readonly to: number;
    readonly reason: string;
  }
  | { readonly kind: "ValidationResult"; readonly passed: boolean }
  | {
    readonly kind: "ReconciliationResult";
    readonly source_count: number;
    readonly exported_rows: number;
    readonly matched: boolean;
  }
  | {
    readonly kind: "RunCompleted";
    readonly status: string;
    readonly error_message: string | null;
    readonly duration_ms: number;
  }
  /** A variant this version does not know (written by a newer Rivet); kept as stored. */
  | { readonly kind: "Unknown"; readonly variant: string; readonly fields: unknown };

export type JournalEventKind = JournalEvent["kind"];

export interface JournalEntry {
  /** RFC 3339 UTC. */
  readonly recorded_at: string;
  readonly event: JournalEvent;
}

/** The journal of one export job (one run id). */
export interface RunJournal {
  readonly run_id: string;
  readonly export_name: string;
  readonly entries: readonly JournalEntry[];
}

const KNOWN_KINDS: ReadonlySet<string> = new Set([
  "PlanResolved",
  "PlanWarning",
  "FileWritten",
  "ChunkStarted",
  "ChunkCompleted",
  "ChunkFailed",
  "RetryAttempted",
  "QualityIssue",
  "SchemaChanged",
  "Warning",
  "ParallelismAdjusted",
  "ValidationResult",
  "ReconciliationResult",
  "RunCompleted",
]);

/** The stored JSON text: entries carry `{"<Variant>": {fields}}` (externally tagged). */
export function journalToJson(journal: RunJournal): string {
  return JSON.stringify({
    run_id: journal.run_id,
    export_name: journal.export_name,
    entries: journal.entries.map((e) => ({
      recorded_at: e.recorded_at,
      event: eventToJson(e.event),
    })),
  });
}

function eventToJson(event: JournalEvent): Record<string, unknown> {
  if (event.kind === "Unknown") return { [event.variant]: event.fields };
  const { kind, ...fields } = event;
  return { [kind]: fields };
}

/** Parses stored journal JSON; unknown variants become `Unknown` events, never an error. */
export function journalFromJson(text: string): RunJournal {
  const raw: unknown = JSON.parse(text);
  if (!isRecord(raw) || !Array.isArray(raw.entries)) {
    throw new TypeError("journal JSON is not an object with an `entries` array");
  }
  const entries: JournalEntry[] = [];
  for (const item of raw.entries) {
    if (!isRecord(item) || !isRecord(item.event)) continue;
    const variant = Object.keys(item.event)[0];
    if (variant === undefined) continue;
    const fields = item.event[variant];
    const event: JournalEvent = KNOWN_KINDS.has(variant) && isRecord(fields)
      ? { ...fields, kind: variant } as JournalEvent
      : { kind: "Unknown", variant, fields };
    entries.push({ recorded_at: String(item.recorded_at ?? ""), event });
  }
  return {
    run_id: String(raw.run_id ?? ""),
    export_name: String(raw.export_name ?? ""),
    entries,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
