// Tracks the incremental cursor through the batch stream and drops rows already exported at the boundary (execution layer).
import * as arrow from "apache-arrow";
import { ConfigError } from "../errors.ts";
import { decimalText, float64Text } from "../format/csv/csv_cells.ts";
import type { CursorSnapshot } from "../plan/plan_types.ts";

/** Row hashes (hex) of every row of a batch, over the destination columns. */
export type RowHasher = (batch: arrow.RecordBatch) => Promise<string[]>;

const MICROS_PER_DAY = 86_400_000_000n;

function microsText(micros: bigint, utc: boolean): string {
  let days = micros / MICROS_PER_DAY;
  let rem = micros % MICROS_PER_DAY;
  if (rem < 0n) {
    rem += MICROS_PER_DAY;
    days -= 1n;
  }
  const date = new Date(Number(days) * 86_400_000).toISOString().slice(0, 10);
  const secs = Number(rem / 1_000_000n);
  const frac = String(rem % 1_000_000n).padStart(6, "0");
  const hh = String(Math.floor(secs / 3600)).padStart(2, "0");
  const mm = String(Math.floor((secs % 3600) / 60)).padStart(2, "0");
  const ss = String(secs % 60).padStart(2, "0");
  return `${date} ${hh}:${mm}:${ss}.${frac}${utc ? "+00:00" : ""}`;
}

/**
 * A reader of one column's values as canonical cursor text, which the database compares
 * exactly: integers and decimals as exact digits, dates `YYYY-MM-DD`, timestamps with
 * microseconds (and `+00:00` for UTC ones), text and uuid as they are. Other types are refused.
 */
export function cursorReader(
  field: arrow.Field,
  column: string,
): (data: arrow.Data, vector: arrow.Vector, i: number) => string | null {
  const t = field.type;
  const valid = (v: arrow.Vector, i: number) => v.isValid(i);
  if (arrow.DataType.isInt(t)) {
    return (d, v, i) =>
      valid(v, i) ? String((d.values as ArrayLike<number | bigint>)[d.offset + i]) : null;
  }
  if (arrow.DataType.isFloat(t)) {
    return (d, v, i) => {
      if (!valid(v, i)) return null;
      const x = Number((d.values as Float64Array)[d.offset + i]);
      if (!Number.isFinite(x)) {
        throw new ConfigError(
          `cursor column '${column}' holds ${float64Text(x)}, which cannot be a cursor`,
        );
      }
      return float64Text(x);
    };
  }
  if (arrow.DataType.isDecimal(t)) {
    const words = t.bitWidth / 32;
    return (d, v, i) =>
      valid(v, i)
        ? decimalText(d.values as Uint32Array, (d.offset + i) * words, words, t.scale)
        : null;
  }
  if (arrow.DataType.isDate(t) && t.unit === arrow.DateUnit.DAY) {
    return (d, v, i) =>
      valid(v, i)
        ? new Date((d.values as Int32Array)[d.offset + i]! * 86_400_000).toISOString().slice(0, 10)
        : null;
  }
  if (arrow.DataType.isTimestamp(t) && t.unit === arrow.TimeUnit.MICROSECOND) {
    const utc = t.timezone !== null && t.timezone !== undefined;
    return (d, v, i) =>
      valid(v, i) ? microsText((d.values as BigInt64Array)[d.offset + i]!, utc) : null;
  }
  if (arrow.DataType.isUtf8(t)) {
    return (_d, v, i) => (valid(v, i) ? v.get(i) as string : null);
  }
  throw new ConfigError(
    `cursor column '${column}' has type ${t}, which cannot be compared exactly as an incremental ` +
      `cursor; use an integer, decimal, date, timestamp, text or uuid column (or cast it in the query)`,
  );
}

/** How many boundary rows are remembered to skip on the next run (beyond that: re-exported). */
export const MAX_BOUNDARY_ROWS = 100_000;

/**
 * A pass-through stage for incremental exports. It reads the cursor of every row (the result is
 * ordered by it, so the last non-null value is the maximum), drops rows sitting exactly at the
 * stored cursor whose hash shows they were exported before, removes helper columns, and at the
 * end yields the new cursor with the hashes of the rows at it.
 */
export class CursorTracker {
  readonly stream: TransformStream<arrow.RecordBatch, arrow.RecordBatch>;
  /** Canonical text of the highest cursor value seen (null: no non-null value). */
  lastValue: string | null = null;
  /** Rows dropped because they had already been exported at the boundary. */
  skipped = 0;
  #run: Array<{ batch: arrow.RecordBatch; from: number; to: number }> = [];
  #runRows = 0;
  #overflow = false;

  constructor(
    private readonly trackedColumn: string,
    private readonly helperColumns: readonly string[],
    private readonly stored: CursorSnapshot | null,
    private readonly hashRows: RowHasher,
  ) {
    const storedHashes = new Set(stored?.boundaryHashes ?? []);
    let read: ReturnType<typeof cursorReader> | null = null;
    let inBoundary = stored !== null && storedHashes.size > 0;
    this.stream = new TransformStream({
      transform: async (batch, controller) => {
        const idx = batch.schema.fields.findIndex((f) => f.name === this.trackedColumn);
        if (idx < 0) {
          throw new ConfigError(
            `cursor column '${this.trackedColumn}' is not in the result of the query; ` +
              `check cursor_column and that the query selects it`,
          );
        }
        read ??= cursorReader(batch.schema.fields[idx]!, this.trackedColumn);
        const reader = read;
        const data = batch.data.children[idx]!;
        const vector = batch.getChildAt(idx)!;
        const value = (i: number) => reader(data, vector, i);
        const out = this.#strip(batch);
        this.#observe(out, value);

        // Rows at the stored value come first (ORDER BY cursor, WHERE cursor >= stored): drop
        // the ones whose hash says they were exported by an earlier run.
        let start = 0;
        if (inBoundary) {
          while (start < out.numRows && value(start) === stored!.value) start++;
          if (start < out.numRows) inBoundary = false;
          if (start > 0) {
            const hashes = await this.hashRows(out.slice(0, start));
            let runFrom = -1;
            for (let i = 0; i <= start; i++) {
              const keep = i < start && !storedHashes.has(hashes[i]!);
              if (keep && runFrom < 0) runFrom = i;
              if (!keep && runFrom >= 0) {
                controller.enqueue(out.slice(runFrom, i));
                runFrom = -1;
              }
              if (i < start && !keep) this.skipped++;
            }
          }
        }
        if (start === 0) controller.enqueue(out);
        else if (start < out.numRows) controller.enqueue(out.slice(start));
      },
    });
  }

  #strip(batch: arrow.RecordBatch): arrow.RecordBatch {
    if (this.helperColumns.length === 0) return batch;
    const keep = batch.schema.fields.map((f) => f.name).filter((n) =>
      !this.helperColumns.includes(n)
    );
    return batch.select(keep);
  }

  /**
   * Follows the run of rows holding the current maximum (the last non-null value, since the
   * result is ordered by the cursor and NULLs sort together at one end), to hash them at the end.
   * Only the rows of the batch's last run are read, not every row.
   */
  #observe(batch: arrow.RecordBatch, value: (i: number) => string | null): void {
    let end = batch.numRows - 1;
    while (end >= 0 && value(end) === null) end--;
    if (end < 0) return;
    const last = value(end)!;
    let from = end;
    while (from > 0) {
      const v = value(from - 1);
      if (v !== last && v !== null) break;
      from--;
    }
    const rows = end + 1 - from;
    if (last !== this.lastValue || from > 0) {
      // A new maximum, or the previous run ended inside this batch.
      if (last !== this.lastValue) {
        this.lastValue = last;
      }
      if (from > 0 || last !== this.lastValue) {
        this.#run = [];
        this.#runRows = 0;
        this.#overflow = false;
      }
    }
    if (this.#overflow) return;
    this.#run.push({ batch, from, to: end + 1 });
    this.#runRows += rows;
    if (this.#runRows > MAX_BOUNDARY_ROWS) {
      this.#overflow = true;
      this.#run = [];
    }
  }

  /** The new cursor position after the stream ended, or null when no row had a cursor. */
  async result(): Promise<CursorSnapshot | null> {
    if (this.lastValue === null) return null;
    const hashes: string[] = [];
    if (!this.#overflow) {
      for (const { batch, from, to } of this.#run) {
        hashes.push(...await this.hashRows(batch.slice(from, to)));
      }
    }
    return { value: this.lastValue, boundaryHashes: hashes };
  }
}
