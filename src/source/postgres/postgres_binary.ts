// Cell readers from PostgreSQL wire bytes (binary or text result format) straight into Arrow column builders (execution layer).
//
// Binary formats (all big-endian): int2/int4/int8/oid integers, float4/float8 IEEE, bool one
// byte, date int32 days since 2000-01-01, time int64 µs, timestamp[tz] int64 µs since
// 2000-01-01 UTC (INT64_MAX/MIN are ±infinity), numeric as base-10000 digits, bytea raw bytes.
// Results equal what the text decoders of postgres_types.ts produce from the same value,
// including the errors (which carry the value's text rendering for the message).
import {
  BoolBuilder,
  type ColumnBuilder,
  DecimalBuilder,
  FixedWidthBuilder,
  VarBinaryBuilder,
} from "../batch_builder.ts";
import { ValueError } from "../text_values.ts";
import type { PgBinaryBase, PgColumnPlan } from "./postgres_types.ts";

/** A value that cannot be stored; `text` is the value as the server would render it. */
export class CellError extends Error {
  constructor(readonly text: string, message: string) {
    super(message);
    this.name = "CellError";
  }
}

/** Appends the cell `buf[p, p + len)` (never NULL) to the column's builder. */
export type CellReader = (buf: Uint8Array, p: number, len: number) => void;

const textDecoder = new TextDecoder();

/** Days from 1970-01-01 to 2000-01-01. */
const PG_EPOCH_DAYS = 10957;
/** 946 684 800 000 000 µs (1970 → 2000) as 32-bit halves. */
const PG_EPOCH_US = 946_684_800_000_000;
const EPOCH_HI = Math.floor(PG_EPOCH_US / 4294967296);
const EPOCH_LO = PG_EPOCH_US - EPOCH_HI * 4294967296;

function i32(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

function i16(b: Uint8Array, p: number): number {
  return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16;
}

function infinityError(what: string, s: string): CellError {
  return new CellError(
    s,
    `${what} '${s}' has no Arrow/Parquet equivalent; map it in the query, e.g. NULLIF(col, '${s}') or col::text`,
  );
}

const scratch = new ArrayBuffer(8);
const scratchBytes = new Uint8Array(scratch);
const scratchF32 = new Float32Array(scratch, 0, 1);
const scratchF64 = new Float64Array(scratch);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function float8(b: Uint8Array, p: number): number {
  if (LITTLE_ENDIAN) { for (let k = 0; k < 8; k++) scratchBytes[k] = b[p + 7 - k]!; }
  else for (let k = 0; k < 8; k++) scratchBytes[k] = b[p + k]!;
  return scratchF64[0]!;
}

function float4(b: Uint8Array, p: number): number {
  if (LITTLE_ENDIAN) { for (let k = 0; k < 4; k++) scratchBytes[k] = b[p + 3 - k]!; }
  else for (let k = 0; k < 4; k++) scratchBytes[k] = b[p + k]!;
  return scratchF32[0]!;
}

/** PostgreSQL-style text of µs since 2000-01-01 (only used in error messages). */
function timestampText(hi: number, lo: number, tz: boolean): string {
  const us = (BigInt(hi) << 32n) + BigInt(lo >>> 0) + BigInt(PG_EPOCH_US);
  const day = 86_400_000_000n;
  let days = us / day;
  if (us % day < 0n) days -= 1n;
  const rest = Number(us - days * day);
  const z = Number(days) + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const two = (n: number) => String(n).padStart(2, "0");
  const secs = Math.floor(rest / 1e6);
  const frac = rest - secs * 1e6;
  const clock = `${two(Math.floor(secs / 3600))}:${two(Math.floor(secs / 60) % 60)}:${
    two(secs % 60)
  }${frac ? `.${String(frac).padStart(6, "0").replace(/0+$/, "")}` : ""}`;
  const year = y > 0 ? String(y).padStart(4, "0") : String(1 - y).padStart(4, "0");
  return `${year}-${two(m)}-${two(d)} ${clock}${tz ? "+00" : ""}${y > 0 ? "" : " BC"}`;
}

/** Text rendering of a binary numeric (only used in error messages). */
function numericText(digits: readonly number[], weight: number, negative: boolean): string {
  let int = "";
  for (let w = 0; w <= weight; w++) {
    const d = digits[w] ?? 0;
    int += int === "" ? String(d) : String(d).padStart(4, "0");
  }
  let frac = "";
  for (let i = Math.max(0, weight + 1); i < digits.length; i++) {
    frac += String(digits[i]!).padStart(4, "0");
  }
  if (weight < -1) frac = "0000".repeat(-weight - 1) + frac;
  frac = frac.replace(/0+$/, "");
  return `${negative ? "-" : ""}${int || "0"}${frac ? `.${frac}` : ""}`;
}

const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);

function numericReader(col: DecimalBuilder, precision: number, scale: number): CellReader {
  const small = precision <= 15; // |unscaled| < 10^15 < 2^53: exact in a double
  const label = `decimal(${precision},${scale})`;
  const fail = (b: Uint8Array, p: number, nd: number, weight: number, neg: boolean) => {
    const digits: number[] = [];
    for (let i = 0; i < nd; i++) digits.push(i16(b, p + 8 + 2 * i) & 0xffff);
    const s = numericText(digits, weight, neg);
    return new CellError(s, `decimal ${s} has more than ${scale} fraction digits for ${label}`);
  };
  return (b, p) => {
    const nd = i16(b, p);
    const weight = i16(b, p + 2);
    const sign = (b[p + 4]! << 8) | b[p + 5]!;
    if (sign === 0xc000 || sign === 0xd000 || sign === 0xf000) {
      const s = sign === 0xc000 ? "NaN" : sign === 0xd000 ? "Infinity" : "-Infinity";
      throw new CellError(
        s,
        `${s} cannot be stored in ${label}; read the column as text (columns: string) or filter it out`,
      );
    }
    const neg = sign === 0x4000;
    if (small) {
      let acc = 0;
      for (let i = 0; i < nd; i++) {
        const d = (b[p + 8 + 2 * i]! << 8) | b[p + 9 + 2 * i]!;
        const e = 4 * (weight - i) + scale;
        if (e >= 0) {
          if (e > 22) throw new CellError(numericText([d], weight, neg), `does not fit ${label}`);
          acc += d * POW10[e]!;
        } else if (d !== 0) {
          if (e <= -4 || d % POW10[-e]! !== 0) throw fail(b, p, nd, weight, neg);
          acc += d / POW10[-e]!;
        }
      }
      if (acc >= POW10[precision]!) {
        const s = fail(b, p, nd, weight, neg).text;
        throw new CellError(s, `decimal ${s} does not fit ${label}`);
      }
      col.appendSafeInteger(neg ? -acc : acc);
      return;
    }
    let acc = 0n;
    for (let i = 0; i < nd; i++) {
      const d = (b[p + 8 + 2 * i]! << 8) | b[p + 9 + 2 * i]!;
      const e = 4 * (weight - i) + scale;
      if (e >= 0) acc += BigInt(d) * 10n ** BigInt(e);
      else if (d !== 0) {
        if (e <= -4 || d % POW10[-e]! !== 0) throw fail(b, p, nd, weight, neg);
        acc += BigInt(d / POW10[-e]!);
      }
    }
    if (acc >= 10n ** BigInt(precision)) {
      const s = fail(b, p, nd, weight, neg).text;
      throw new CellError(s, `decimal ${s} does not fit ${label}`);
    }
    col.append(neg ? -acc : acc);
  };
}

function binaryReader(base: PgBinaryBase, plan: PgColumnPlan, col: ColumnBuilder): CellReader {
  const fixed = col as FixedWidthBuilder;
  switch (base) {
    case "bool": {
      const bool = col as BoolBuilder;
      return (b, p) => bool.appendBool(b[p] !== 0);
    }
    case "int2":
      return (b, p) => fixed.appendNumber(i16(b, p));
    case "int4":
      return (b, p) => fixed.appendNumber(i32(b, p));
    case "int8":
    case "time":
      return (b, p) => fixed.appendWords(i32(b, p), i32(b, p + 4));
    case "oid":
      return (b, p) => fixed.appendWords(0, i32(b, p));
    case "float4":
      return (b, p) => fixed.appendNumber(float4(b, p));
    case "float8":
      return (b, p) => fixed.appendNumber(float8(b, p));
    case "date":
      return (b, p) => {
        const d = i32(b, p);
        if (d === 0x7fffffff) throw infinityError("date", "infinity");
        if (d === -0x80000000) throw infinityError("date", "-infinity");
        fixed.appendNumber(d + PG_EPOCH_DAYS);
      };
    case "timestamp":
    case "timestamptz": {
      const tz = base === "timestamptz";
      return (b, p) => {
        const hi = i32(b, p);
        const lo = i32(b, p + 4);
        if (hi === 0x7fffffff && lo === -1) throw infinityError("timestamp", "infinity");
        if (hi === -0x80000000 && lo === 0) throw infinityError("timestamp", "-infinity");
        const sum = (lo >>> 0) + EPOCH_LO;
        const carry = sum >= 4294967296 ? 1 : 0;
        const hi2 = hi + EPOCH_HI + carry;
        if (hi2 > 0x7fffffff) {
          const s = timestampText(hi, lo, tz);
          throw new CellError(
            s,
            `timestamp '${s}' is outside the range of microseconds since 1970 in 64 bits (up to 294247-01-10)`,
          );
        }
        fixed.appendWords(hi2, sum - carry * 4294967296);
      };
    }
    case "numeric": {
      const t = plan.spec.type;
      if (t.kind !== "decimal") {
        throw new ValueError("numeric read in binary needs a decimal column");
      }
      return numericReader(col as DecimalBuilder, t.precision, t.scale);
    }
    case "bytea": {
      const bin = col as VarBinaryBuilder;
      return (b, p, len) => bin.appendBytes(b, p, p + len);
    }
  }
}

/** The reader for one column; `wire.kind` decides the result format requested for it. */
export function cellReader(plan: PgColumnPlan, col: ColumnBuilder): CellReader {
  const wire = plan.wire;
  if (wire.kind === "binary") return binaryReader(wire.base, plan, col);
  if (wire.kind === "raw_text") {
    const str = col as VarBinaryBuilder;
    return (b, p, len) => str.appendBytes(b, p, p + len);
  }
  const decode = plan.decode;
  return (b, p, len) => {
    const s = textDecoder.decode(b.subarray(p, p + len));
    let v: unknown;
    try {
      v = decode(s);
      col.append(v);
    } catch (err) {
      throw new CellError(s, (err as Error).message);
    }
  };
}

/** Result format code per column for Bind: 1 for binary, 0 for text. */
export function resultFormats(plans: readonly PgColumnPlan[]): number[] {
  return plans.map((p) => (p.wire.kind === "binary" ? 1 : 0));
}
