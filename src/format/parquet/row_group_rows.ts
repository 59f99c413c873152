// Rows per Parquet row group from the export's `parquet:` block and the schema, spec 3.7 (execution layer, pure).
import * as arrow from "apache-arrow";

/** The `exports[].parquet` keys this computation reads (structurally the config's `ParquetConfig`). */
export interface RowGroupOptions {
  readonly row_group_strategy?: "auto" | "fixed_rows" | "fixed_memory";
  readonly row_group_rows?: number;
  readonly target_row_group_mb?: number;
  readonly max_row_group_mb?: number;
}

/** The writer's row group size when the export has no `parquet:` block (arrow-rs default). */
export const DEFAULT_ROW_GROUP_ROWS = 1_048_576;
export const MIN_ROW_GROUP_ROWS = 1_000;
export const MAX_ROW_GROUP_ROWS = 10_000_000;
const DEFAULT_TARGET_MB = 128;
const MIB = 1024 * 1024;

/** Estimated bytes of one value of an Arrow type (spec 3.7 table), before the +1 per column. */
export function estimatedValueBytes(type: arrow.DataType): number {
  if (arrow.DataType.isBool(type)) return 1;
  if (arrow.DataType.isInt(type)) return type.bitWidth / 8;
  if (arrow.DataType.isFloat(type)) {
    return type.precision === arrow.Precision.HALF
      ? 64
      : type.precision === arrow.Precision.SINGLE
      ? 4
      : 8;
  }
  if (arrow.DataType.isDate(type)) return type.unit === arrow.DateUnit.DAY ? 4 : 8;
  if (arrow.DataType.isTimestamp(type)) return 8;
  if (arrow.DataType.isTime(type)) return type.bitWidth === 64 ? 8 : 64;
  if (arrow.DataType.isDecimal(type)) return 16;
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isBinary(type)) return 256;
  if (arrow.DataType.isLargeUtf8(type) || arrow.DataType.isLargeBinary(type)) return 256;
  return 64;
}

/** Estimated bytes of one row: per column its value estimate + 1; at least 1. */
export function estimatedRowBytes(schema: arrow.Schema): number {
  let total = 0;
  for (const f of schema.fields) total += estimatedValueBytes(f.type) + 1;
  return Math.max(1, total);
}

/**
 * Rows per row group (spec 3.7). No options: the library default. `fixed_rows`: `row_group_rows`
 * or the default. `auto`/`fixed_memory`: target MiB / estimated row bytes, clamped to
 * [1 000, 10 000 000], then capped by `max_row_group_mb` (never below 1 000).
 */
export function rowGroupRowsFor(
  schema: arrow.Schema,
  options: RowGroupOptions | undefined,
): number {
  if (options === undefined) return DEFAULT_ROW_GROUP_ROWS;
  const strategy = options.row_group_strategy ?? "auto";
  if (strategy === "fixed_rows") return options.row_group_rows ?? DEFAULT_ROW_GROUP_ROWS;
  const rowBytes = estimatedRowBytes(schema);
  const targetMb = options.target_row_group_mb ?? DEFAULT_TARGET_MB;
  let rows = Math.floor((targetMb * MIB) / rowBytes);
  rows = Math.min(MAX_ROW_GROUP_ROWS, Math.max(MIN_ROW_GROUP_ROWS, rows));
  if (options.max_row_group_mb !== undefined) {
    const cap = Math.max(
      MIN_ROW_GROUP_ROWS,
      Math.floor((options.max_row_group_mb * MIB) / rowBytes),
    );
    rows = Math.min(rows, cap);
  }
  return rows;
}
