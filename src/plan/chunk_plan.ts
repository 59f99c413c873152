// Chunked exports (spec 4.7): boundary probes, key ranges, sparse widening, chunk SQL and the plan fingerprint (planning layer, pure).
import { ConfigError, SourceError } from "../errors.ts";
import { type Dialect, quoteIdent } from "./sql_shapes.ts";

/** A value returned by a probe query, as the driver hands it over. */
export type ProbeValue = string | number | bigint | Date | null;

/** One inclusive range of chunk keys (key values, day numbers or row numbers). */
export interface KeyRange {
  readonly start: bigint;
  readonly end: bigint;
}

/** How the chunks of an export are cut, from its config (spec 3.5, 4.1 step 10). */
export type ChunkShape =
  | {
    readonly kind: "range";
    /** Key-range width per chunk (`chunk_size`). */
    readonly chunkSize: number;
    /** `chunk_count`: split [min, max] into exactly this many ranges; null when not set. */
    readonly chunkCount: number | null;
  }
  | { readonly kind: "by_days"; readonly days: number }
  | { readonly kind: "dense"; readonly chunkSize: number };

export type ChunkKind = ChunkShape["kind"];

/** One chunk: the keys it covers (decimal text, as stored in `chunk_task`) and its SQL. */
export interface ChunkSpec {
  readonly index: number;
  /** Inclusive start: the key value (range), day number since 1970-01-01 (by_days) or row number (dense); `NULL` for the NULL chunk. */
  readonly startKey: string;
  /** Inclusive end, same units as `startKey`. */
  readonly endKey: string;
  readonly sql: string;
  /** True for the trailing chunk that reads the rows whose chunk column is NULL. */
  readonly isNullChunk: boolean;
}

/** The chunks of one export, frozen and JSON-serializable (no bigint inside). */
export interface ChunkPlan {
  readonly kind: ChunkKind;
  readonly column: string;
  readonly chunks: readonly ChunkSpec[];
  /** Columns the chunk queries add, to drop before writing (`_rivet_chunk_rn` for dense). */
  readonly helperColumns: readonly string[];
  /** The exact text the fingerprint hashes (spec 4.7.5). */
  readonly fingerprintInput: string;
  /** xxh3-64 of `fingerprintInput`, 16 lowercase hex characters (`chunk_run.plan_hash`). */
  readonly fingerprint: string;
  /** What the planner decided beyond the plain spec shape, one sentence each, for the log. */
  readonly notes: readonly string[];
}

/** The `start_key`/`end_key` text of the NULL chunk (never a decimal, so it cannot clash). */
export const NULL_CHUNK_KEY = "NULL";

/** The helper column of dense chunk queries; removed before writing. */
export const DENSE_ROW_NUMBER = "_rivet_chunk_rn";

/** More chunks than this is refused: it means the shape does not fit the key space. */
export const MAX_CHUNKS = 1_000_000;

/** Key density below which range chunks are widened (see `sparseRangeWidth`). */
export const SPARSE_DENSITY_THRESHOLD = 0.5;

const FIELD_SEPARATOR = "\x1f";
const TABLE_FAST_PATH =
  /^\s*select\s+\*\s+from\s+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*$/i;

/**
 * The table name when the base query is exactly `SELECT * FROM <ident>` (`a` or `a.b`, ASCII
 * identifier characters, nothing after; keywords in any case), else null. Probes and chunk queries
 * then target the table directly (spec 4.7.1); the name is kept as written so that the database
 * folds its case exactly as it does for the base query.
 */
export function tableFastPath(baseQuery: string): string | null {
  return TABLE_FAST_PATH.exec(baseQuery)?.[1] ?? null;
}

/** `FROM <ident>` on the fast path, else `FROM (<base>) AS <alias>`. */
function fromClause(baseQuery: string, alias: string): string {
  const table = tableFastPath(baseQuery);
  return table === null ? `FROM (${baseQuery}) AS ${alias}` : `FROM ${table}`;
}

/**
 * The SQL of one boundary probe (spec 4.7.1): `SELECT min(<col>) …`, `SELECT max(<col>) …` or
 * `SELECT COUNT(*) …` over the table (fast path) or the wrapped base query. It returns one row
 * with one column.
 */
export function boundaryProbeSql(
  dialect: Dialect,
  baseQuery: string,
  column: string,
  kind: "min" | "max" | "count",
): string {
  if (kind === "count") return `SELECT COUNT(*) ${fromClause(baseQuery, "_rivet_rowcnt")}`;
  return `SELECT ${kind}(${quoteIdent(dialect, column)}) ${fromClause(baseQuery, "_rivet")}`;
}

/** `SELECT count(*) … WHERE <col> IS NULL`: how many rows no key range can ever match. */
export function nullCountSql(dialect: Dialect, baseQuery: string, column: string): string {
  return `SELECT count(*) ${fromClause(baseQuery, "_rivet_nc")} WHERE ${
    quoteIdent(dialect, column)
  } IS NULL`;
}

/** A probe the executor runs before planning, named after the `ProbeResults` field it fills. */
export interface ChunkProbe {
  readonly name: "min" | "max" | "rowCount" | "nullCount";
  readonly sql: string;
}

/**
 * The probes a shape needs, in the order to run them: range needs min, max, row count and NULL
 * count; by_days min, max and NULL count; dense only the row count (ROW_NUMBER numbers NULL keys
 * too, so dense needs no NULL chunk).
 */
export function chunkProbes(
  dialect: Dialect,
  baseQuery: string,
  column: string,
  shape: ChunkShape,
): readonly ChunkProbe[] {
  const min: ChunkProbe = { name: "min", sql: boundaryProbeSql(dialect, baseQuery, column, "min") };
  const max: ChunkProbe = { name: "max", sql: boundaryProbeSql(dialect, baseQuery, column, "max") };
  const rows: ChunkProbe = {
    name: "rowCount",
    sql: boundaryProbeSql(dialect, baseQuery, column, "count"),
  };
  const nulls: ChunkProbe = { name: "nullCount", sql: nullCountSql(dialect, baseQuery, column) };
  switch (shape.kind) {
    case "range":
      return Object.freeze([min, max, rows, nulls].map((p) => Object.freeze(p)));
    case "by_days":
      return Object.freeze([min, max, nulls].map((p) => Object.freeze(p)));
    case "dense":
      return Object.freeze([Object.freeze(rows)]);
  }
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** How many ranges `generateRanges(min, max, size)` returns, without building them. */
export function rangeCount(min: bigint, max: bigint, size: bigint): bigint {
  if (max < min || size <= 0n) return 0n;
  return ceilDiv(max - min + 1n, size);
}

/**
 * Inclusive, contiguous, non-overlapping ranges `[s, min(s+size-1, max)]` from `min`, the last
 * ending at `max` (spec 4.7.1); empty when `max < min` or `size <= 0`.
 * Example: (1, 100, 30) → [1,30] [31,60] [61,90] [91,100]. Bigint arithmetic cannot overflow, so
 * ranges near the int64 (or uint64) limit end exactly at `max`: this is the spec's saturation.
 * Materializes every range: check `rangeCount` first for untrusted sizes.
 */
export function generateRanges(min: bigint, max: bigint, size: bigint): KeyRange[] {
  const out: KeyRange[] = [];
  if (max < min || size <= 0n) return out;
  for (let s = min; s <= max; s += size) {
    const end = s + size - 1n;
    out.push(Object.freeze({ start: s, end: end < max ? end : max }));
  }
  return out;
}

/** The range width for `chunk_count`: `ceil((max - min + 1) / count)`, at least 1. */
export function chunkCountSize(min: bigint, max: bigint, count: bigint): bigint {
  if (count <= 0n) throw new RangeError(`chunk_count must be at least 1, got ${count}`);
  if (max < min) return 1n;
  return ceilDiv(max - min + 1n, count);
}

/** Row-number windows of a dense plan: `[1, count]` cut every `size` rows; none for 0 rows. */
export function denseRanges(rowCount: bigint, size: bigint): KeyRange[] {
  return generateRanges(1n, rowCount, size);
}

/**
 * The width of range chunks over a key space that may be sparse. The spec cuts [min, max] every
 * `chunk_size` keys, so a key space with few rows per key (ids with big gaps, or one outlier)
 * becomes thousands of queries that return nothing. Rule: with `keyedRows` rows (non-NULL keys)
 * over `span = max - min + 1` keys, density = keyedRows / span. When density is below
 * `SPARSE_DENSITY_THRESHOLD` (0.5), the width becomes `ceil(chunkSize / density)` =
 * `ceil(chunkSize * span / keyedRows)`, so that each range is expected to hold about `chunkSize`
 * rows if keys were spread uniformly (never more than `chunkSize + 0.5`, well under 2x), bounded
 * below by `chunkSize` and above by `span` (one chunk). Without a row count (the probe failed) the
 * width stays `chunkSize`. Example: ids 1..10 000 000 holding 200 000 rows, chunk_size 10 000 →
 * density 0.02, width 500 000, 20 chunks instead of 1 000.
 */
export function sparseRangeWidth(
  min: bigint,
  max: bigint,
  keyedRows: bigint | null,
  chunkSize: bigint,
): { readonly width: bigint; readonly note: string | null } {
  if (max < min || chunkSize <= 0n) return { width: chunkSize, note: null };
  const span = max - min + 1n;
  if (keyedRows === null) {
    return {
      width: chunkSize,
      note: "row count unknown (the COUNT(*) probe failed): ranges keep chunk_size " +
        `${chunkSize} keys each, even if the key space is sparse`,
    };
  }
  // density < 0.5  <=>  2 * rows < span (exact, in bigint)
  if (keyedRows * 2n >= span) return { width: chunkSize, note: null };
  let width = keyedRows === 0n ? span : ceilDiv(chunkSize * span, keyedRows);
  if (width > span) width = span;
  if (width <= chunkSize) return { width: chunkSize, note: null };
  const before = rangeCount(min, max, chunkSize);
  const after = rangeCount(min, max, width);
  return {
    width,
    note:
      `sparse key space: ${keyedRows} rows over ${span} keys (${min}..${max}, density ${
        densityText(keyedRows, span)
      }); ranges widened from ${chunkSize} to ${width} keys so each is expected to hold about ` +
      `${chunkSize} rows: ${after} chunk${after === 1n ? "" : "s"} instead of ${before}`,
  };
}

/** Density for messages only: three significant digits (a float is fine for display). */
function densityText(rows: bigint, span: bigint): string {
  return (Number(rows) / Number(span)).toPrecision(3);
}

const DATE_HEAD = /^(\d{4})-(\d{2})-(\d{2})/;

/** Days since 1970-01-01 of a proleptic Gregorian date (exact integer arithmetic). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** `YYYY-MM-DD` of a day number since 1970-01-01. */
export function dayText(dayNumber: number): string {
  const z = dayNumber + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) -
      Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${
    String(day).padStart(2, "0")
  }`;
}

/**
 * A probe value as a day number, parsed flexibly (spec 4.7.1): `YYYY-MM-DD`,
 * `YYYY-MM-DD HH:MM:SS`, ISO with `T`/fraction/offset, or anything whose first 10 characters are
 * a date; the date is taken as written (an offset does not move it to another day). A `Date` is
 * read in UTC. Returns null for NULL; throws `ConfigError` for anything else.
 */
export function parseProbeDay(
  value: ProbeValue,
  column: string,
  probe: "min" | "max",
): number | null {
  if (value === null) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw notADate(value, column, probe);
    return Math.floor(value.getTime() / 86_400_000);
  }
  const text = String(value);
  const m = DATE_HEAD.exec(text);
  if (m) {
    const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
    const day = daysFromCivil(y, mo, d);
    if (mo >= 1 && mo <= 12 && d >= 1 && dayText(day) === `${m[1]}-${m[2]}-${m[3]}`) return day;
  }
  throw notADate(value, column, probe);
}

function notADate(value: ProbeValue, column: string, probe: string): ConfigError {
  return new ConfigError(
    `${probe}(${column}) returned '${String(value)}', which is not a date`,
    {
      hint: `'${column}' must be a date or timestamp column to cut it into day windows or ` +
        "partitions; pick another column or another chunking shape",
    },
  );
}

/**
 * A min/max probe value as an integer key (spec 4.7.1: NULL → 0, the empty-table case). A value
 * that is not an integer is refused rather than read as 0 (the spec's behaviour), because it
 * would plan ranges that miss rows: range chunking needs an integer column.
 */
export function parseProbeInteger(value: ProbeValue, column: string, probe: "min" | "max"): bigint {
  if (value === null) return 0n;
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) return BigInt(value.trim());
  throw new ConfigError(
    `${probe}(${column}) returned '${String(value)}', which is not an integer`,
    {
      hint: `range chunking needs an integer chunk_column; for a date column use ` +
        "chunk_by_days, for anything else chunk_dense or chunk_by_key",
    },
  );
}

/** The text the plan fingerprint hashes (spec 4.7.5): `base ␟ column ␟ shape`, ␟ = U+001F. */
export function fingerprintInput(baseQuery: string, column: string, shape: ChunkShape): string {
  const s = FIELD_SEPARATOR;
  let shapeText: string;
  switch (shape.kind) {
    case "by_days":
      shapeText = `date_${shape.days}d`;
      break;
    case "dense":
      shapeText = "dense_rn";
      break;
    case "range":
      shapeText = shape.chunkCount !== null
        ? `count_${shape.chunkCount}`
        : `${shape.chunkSize}${s}range`;
      break;
  }
  return `${baseQuery}${s}${column}${s}${shapeText}`;
}

/**
 * The SQL of one chunk (spec 4.7.2), or of the NULL chunk (`WHERE <col> IS NULL`, range and
 * by_days only). Range bounds are integer literals, by_days bounds are `'YYYY-MM-DD'` with a
 * half-open upper bound (day `end + 1`), dense windows select row numbers and add
 * `_rivet_chunk_rn`.
 */
export function chunkSql(
  dialect: Dialect,
  baseQuery: string,
  column: string,
  kind: ChunkKind,
  range: KeyRange | "null",
): string {
  const col = quoteIdent(dialect, column);
  if (kind === "dense") {
    if (range === "null") {
      throw new RangeError("dense chunking has no NULL chunk: ROW_NUMBER numbers NULL keys too");
    }
    return `SELECT * FROM (SELECT _rivet_i.*, ROW_NUMBER() OVER (ORDER BY _rivet_i.${col}) AS ` +
      `${DENSE_ROW_NUMBER} FROM (${baseQuery}) AS _rivet_i) AS _rivet_w WHERE _rivet_w.` +
      `${DENSE_ROW_NUMBER} BETWEEN ${range.start} AND ${range.end}`;
  }
  const head = `SELECT * ${fromClause(baseQuery, "_rivet")} WHERE ${col}`;
  if (range === "null") return `${head} IS NULL`;
  if (kind === "range") return `${head} BETWEEN ${range.start} AND ${range.end}`;
  const lo = dayText(Number(range.start));
  const hi = dayText(Number(range.end) + 1);
  return `${head} >= '${lo}' AND ${col} < '${hi}'`;
}

/**
 * The SQL of a chunk from its stored keys (a `chunk_task` row on resume, repair or reconcile).
 * Throws `RangeError` for keys this module did not write.
 */
export function chunkSqlFromKeys(
  dialect: Dialect,
  baseQuery: string,
  column: string,
  kind: ChunkKind,
  startKey: string,
  endKey: string,
): string {
  if (startKey === NULL_CHUNK_KEY && endKey === NULL_CHUNK_KEY) {
    return chunkSql(dialect, baseQuery, column, kind, "null");
  }
  const integer = /^-?\d+$/;
  if (!integer.test(startKey) || !integer.test(endKey)) {
    throw new RangeError(`chunk keys '${startKey}'..'${endKey}' are not integers`);
  }
  return chunkSql(dialect, baseQuery, column, kind, {
    start: BigInt(startKey),
    end: BigInt(endKey),
  });
}

/** Probe results; null means NULL (min/max) or that the probe failed or was not run (counts). */
export interface ProbeResults {
  readonly min: ProbeValue;
  readonly max: ProbeValue;
  /** `COUNT(*)` of the base query (all rows, NULL keys included). */
  readonly rowCount: bigint | null;
  /** Rows whose chunk column is NULL. */
  readonly nullCount: bigint | null;
}

export interface ChunkPlanInput {
  readonly dialect: Dialect;
  readonly baseQuery: string;
  readonly column: string;
  readonly shape: ChunkShape;
}

/** Synchronous xxh3-64 of a UTF-8 string as 16 lowercase hex characters (seed 0). */
export type Hash64 = (text: string) => string;

function guardCount(count: bigint, what: string): void {
  if (count > BigInt(MAX_CHUNKS)) {
    throw new ConfigError(
      `${what} would plan ${count} chunks (more than ${MAX_CHUNKS})`,
      {
        hint: "raise chunk_size (or chunk_by_days), set chunk_count, or use chunk_by_key for " +
          "keyset pagination",
      },
    );
  }
}

/**
 * Plans every chunk of a chunked export from the probe results (`chunkProbes`). Range and by_days
 * plans end with a NULL chunk when the NULL count is above zero or unknown, so rows whose chunk
 * column is NULL are exported too (spec 11.2 #4). Sparse range key spaces get wider ranges (see
 * `sparseRangeWidth`); `chunk_count` is honoured exactly. `hash64` is an xxh3-64 hasher (the
 * caller creates it once, e.g. from hash-wasm's `createXXHash3()`).
 */
export function buildChunkPlan(
  input: ChunkPlanInput,
  probes: ProbeResults,
  hash64: Hash64,
): ChunkPlan {
  const { dialect, baseQuery, column, shape } = input;
  const notes: string[] = [];
  let ranges: KeyRange[];
  switch (shape.kind) {
    case "range": {
      const min = parseProbeInteger(probes.min, column, "min");
      const max = parseProbeInteger(probes.max, column, "max");
      let width: bigint;
      if (shape.chunkCount !== null) {
        width = chunkCountSize(min, max, BigInt(shape.chunkCount));
      } else {
        const keyed = probes.rowCount === null ? null : probes.rowCount - (probes.nullCount ?? 0n);
        const decision = sparseRangeWidth(
          min,
          max,
          keyed !== null && keyed < 0n ? 0n : keyed,
          BigInt(shape.chunkSize),
        );
        width = decision.width;
        if (decision.note !== null) notes.push(decision.note);
      }
      guardCount(rangeCount(min, max, width), `range chunking of '${column}' over ${min}..${max}`);
      ranges = generateRanges(min, max, width);
      break;
    }
    case "by_days": {
      const minDay = parseProbeDay(probes.min, column, "min");
      const maxDay = parseProbeDay(probes.max, column, "max");
      if (minDay === null || maxDay === null) {
        if (probes.nullCount === 0n) {
          throw new SourceError(
            `min(${column}) returned NULL — table may be empty`,
            { hint: "chunk_by_days needs at least one row with a date; check the query" },
          );
        }
        notes.push(`every row has a NULL '${column}': only the NULL chunk is planned`);
        ranges = [];
      } else {
        const count = rangeCount(BigInt(minDay), BigInt(maxDay), BigInt(shape.days));
        guardCount(
          count,
          `chunk_by_days: ${shape.days} over ${dayText(minDay)}..${dayText(maxDay)}`,
        );
        ranges = generateRanges(BigInt(minDay), BigInt(maxDay), BigInt(shape.days));
      }
      break;
    }
    case "dense": {
      if (probes.rowCount === null) {
        throw new SourceError(
          `the COUNT(*) probe of dense chunking on '${column}' returned nothing`,
        );
      }
      guardCount(rangeCount(1n, probes.rowCount, BigInt(shape.chunkSize)), "chunk_dense");
      ranges = denseRanges(probes.rowCount, BigInt(shape.chunkSize));
      notes.push(
        `dense windows number rows by '${column}' in every chunk query: if '${column}' is not ` +
          "unique, rows with equal values may land in two chunks or in none",
      );
      break;
    }
  }
  const chunks: ChunkSpec[] = ranges.map((r, index) =>
    Object.freeze({
      index,
      startKey: String(r.start),
      endKey: String(r.end),
      sql: chunkSql(dialect, baseQuery, column, shape.kind, r),
      isNullChunk: false,
    })
  );
  if (shape.kind !== "dense") {
    const nulls = probes.nullCount;
    if (nulls === null || nulls > 0n) {
      chunks.push(Object.freeze({
        index: chunks.length,
        startKey: NULL_CHUNK_KEY,
        endKey: NULL_CHUNK_KEY,
        sql: chunkSql(dialect, baseQuery, column, shape.kind, "null"),
        isNullChunk: true,
      }));
      notes.push(
        nulls === null
          ? `NULL count of '${column}' unknown: a trailing NULL chunk is planned to be safe`
          : `${nulls} row${nulls === 1n ? "" : "s"} with a NULL '${column}': exported by a ` +
            "trailing NULL chunk",
      );
    }
  }
  const text = fingerprintInput(baseQuery, column, shape);
  return Object.freeze({
    kind: shape.kind,
    column,
    chunks: Object.freeze(chunks),
    helperColumns: Object.freeze(shape.kind === "dense" ? [DENSE_ROW_NUMBER] : []),
    fingerprintInput: text,
    fingerprint: hash64(text),
    notes: Object.freeze(notes),
  });
}
