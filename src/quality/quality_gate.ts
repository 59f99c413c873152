// Quality gate: accumulates row/NULL/uniqueness statistics over destination batches and evaluates spec 7.1 (execution layer).
//
// Feed it every destination batch before meta columns are appended (`observe` or `stream()`),
// then call `evaluate(totalRows)` once the export's rows are known and before any upload.
//
// Uniqueness keys (per column, so values of different columns never meet):
// * fixed-width types (ints, floats, decimals, dates, times, timestamps, bool): the value's own
//   bits are the key (exact, no hashing; every NaN is one value, -0 and 0 differ), read straight
//   from the column's typed array without allocating per row;
// * strings, binaries and lists: xxh3-128 of the value's canonical bytes (`canonical_bytes.ts`:
//   typed value bytes with lengths, not display text).
// NULLs are skipped: they are neither values nor duplicates of each other (spec 11.2 #8 fixed).
// The empty string is a value like any other.
import * as arrow from "apache-arrow";
import { createXXHash128 } from "hash-wasm";
import type { QualityConfig } from "../config/config_types.ts";
import {
  ByteSink,
  fixedWidthOf,
  isNaNBits,
  isValid,
  valueWriter,
} from "../enrich/canonical_bytes.ts";
import { KeySet } from "./key_set.ts";

export type QualitySeverity = "fail" | "warn";

export interface QualityIssue {
  readonly severity: QualitySeverity;
  readonly message: string;
}

type Hasher = Awaited<ReturnType<typeof createXXHash128>>;

/** `row_count_min` / `row_count_max` alone (also for 0 rows); used for chunked aggregates. */
export function rowCountIssues(config: QualityConfig, totalRows: number): QualityIssue[] {
  const issues: QualityIssue[] = [];
  if (config.row_count_min !== undefined && totalRows < config.row_count_min) {
    issues.push({
      severity: "fail",
      message: `row_count ${totalRows} below minimum ${config.row_count_min}`,
    });
  }
  if (config.row_count_max !== undefined && totalRows > config.row_count_max) {
    issues.push({
      severity: "fail",
      message: `row_count ${totalRows} exceeds maximum ${config.row_count_max}`,
    });
  }
  return issues;
}

/** True when no issue is a failure. */
export function qualityPassed(issues: readonly QualityIssue[]): boolean {
  return issues.every((i) => i.severity !== "fail");
}

/** The log line of an issue: `quality FAIL: …` or `quality WARN: …`. */
export function formatQualityIssue(issue: QualityIssue): string {
  return `quality ${issue.severity === "fail" ? "FAIL" : "WARN"}: ${issue.message}`;
}

/** Distinct-value tracking of one column. */
class UniqueTracker {
  readonly set: KeySet;
  /** Non-NULL values whose key was already in the set. */
  duplicates = 0;
  capped = false;
  readonly #cap: number;
  readonly #width: number; // fixed width in bytes, 0 = hashed
  readonly #scratch: Uint32Array;
  readonly #scratchBytes: Uint8Array;
  readonly #sink = new ByteSink();

  constructor(readonly type: arrow.DataType, cap: number, readonly hasher: Hasher | undefined) {
    this.#cap = cap;
    this.#width = arrow.DataType.isBool(type) ? 1 : fixedWidthOf(type);
    const words = this.#width > 0 ? Math.ceil(this.#width / 4) : 4;
    this.set = new KeySet(words);
    this.#scratch = new Uint32Array(words);
    this.#scratchBytes = new Uint8Array(this.#scratch.buffer);
  }

  observe(data: arrow.Data, column: string): void {
    if (this.capped) return;
    const n = data.length;
    const hasNulls = data.nullCount > 0;
    if (arrow.DataType.isBool(data.type)) return this.#observeBool(data, n, hasNulls);
    if (this.#width > 0) return this.#observeFixed(data, n, hasNulls);
    this.#observeHashed(data, n, hasNulls, column);
  }

  /** False (and marks the column capped) when the set is full. */
  #room(): boolean {
    if (this.set.size >= this.#cap) {
      this.capped = true;
      return false;
    }
    return true;
  }

  #add(src: Uint32Array, at: number): void {
    if (!this.set.add(src, at)) this.duplicates++;
  }

  #observeBool(data: arrow.Data, n: number, hasNulls: boolean): void {
    const bits = data.values as Uint8Array;
    const s = this.#scratch;
    for (let row = 0; row < n; row++) {
      if (hasNulls && !isValid(data, row)) continue;
      if (!this.#room()) return;
      const bit = data.offset + row;
      s[0] = (bits[bit >> 3]! >> (bit & 7)) & 1;
      this.#add(s, 0);
    }
  }

  #observeFixed(data: arrow.Data, n: number, hasNulls: boolean): void {
    const width = this.#width;
    const v = data.values as ArrayBufferView;
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const isFloat = arrow.DataType.isFloat(data.type);
    const words = this.set.words;
    // Direct path: whole 32-bit words, aligned, no NaN canonicalization needed.
    if (!isFloat && width % 4 === 0 && v.byteOffset % 4 === 0) {
      const u32 = new Uint32Array(v.buffer, v.byteOffset, v.byteLength >> 2);
      for (let row = 0; row < n; row++) {
        if (hasNulls && !isValid(data, row)) continue;
        if (!this.#room()) return;
        this.#add(u32, row * words);
      }
      return;
    }
    const s = this.#scratch;
    const sb = this.#scratchBytes;
    for (let row = 0; row < n; row++) {
      if (hasNulls && !isValid(data, row)) continue;
      if (!this.#room()) return;
      const from = row * width;
      if (isFloat && isNaNBits(bytes, from, width)) {
        s.fill(0);
        s[0] = 0x7fc00000; // one key for every NaN
      } else {
        s.fill(0);
        for (let k = 0; k < width; k++) sb[k] = bytes[from + k]!;
      }
      this.#add(s, 0);
    }
  }

  #observeHashed(data: arrow.Data, n: number, hasNulls: boolean, column: string): void {
    const write = valueWriter(data, column);
    const sink = this.#sink;
    const hasher = this.hasher!;
    const s = this.#scratch;
    for (let row = 0; row < n; row++) {
      if (hasNulls && !isValid(data, row)) continue;
      if (!this.#room()) return;
      sink.reset();
      write(row, sink);
      const d = hasher.init().update(sink.view()).digest("binary");
      s[0] = d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24);
      s[1] = d[4]! | (d[5]! << 8) | (d[6]! << 16) | (d[7]! << 24);
      s[2] = d[8]! | (d[9]! << 8) | (d[10]! << 16) | (d[11]! << 24);
      s[3] = d[12]! | (d[13]! << 8) | (d[14]! << 16) | (d[15]! << 24);
      this.#add(s, 0);
    }
  }
}

/**
 * Accumulates the statistics a `quality:` block needs. One instance per export attempt (not per
 * file). Create with `QualityGate.create(config)`.
 */
export class QualityGate {
  readonly config: QualityConfig;
  readonly #hasher: Hasher | undefined;
  readonly #nulls = new Map<string, number>();
  readonly #unique = new Map<string, UniqueTracker>();
  #rows = 0;
  #schema: arrow.Schema | undefined;
  #nullCols: [string, number][] = [];
  #uniqueCols: [string, number][] = [];

  private constructor(config: QualityConfig, hasher: Hasher | undefined) {
    this.config = config;
    this.#hasher = hasher;
  }

  static async create(config: QualityConfig): Promise<QualityGate> {
    const needsHash = (config.unique_columns?.length ?? 0) > 0;
    return new QualityGate(config, needsHash ? await createXXHash128() : undefined);
  }

  /** Rows observed so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Adds one destination batch (data columns only) to the statistics. */
  observe(batch: arrow.RecordBatch): void {
    if (batch.schema !== this.#schema) this.#bind(batch.schema);
    this.#rows += batch.numRows;
    if (batch.numRows === 0) return;
    for (const [name, i] of this.#nullCols) {
      this.#nulls.set(name, (this.#nulls.get(name) ?? 0) + batch.data.children[i]!.nullCount);
    }
    for (const [name, i] of this.#uniqueCols) {
      const data = batch.data.children[i]!;
      let tracker = this.#unique.get(name);
      if (!tracker) {
        tracker = new UniqueTracker(
          data.type,
          this.config.unique_max_entries ?? Number.POSITIVE_INFINITY,
          this.#hasher,
        );
        this.#unique.set(name, tracker);
      }
      tracker.observe(data, name);
    }
  }

  /** A pass-through stage that observes every batch flowing through it. */
  stream(): TransformStream<arrow.RecordBatch, arrow.RecordBatch> {
    return new TransformStream({
      transform: (batch, controller) => {
        this.observe(batch);
        controller.enqueue(batch);
      },
    });
  }

  /** Every issue for an export of `totalRows` rows (spec 7.1), in config order. */
  evaluate(totalRows: number): QualityIssue[] {
    const c = this.config;
    const issues = rowCountIssues(c, totalRows);
    if (totalRows <= 0) return issues;
    for (const [col, max] of Object.entries(c.null_ratio_max ?? {})) {
      const ratio = (this.#nulls.get(col) ?? 0) / totalRows;
      if (ratio > max) {
        issues.push({
          severity: "fail",
          message: `column '${col}': null ratio ${ratio.toFixed(4)} exceeds threshold ${
            max.toFixed(4)
          }`,
        });
      }
    }
    for (const col of c.unique_columns ?? []) {
      const t = this.#unique.get(col);
      if (!t) {
        if (!this.#seenColumn(col)) {
          issues.push({
            severity: "warn",
            message: `column '${col}': not in the result; uniqueness not checked`,
          });
        }
        continue;
      }
      if (t.capped) {
        issues.push({
          severity: "warn",
          message: `column '${col}': uniqueness check capped at ${
            c.unique_max_entries ?? 0
          } entries; result may be incomplete`,
        });
      }
      if (t.duplicates > 0) {
        issues.push({
          severity: "fail",
          message: `column '${col}': ${
            t.capped ? "at least " : ""
          }${t.duplicates} duplicate values out of ${totalRows} rows`,
        });
      }
    }
    return issues;
  }

  #seenColumn(col: string): boolean {
    return this.#schema?.fields.some((f) => f.name === col) ?? false;
  }

  #bind(schema: arrow.Schema): void {
    this.#schema = schema;
    const index = new Map(schema.fields.map((f, i) => [f.name, i] as const));
    this.#nullCols = [];
    for (const col of Object.keys(this.config.null_ratio_max ?? {})) {
      const i = index.get(col);
      if (i !== undefined) this.#nullCols.push([col, i]);
    }
    this.#uniqueCols = [];
    for (const col of this.config.unique_columns ?? []) {
      const i = index.get(col);
      if (i !== undefined) this.#uniqueCols.push([col, i]);
    }
  }
}
