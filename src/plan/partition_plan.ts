// Value partitioning (`partition_by`, spec 4.9): validation, date buckets and one child export per bucket (planning layer, pure).
import type { ExportConfig, PartitionGranularity } from "../config/config_types.ts";
import { ConfigError } from "../errors.ts";
import {
  boundaryProbeSql,
  daysFromCivil,
  dayText,
  MAX_CHUNKS,
  nullCountSql,
  parseProbeDay,
  type ProbeValue,
} from "./chunk_plan.ts";
import { type Dialect, quoteIdent } from "./sql_shapes.ts";

/** The token of a destination path or prefix that becomes `<column>=<label>`. */
export const PARTITION_TOKEN = "{partition}";

/** The path label of the bucket of rows whose partition column is NULL (Hive's convention). */
export const HIVE_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__";

/** One bucket, run as its own export (own run id, manifest, `_SUCCESS`, metrics). */
export interface PartitionChild {
  /** `<parent>__<label>`. */
  readonly name: string;
  /** `YYYY-MM-DD`, `YYYY-MM`, `YYYY`, or `null` for the NULL bucket. */
  readonly label: string;
  readonly query: string;
  /** Inclusive lower bound `YYYY-MM-DD`; null for the NULL bucket. */
  readonly lower: string | null;
  /** Exclusive upper bound `YYYY-MM-DD`; null for the NULL bucket. */
  readonly upper: string | null;
  /** What `{partition}` becomes: `<column>=<label>` or `<column>=__HIVE_DEFAULT_PARTITION__`. */
  readonly pathSegment: string;
  readonly isNullBucket: boolean;
}

export interface PartitionPlan {
  readonly kind: "partitioned";
  readonly parent: string;
  readonly column: string;
  readonly granularity: PartitionGranularity;
  readonly children: readonly PartitionChild[];
  readonly warnings: readonly string[];
}

type PartitionKeys = Pick<
  ExportConfig,
  "name" | "mode" | "partition_by" | "chunk_by_key" | "destination"
>;

/**
 * Why an export cannot be partitioned (spec 3.9, 4.9 step 1), every reason at once; empty when
 * it can. Only call it for exports that set `partition_by`.
 */
export function partitionConfigErrors(e: PartitionKeys): readonly string[] {
  const errors: string[] = [];
  const column = e.partition_by ?? "";
  if (column.trim() === "") {
    errors.push(`export '${e.name}': partition_by is empty; name a date or timestamp column`);
  }
  if ((e.mode ?? "full") === "time_window") {
    errors.push(
      `export '${e.name}': partition_by cannot be combined with mode: time_window; ` +
        "drop one of them (a partition per day already bounds each query)",
    );
  }
  if (e.chunk_by_key !== undefined) {
    errors.push(
      `export '${e.name}': partition_by cannot be combined with chunk_by_key; ` +
        "use chunk_column range chunking inside each partition, or drop partition_by",
    );
  }
  const d = e.destination;
  const templates = [d.path, d.prefix].filter((t): t is string => t !== undefined);
  if (!templates.some((t) => t.includes(PARTITION_TOKEN))) {
    errors.push(
      `export '${e.name}': partition_by needs ${PARTITION_TOKEN} in destination.path or ` +
        `destination.prefix (e.g. ./out/${e.name}/${PARTITION_TOKEN}), so that each partition ` +
        "is written to its own directory",
    );
  }
  return Object.freeze(errors);
}

/** Throws one `ConfigError` listing every reason from `partitionConfigErrors`. */
export function checkPartitionConfig(e: PartitionKeys): void {
  const errors = partitionConfigErrors(e);
  if (errors.length > 0) throw new ConfigError(errors.join("; "));
}

/** The probes to run before `planPartitions`: min, max and NULL count of the column. */
export function partitionProbes(
  dialect: Dialect,
  baseQuery: string,
  column: string,
): { readonly min: string; readonly max: string; readonly nullCount: string } {
  return Object.freeze({
    min: boundaryProbeSql(dialect, baseQuery, column, "min"),
    max: boundaryProbeSql(dialect, baseQuery, column, "max"),
    nullCount: nullCountSql(dialect, baseQuery, column),
  });
}

/** Replaces every `{partition}` in a destination path or prefix. */
export function substitutePartition(template: string, pathSegment: string): string {
  return template.replaceAll(PARTITION_TOKEN, pathSegment);
}

function civil(day: number): { y: number; m: number } {
  const t = dayText(day);
  return { y: Number(t.slice(0, t.length - 6)), m: Number(t.slice(-5, -3)) };
}

/** Half-open day-number buckets `[lo, hi)` covering minDay..maxDay, with their labels. */
export function partitionBuckets(
  minDay: number,
  maxDay: number,
  granularity: PartitionGranularity,
): { readonly label: string; readonly lo: number; readonly hi: number }[] {
  const out: { label: string; lo: number; hi: number }[] = [];
  if (maxDay < minDay) return out;
  let lo: number;
  const next = (d: number): number => {
    const { y, m } = civil(d);
    if (granularity === "day") return d + 1;
    if (granularity === "month") {
      return m === 12 ? daysFromCivil(y + 1, 1, 1) : daysFromCivil(y, m + 1, 1);
    }
    return daysFromCivil(y + 1, 1, 1);
  };
  const start = civil(minDay);
  lo = granularity === "day"
    ? minDay
    : granularity === "month"
    ? daysFromCivil(start.y, start.m, 1)
    : daysFromCivil(start.y, 1, 1);
  while (lo <= maxDay) {
    if (out.length >= MAX_CHUNKS) {
      throw new ConfigError(
        `partition_by would create more than ${MAX_CHUNKS} partitions; use a coarser ` +
          "partition_granularity",
      );
    }
    const hi = next(lo);
    const text = dayText(lo);
    const label = granularity === "day"
      ? text
      : granularity === "month"
      ? text.slice(0, -3)
      : text.slice(0, -6);
    out.push({ label, lo, hi });
    lo = hi;
  }
  return out;
}

export interface PartitionPlanInput {
  readonly dialect: Dialect;
  readonly parent: string;
  readonly baseQuery: string;
  readonly column: string;
  readonly granularity: PartitionGranularity;
  readonly min: ProbeValue;
  readonly max: ProbeValue;
  /** Rows whose column is NULL; null when the probe failed (a NULL bucket is then planned). */
  readonly nullCount: bigint | null;
}

/**
 * One child per bucket from min to max (spec 4.9): `<parent>__<label>` reading
 * `SELECT * FROM (<base>) AS _rivet_part WHERE <col> >= '<lo>' AND <col> < '<hi>'`, then
 * `<parent>__null` (`WHERE <col> IS NULL`) when NULLs exist. No dates and no NULLs: no child and
 * a warning.
 */
export function planPartitions(input: PartitionPlanInput): PartitionPlan {
  const { dialect, parent, baseQuery, column, granularity } = input;
  const col = quoteIdent(dialect, column);
  const minDay = parseProbeDay(input.min, column, "min");
  const maxDay = parseProbeDay(input.max, column, "max");
  const children: PartitionChild[] = [];
  const warnings: string[] = [];
  if (minDay !== null && maxDay !== null) {
    for (const b of partitionBuckets(minDay, maxDay, granularity)) {
      const lower = dayText(b.lo);
      const upper = dayText(b.hi);
      children.push(Object.freeze({
        name: `${parent}__${b.label}`,
        label: b.label,
        query: `SELECT * FROM (${baseQuery}) AS _rivet_part WHERE ${col} >= '${lower}' AND ` +
          `${col} < '${upper}'`,
        lower,
        upper,
        pathSegment: `${column}=${b.label}`,
        isNullBucket: false,
      }));
    }
  }
  if (input.nullCount === null || input.nullCount > 0n) {
    children.push(Object.freeze({
      name: `${parent}__null`,
      label: "null",
      query: `SELECT * FROM (${baseQuery}) AS _rivet_part WHERE ${col} IS NULL`,
      lower: null,
      upper: null,
      pathSegment: `${column}=${HIVE_NULL_PARTITION}`,
      isNullBucket: true,
    }));
  }
  if (children.length === 0) {
    warnings.push(
      `export '${parent}': partition_by '${column}' found no dates and no NULLs (is the query ` +
        "empty?); nothing is exported",
    );
  }
  return Object.freeze({
    kind: "partitioned",
    parent,
    column,
    granularity,
    children: Object.freeze(children),
    warnings: Object.freeze(warnings),
  });
}

/**
 * The export config of one child: the parent's settings with the child's name and query,
 * `table`/`query_file`/`partition_by`/`partition_granularity` removed and `{partition}`
 * substituted in `destination.path` and `destination.prefix`.
 */
export function childExportConfig(parent: ExportConfig, child: PartitionChild): ExportConfig {
  const {
    table: _table,
    query_file: _queryFile,
    partition_by: _by,
    partition_granularity: _granularity,
    ...rest
  } = parent;
  const destination = { ...parent.destination };
  if (destination.path !== undefined) {
    destination.path = substitutePartition(destination.path, child.pathSegment);
  }
  if (destination.prefix !== undefined) {
    destination.prefix = substitutePartition(destination.prefix, child.pathSegment);
  }
  return Object.freeze({
    ...rest,
    name: child.name,
    query: child.query,
    destination: Object.freeze(destination),
  });
}
