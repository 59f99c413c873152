// Collects the typed events of one export job in order, for the run journal (execution layer).
import type { JournalEntry, JournalEvent, RunJournal } from "../state/journal_types.ts";

export class JournalRecorder {
  readonly #entries: JournalEntry[] = [];

  constructor(
    private readonly runId: string,
    private readonly exportName: string,
    private readonly now: () => Date,
  ) {}

  add(event: JournalEvent): void {
    this.#entries.push({ recorded_at: this.now().toISOString(), event });
  }

  journal(): RunJournal {
    return { run_id: this.runId, export_name: this.exportName, entries: [...this.#entries] };
  }

  planWarnings(): Array<{ rule: string; message: string }> {
    const out: Array<{ rule: string; message: string }> = [];
    for (const e of this.#entries) {
      if (e.event.kind === "PlanWarning") {
        out.push({ rule: e.event.rule, message: e.event.message });
      }
    }
    return out;
  }
}
