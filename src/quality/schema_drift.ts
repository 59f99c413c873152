// Schema drift and shape drift: canonical column types, schema fingerprint, diffs and the drift decision (execution layer, pure).
//
// Canonical type strings follow the Rust arrow-rs spelling the reference stores in
// `export_schema.columns_json`: `Boolean`, `Int64`, `UInt64`, `Float64`, `Decimal128(38, 10)`,
// `Date32`, `Time64(Microsecond)`, `Timestamp(Microsecond, None)`,
// `Timestamp(Microsecond, Some("UTC"))`, `Utf8`, `Binary`; lists are `List(<item type>)`.
// Nullability and field metadata are not part of the type.
import * as arrow from "apache-arrow";
import { createXXHash3 } from "hash-wasm";
import type { DriftPolicy } from "../config/config_types.ts";
import { META_COLUMN_NAMES } from "../enrich/meta_columns.ts";

/** One destination column as stored in `export_schema.columns_json`. */
export interface SchemaColumn {
  readonly name: string;
  readonly type: string;
}

export interface SchemaDiff {
  /** New columns, rendered `name (Type)`, sorted by name. */
  readonly added: readonly string[];
  /** Vanished column names, sorted. */
  readonly removed: readonly string[];
  /** `[name, old type, new type]`, sorted by name. */
  readonly type_changed: readonly (readonly [string, string, string])[];
}

export interface DriftDecision {
  readonly changed: boolean;
  /** `store`: write the current schema to state; `keep`: leave the stored one untouched. */
  readonly action: "store" | "keep";
  /** Set with `on_schema_drift: fail` when the schema changed: the export must fail with it. */
  readonly failMessage?: string;
  /** Lines to log (`warn` at warning level, `fail` at error level); empty for `continue`. */
  readonly logLines: readonly string[];
}

const TIME_UNITS = ["Second", "Millisecond", "Microsecond", "Nanosecond"];

/** The canonical string of an Arrow type. */
export function canonicalTypeString(type: arrow.DataType): string {
  const T = arrow.DataType;
  if (T.isNull(type)) return "Null";
  if (T.isBool(type)) return "Boolean";
  if (T.isInt(type)) return `${type.isSigned ? "Int" : "UInt"}${type.bitWidth}`;
  if (T.isFloat(type)) return ["Float16", "Float32", "Float64"][type.precision] ?? String(type);
  if (T.isDecimal(type)) return `Decimal${type.bitWidth}(${type.precision}, ${type.scale})`;
  if (T.isDate(type)) return type.unit === arrow.DateUnit.DAY ? "Date32" : "Date64";
  if (T.isTime(type)) return `Time${type.bitWidth}(${TIME_UNITS[type.unit]})`;
  if (T.isTimestamp(type)) {
    const tz = type.timezone ? `Some(${JSON.stringify(type.timezone)})` : "None";
    return `Timestamp(${TIME_UNITS[type.unit]}, ${tz})`;
  }
  if (T.isDuration(type)) return `Duration(${TIME_UNITS[type.unit]})`;
  if (T.isUtf8(type)) return "Utf8";
  if (T.isLargeUtf8(type)) return "LargeUtf8";
  if (T.isBinary(type)) return "Binary";
  if (T.isLargeBinary(type)) return "LargeBinary";
  if (T.isFixedSizeBinary(type)) return `FixedSizeBinary(${type.byteWidth})`;
  if (T.isList(type)) {
    const item = type.children[0];
    return `List(${item ? canonicalTypeString(item.type) : "Null"})`;
  }
  return String(type);
}

/** True for the names of Rivet's meta columns, which drift tracking ignores. */
export function isMetaColumn(name: string): boolean {
  return META_COLUMN_NAMES.includes(name);
}

/** The destination columns of a schema with canonical types, in schema order, meta excluded. */
export function schemaColumns(schema: arrow.Schema): SchemaColumn[] {
  return schema.fields
    .filter((f) => !isMetaColumn(f.name))
    .map((f) => ({ name: f.name, type: canonicalTypeString(f.type) }));
}

/** `xxh3:<16 hex>` over the columns sorted by name as `<name>\t<type>\n` (spec 6.3). */
export async function schemaFingerprint(
  schema: arrow.Schema | readonly SchemaColumn[],
): Promise<string> {
  const cols = schema instanceof arrow.Schema
    ? schemaColumns(schema)
    : schema.filter((c) => !isMetaColumn(c.name));
  const text = [...cols]
    .sort((a, b) => compareNames(a.name, b.name))
    .map((c) => `${c.name}\t${c.type}\n`)
    .join("");
  const h = await createXXHash3();
  return `xxh3:${h.init().update(new TextEncoder().encode(text)).digest("hex")}`;
}

/** The fingerprint used when a run saw no schema and none is stored. */
export const EMPTY_SCHEMA_FINGERPRINT = "xxh3:0000000000000000";

/** Differences between the stored and the current columns; column order is ignored. */
export function diffSchemas(
  stored: readonly SchemaColumn[],
  current: readonly SchemaColumn[],
): SchemaDiff {
  const before = new Map(stored.filter((c) => !isMetaColumn(c.name)).map((c) => [c.name, c.type]));
  const now = new Map(current.filter((c) => !isMetaColumn(c.name)).map((c) => [c.name, c.type]));
  const added: [string, string][] = [];
  const typeChanged: [string, string, string][] = [];
  for (const [name, type] of now) {
    const old = before.get(name);
    if (old === undefined) added.push([name, type]);
    else if (old !== type) typeChanged.push([name, old, type]);
  }
  const removed = [...before.keys()].filter((n) => !now.has(n));
  return {
    added: added.sort((a, b) => compareNames(a[0], b[0])).map(([n, t]) => `${n} (${t})`),
    removed: removed.sort(compareNames),
    type_changed: typeChanged.sort((a, b) => compareNames(a[0], b[0])),
  };
}

/** True when the diff holds any change. */
export function hasDrift(diff: SchemaDiff): boolean {
  return diff.added.length + diff.removed.length + diff.type_changed.length > 0;
}

/**
 * What to do with a diff under `on_schema_drift` (spec 7.2). With no stored schema, pass
 * `undefined` as the diff: the current schema is stored and nothing changed.
 */
export function decideDrift(
  policy: DriftPolicy,
  diff: SchemaDiff | undefined,
  exportName: string,
): DriftDecision {
  if (diff === undefined) return { changed: false, action: "store", logLines: [] };
  if (!hasDrift(diff)) return { changed: false, action: "keep", logLines: [] };
  const details = [
    ...(diff.added.length ? [`  added: ${diff.added.join(", ")}`] : []),
    ...(diff.removed.length ? [`  removed: ${diff.removed.join(", ")}`] : []),
    ...diff.type_changed.map(([c, o, n]) => `  type changed: ${c} (${o} → ${n})`),
  ];
  switch (policy) {
    case "continue":
      return { changed: true, action: "store", logLines: [] };
    case "warn":
      return { changed: true, action: "store", logLines: ["schema changed!", ...details] };
    case "fail":
      return {
        changed: true,
        action: "keep",
        logLines: [`schema changed for export '${exportName}' (on_schema_drift: fail)`, ...details],
        failMessage: `schema drift detected for export '${exportName}': ` +
          `${diff.added.length} column(s) added, ${diff.removed.length} removed, ` +
          `${diff.type_changed.length} retyped — set \`on_schema_drift: warn\` to accept, ` +
          "or fix the schema mismatch",
      };
  }
}

/** Code-unit order, so sorting never depends on the locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- shape drift ----

export interface ShapeWarning {
  readonly column: string;
  readonly storedMaxBytes: number;
  readonly currentMaxBytes: number;
  readonly growth: number;
  /** Journal context: `shape_drift:<column>`. */
  readonly context: string;
  readonly message: string;
}

/** Accumulates the maximum value byte length of every string/binary column over batches. */
export class ShapeTracker {
  readonly #max = new Map<string, number>();

  /** Adds one destination batch (meta columns are ignored). */
  observe(batch: arrow.RecordBatch): void {
    const T = arrow.DataType;
    batch.schema.fields.forEach((f, i) => {
      if (isMetaColumn(f.name)) return;
      const t = f.type;
      if (!(T.isUtf8(t) || T.isBinary(t) || T.isLargeUtf8(t) || T.isLargeBinary(t))) return;
      const data = batch.data.children[i]!;
      const offs = data.valueOffsets as Int32Array | BigInt64Array;
      let max = this.#max.get(f.name) ?? 0;
      if (offs instanceof BigInt64Array) {
        for (let r = 0; r < data.length; r++) {
          const len = Number(offs[r + 1]! - offs[r]!);
          if (len > max) max = len;
        }
      } else {
        for (let r = 0; r < data.length; r++) {
          const len = offs[r + 1]! - offs[r]!;
          if (len > max) max = len;
        }
      }
      this.#max.set(f.name, max);
    });
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

  /** Column → maximum byte length seen (NULLs count as 0 bytes). */
  maxBytes(): ReadonlyMap<string, number> {
    return new Map(this.#max);
  }
}

/**
 * Warnings for columns whose maximum byte length grew by more than `factor` over the stored
 * maximum (stored > 0 only). `factor <= 0` disables the check.
 */
export function shapeWarnings(
  stored: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
  factor: number,
): ShapeWarning[] {
  if (!(factor > 0)) return [];
  const out: ShapeWarning[] = [];
  for (const [column, cur] of current) {
    const old = stored.get(column) ?? 0;
    if (old > 0 && cur > old * factor) {
      const growth = cur / old;
      out.push({
        column,
        storedMaxBytes: old,
        currentMaxBytes: cur,
        growth,
        context: `shape_drift:${column}`,
        message: `shape drift in column '${column}' — max byte length grew ${
          growth.toFixed(1)
        }× (${old} → ${cur} bytes)`,
      });
    }
  }
  return out;
}

/** The maxima to store after a run: per column the larger of stored and current (never lower). */
export function raisedShape(
  stored: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): Map<string, number> {
  const out = new Map(stored);
  for (const [c, n] of current) out.set(c, Math.max(n, out.get(c) ?? 0));
  return out;
}
