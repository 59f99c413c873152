// Pure MySQL/MariaDB column metadata → Rivet type mapping (spec 6.8.3) and exact cell converters (execution layer).
//
// Decisions beyond the spec table (see also the module tests):
// * Cells arrive as raw text-protocol bytes; nothing goes through the driver's Date/number parsing.
// * FLOAT is float32 but marked `lossy`: the text protocol renders FLOAT with 6 significant
//   digits (MariaDB), so the last digit of a float32 can be lost. Select `CAST(col AS DOUBLE)`
//   when every bit matters.
// * MariaDB's JSON is LONGTEXT + json_valid(); it is recognised by the extended metadata
//   (`extendedFormat === "json"`, negotiated by mysql2) and otherwise exported as plain text.
// * MariaDB UUID → string (logical uuid), INET4/INET6 → string (logical inet), both `compatible`.
// * GEOMETRY → binary holding standard WKB: MySQL's 4-byte SRID prefix is stripped, so the SRID
//   is not exported (fidelity `compatible`). VECTOR and unknown types are unsupported.
// * Zero or invalid DATE/DATETIME/TIMESTAMP values ('0000-00-00', '2024-02-30') become NULL.
// * BIT(n>1) → int64; BIT(64) values ≥ 2^63 fail (select `CAST(col AS UNSIGNED)` for uint64).
// * TINYINT(1) → bool: 0 is false, any other value is true.
// * Decimal text that has more fraction digits than the scale, or does not fit the precision,
//   fails instead of being truncated (spec 11.2 #13).
import { isUtf8 } from "node:buffer";
import {
  BoolBuilder,
  type ColumnBuilder,
  DecimalBuilder,
  FixedWidthBuilder,
  VarBinaryBuilder,
} from "../batch_builder.ts";
import type { ColumnSpec, Fidelity, RivetType } from "../rivet_types.ts";
import {
  daysFromCivil,
  parseDecimalText,
  parseTimestampText,
  parseTimeText,
  ValueError,
} from "../text_values.ts";

/** Column type codes of the MySQL protocol (column definition packet). */
export const MysqlType = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  VECTOR: 0xf2,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

/** Column flag bits of the MySQL protocol. */
export const MysqlFlag = {
  UNSIGNED: 32,
  BINARY: 128,
  ENUM: 256,
  SET: 2048,
} as const;

/** The `binary` character set number: the column holds bytes, not text. */
export const BINARY_CHARSET = 63;

/** What the mapping reads from a column definition packet (mysql2's ColumnDefinition has these). */
export interface MysqlFieldMeta {
  readonly name: string;
  readonly columnType: number;
  readonly flags: number;
  readonly characterSet: number;
  readonly columnLength: number;
  readonly decimals: number;
  /** MariaDB extended metadata: `uuid`, `inet4`, `inet6`, `point`, ... */
  readonly extendedTypeName?: string | undefined;
  /** MariaDB extended metadata: `json` for JSON columns (sent as LONGTEXT). */
  readonly extendedFormat?: string | undefined;
}

/** A column's mapping; `unsupportedReason` is set when it has no safe Rivet type. */
export interface MysqlColumnMapping {
  readonly spec: ColumnSpec;
  readonly unsupportedReason?: string;
}

const T = MysqlType;
const isUnsigned = (f: MysqlFieldMeta) => (f.flags & MysqlFlag.UNSIGNED) !== 0;
const u = (f: MysqlFieldMeta) => (isUnsigned(f) ? " unsigned" : "");
const STRING: RivetType = { kind: "string" };

function col(
  f: MysqlFieldMeta,
  type: RivetType,
  nativeType: string,
  fidelity: Fidelity = "exact",
): MysqlColumnMapping {
  return { spec: { name: f.name, type, nativeType, fidelity } };
}

function unsupported(f: MysqlFieldMeta, nativeType: string, reason: string): MysqlColumnMapping {
  return {
    spec: { name: f.name, type: STRING, nativeType, fidelity: "unsupported" },
    unsupportedReason: reason,
  };
}

const isStringType = (t: number) =>
  t === T.VARCHAR || t === T.VAR_STRING || t === T.STRING || t === T.TINY_BLOB ||
  t === T.MEDIUM_BLOB || t === T.LONG_BLOB || t === T.BLOB || t === T.ENUM || t === T.SET;
const isBlobType = (t: number) =>
  t === T.TINY_BLOB || t === T.MEDIUM_BLOB || t === T.LONG_BLOB || t === T.BLOB;

/** Decimal precision from the column length: it counts the sign and the decimal point. */
export function mysqlDecimalPrecision(f: MysqlFieldMeta): number {
  return f.columnLength - (f.decimals > 0 ? 1 : 0) - (isUnsigned(f) ? 0 : 1);
}

/** The automatic mapping of one result column (spec 6.8.3), before overrides. */
export function mapMysqlColumn(f: MysqlFieldMeta): MysqlColumnMapping {
  const t = f.columnType;
  switch (t) {
    case T.TINY:
      if (f.columnLength === 1) return col(f, { kind: "bool" }, "tinyint(1)");
      return col(f, { kind: "int16" }, `tinyint${u(f)}`);
    case T.SHORT:
      return col(f, { kind: isUnsigned(f) ? "int32" : "int16" }, `smallint${u(f)}`);
    case T.INT24:
      return col(f, { kind: isUnsigned(f) ? "int64" : "int32" }, `mediumint${u(f)}`);
    case T.LONG:
      return col(f, { kind: isUnsigned(f) ? "int64" : "int32" }, `int${u(f)}`);
    case T.LONGLONG:
      return col(f, { kind: isUnsigned(f) ? "uint64" : "int64" }, `bigint${u(f)}`);
    case T.FLOAT:
      return col(f, { kind: "float32" }, "float", "lossy");
    case T.DOUBLE:
      return col(f, { kind: "float64" }, "double");
    case T.DECIMAL:
    case T.NEWDECIMAL: {
      const p = mysqlDecimalPrecision(f);
      const s = f.decimals;
      if (p < 1 || p > 65 || s < 0 || s > 30 || s > p) {
        return unsupported(
          f,
          "decimal",
          `precision/scale (${p},${s}) outside decimal(1..65, 0..30) — CAST it to DECIMAL(p,s) in SQL`,
        );
      }
      return col(f, { kind: "decimal", precision: p, scale: s }, "decimal");
    }
    case T.DATE:
    case T.NEWDATE:
      return col(f, { kind: "date" }, "date");
    case T.TIME:
      return col(f, { kind: "time" }, "time");
    case T.DATETIME:
      return col(f, { kind: "timestamp" }, "datetime");
    case T.TIMESTAMP:
      return col(f, { kind: "timestamp_tz" }, "timestamp");
    case T.YEAR:
      return col(f, { kind: "int16" }, "year");
    case T.BIT:
      if (f.columnLength === 1) return col(f, { kind: "bool" }, "bit(1)");
      return col(f, { kind: "int64" }, "bit");
    case T.JSON:
      return col(f, { kind: "string", logical: "json" }, "json", "logical_string");
    case T.NULL:
      return col(f, STRING, "null", "compatible");
    case T.GEOMETRY:
      return col(f, { kind: "binary" }, "geometry", "compatible");
    case T.VECTOR:
      return unsupported(f, "vector", "VECTOR has no Rivet type — select VEC_ToText(col)");
  }
  if (!isStringType(t)) {
    return unsupported(f, `type ${t}`, `unknown MySQL column type ${t} — CAST it in SQL`);
  }
  if (f.extendedFormat === "json") {
    return col(f, { kind: "string", logical: "json" }, "json", "logical_string");
  }
  if (t === T.ENUM || (f.flags & MysqlFlag.ENUM) !== 0) {
    return col(f, { kind: "string", logical: "enum" }, "enum", "compatible");
  }
  if (t === T.SET || (f.flags & MysqlFlag.SET) !== 0) {
    return col(f, { kind: "string", logical: "enum" }, "set", "compatible");
  }
  if (f.extendedTypeName === "uuid") {
    return col(f, { kind: "string", logical: "uuid" }, "uuid", "compatible");
  }
  if (f.extendedTypeName === "inet4" || f.extendedTypeName === "inet6") {
    return col(f, { kind: "string", logical: "inet" }, f.extendedTypeName, "compatible");
  }
  const binary = f.characterSet === BINARY_CHARSET;
  if (isBlobType(t)) return col(f, binary ? { kind: "binary" } : STRING, binary ? "blob" : "text");
  if (t === T.STRING) {
    return col(f, binary ? { kind: "binary" } : STRING, binary ? "binary" : "char");
  }
  return col(f, binary ? { kind: "binary" } : STRING, binary ? "varbinary" : "varchar");
}

/** Default fidelity of a Rivet type chosen by a column override (spec 6.8.1). */
function overrideFidelity(t: RivetType): Fidelity {
  if (t.kind === "string" && t.logical === "json") return "logical_string";
  if (t.kind === "string" && t.logical && t.logical !== "uuid") return "compatible";
  return "exact";
}

/**
 * The mapping of one column with `exports[].columns` overrides applied (spec 6.8.4: an override
 * wins). Overrides are looked up by exact name, then case-insensitively.
 */
export function mysqlColumnMapping(
  f: MysqlFieldMeta,
  overrides: Readonly<Record<string, RivetType>>,
): MysqlColumnMapping {
  const auto = mapMysqlColumn(f);
  let override = Object.hasOwn(overrides, f.name) ? overrides[f.name] : undefined;
  if (!override) {
    const lower = f.name.toLowerCase();
    const key = Object.keys(overrides).find((k) => k.toLowerCase() === lower);
    override = key === undefined ? undefined : overrides[key];
  }
  if (!override) return auto;
  return {
    spec: {
      name: f.name,
      type: override,
      nativeType: auto.spec.nativeType,
      fidelity: overrideFidelity(override),
    },
  };
}

/** The spec 6.8.1 message for columns without a safe mapping. */
export function unsupportedColumnsMessage(mappings: readonly MysqlColumnMapping[]): string | null {
  const bad = mappings.filter((m) => m.unsupportedReason !== undefined);
  if (bad.length === 0) return null;
  const lines = bad.map((m) =>
    `• ${m.spec.name} (MySQL type '${m.spec.nativeType}'): ${m.unsupportedReason}`
  );
  return `${bad.length} column(s) have no safe Rivet mapping — add column overrides in rivet.yaml:\n${
    lines.join("\n")
  }`;
}

// ---------------------------------------------------------------------------------------------
// Cell converters: raw text-protocol bytes (never NULL) → BatchBuilder values.

/** Converts one non-NULL cell; throws ValueError when the value does not fit. */
export type CellConverter = (raw: Uint8Array) => unknown;

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");
const ascii = (b: Uint8Array): string => latin1.decode(b);

const INT_RE = /^[+-]?\d+$/;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

/** Parses a small ASCII integer from bytes without allocating a string. */
function smallInt(b: Uint8Array, min: number, max: number, what: string): number {
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    neg = true;
    i = 1;
  } else if (b[0] === 0x2b) i = 1;
  if (i >= b.length || b.length - i > 15) return smallIntSlow(b, min, max, what);
  let v = 0;
  for (; i < b.length; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return smallIntSlow(b, min, max, what);
    v = v * 10 + d;
  }
  if (neg) v = -v;
  if (v < min || v > max) throw new ValueError(`value ${v} out of range for ${what}`);
  return v;
}

function smallIntSlow(b: Uint8Array, min: number, max: number, what: string): number {
  const text = ascii(b);
  if (!INT_RE.test(text)) throw new ValueError(`not an integer: '${text}' (for ${what})`);
  const v = BigInt(text);
  if (v < BigInt(min) || v > BigInt(max)) {
    throw new ValueError(`value ${text} out of range for ${what}`);
  }
  return Number(v);
}

/** The integer in `b[s, e)` of at most 15 digits as a number (exact), or undefined when it is not one. */
function shortInt(b: Uint8Array, s = 0, e = b.length): number | undefined {
  const neg = b[s] === 0x2d;
  let i = neg ? s + 1 : s;
  if (i >= e || e - i > 15) return undefined;
  let v = 0;
  for (; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

const POW10: readonly number[] = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * `[-]digits[.digits]` in `b[s, e)` as the unscaled number at `scale` when it has at most 15
 * digits, its fraction fits `scale` and it fits `precision`; undefined sends it to the exact slow
 * path.
 */
function shortDecimal(
  b: Uint8Array,
  precision: number,
  scale: number,
  s = 0,
  e = b.length,
): number | undefined {
  const neg = b[s] === 0x2d;
  let i = neg ? s + 1 : s;
  if (i >= e || e - i > 16) return undefined;
  let v = 0;
  let frac = -1;
  let digits = 0;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c === 0x2e && frac < 0) {
      frac = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
    digits++;
    if (frac >= 0) frac++;
  }
  if (digits === 0 || digits > 15 || frac > scale || frac === 0 || scale > 15) return undefined;
  v *= POW10[scale - Math.max(frac, 0)]!;
  if (v > Number.MAX_SAFE_INTEGER || v >= 10 ** precision) return undefined;
  return neg ? -v : v;
}

/** Digits at `b[p, p + k)` as a number, or -1 when one is not a digit. */
function digitsAt(b: Uint8Array, p: number, k: number): number {
  let v = 0;
  for (let i = p; i < p + k; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * `YYYY-MM-DD HH:MM:SS[.f{1,6}]` in `b[s, e)` of a valid day in 1970..2200 as microseconds (a safe
 * integer), or undefined for anything else (which takes the exact slow path).
 */
function shortTimestamp(b: Uint8Array, s = 0, e = b.length): number | undefined {
  const n = e - s;
  if (n < 19 || n === 20 || n > 26 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d) return undefined;
  if (b[s + 10] !== 0x20 || b[s + 13] !== 0x3a || b[s + 16] !== 0x3a) return undefined;
  if (n > 19 && b[s + 19] !== 0x2e) return undefined;
  const y = digitsAt(b, s, 4);
  const m = digitsAt(b, s + 5, 2);
  const d = digitsAt(b, s + 8, 2);
  const hh = digitsAt(b, s + 11, 2);
  const mi = digitsAt(b, s + 14, 2);
  const ss = digitsAt(b, s + 17, 2);
  if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || hh < 0 || hh > 23 || mi < 0) {
    return undefined;
  }
  if (mi > 59 || ss < 0 || ss > 59) return undefined;
  if (d > (m === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[m - 1]!)) return undefined;
  let us = 0;
  if (n > 20) {
    const f = digitsAt(b, s + 20, n - 20);
    if (f < 0) return undefined;
    us = f * POW10[26 - n]!;
  }
  return (daysFromCivil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss) * 1_000_000 + us;
}

/** `YYYY-MM-DD` in `b[s, e)` of a real day in years 1..9999 as days since 1970, else undefined. */
function shortDate(b: Uint8Array, s: number, e: number): number | undefined {
  if (e - s !== 10 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d) return undefined;
  const y = digitsAt(b, s, 4);
  const m = digitsAt(b, s + 5, 2);
  const d = digitsAt(b, s + 8, 2);
  if (y < 1 || m < 1 || m > 12 || d < 1) return undefined;
  if (d > (m === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[m - 1]!)) return undefined;
  return daysFromCivil(y, m, d);
}

function bigInt(b: Uint8Array, min: bigint, max: bigint, what: string): bigint {
  const text = ascii(b);
  if (!INT_RE.test(text)) throw new ValueError(`not an integer: '${text}' (for ${what})`);
  const v = BigInt(text);
  if (v < min || v > max) throw new ValueError(`value ${text} out of range for ${what}`);
  return v;
}

/** Big-endian bytes (BIT columns) → unsigned integer. */
export function bitsToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

function bitsInRange(b: Uint8Array, min: bigint, max: bigint, what: string): bigint {
  const v = bitsToBigInt(b);
  if (v < min || v > max) throw new ValueError(`BIT value ${v} out of range for ${what}`);
  return v;
}

function float(b: Uint8Array): number {
  const text = ascii(b);
  const v = Number(text);
  if (text.trim() === "" || Number.isNaN(v)) {
    // MySQL never renders NaN; anything else that Number() rejects is not a float.
    if (text !== "NaN") throw new ValueError(`not a number: '${text}'`);
  }
  return v;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** True when `YYYY-MM-DD...` names a real calendar day (MySQL zero dates and ALLOW_INVALID_DATES do not). */
function validCivil(text: string): boolean {
  const y = Number(text.slice(0, 4));
  const m = Number(text.slice(5, 7));
  const d = Number(text.slice(8, 10));
  if (!(m >= 1 && m <= 12 && d >= 1)) return false;
  const max = m === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[m - 1]!;
  return d <= max && y >= 1;
}

function date(b: Uint8Array): number | null {
  const text = ascii(b);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) throw new ValueError(`not a date: '${text}'`);
  if (!validCivil(text)) return null;
  return daysFromCivil(
    Number(text.slice(0, 4)),
    Number(text.slice(5, 7)),
    Number(text.slice(8, 10)),
  );
}

function fastTimestamp(b: Uint8Array): bigint | number | null {
  return shortTimestamp(b) ?? timestamp(b);
}

function timestamp(b: Uint8Array): bigint | null {
  let text = ascii(b);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) throw new ValueError(`not a timestamp: '${text}'`);
  if (!validCivil(text)) return null;
  if (text.length === 10) text += " 00:00:00"; // a DATE column read as timestamp
  return parseTimestampText(text);
}

const HEXDIGITS = "0123456789abcdef";

function uuidText(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += HEXDIGITS[b[i]! >> 4]! + HEXDIGITS[b[i]! & 15]!;
  }
  return s;
}

/** Valid UTF-8 passes through as bytes (the builder copies them); invalid bytes become U+FFFD. */
function utf8Cell(b: Uint8Array): Uint8Array | string {
  return isUtf8(b) ? b : utf8.decode(b);
}

/**
 * The converter from a column's raw cell bytes to the BatchBuilder value for `target`
 * (the column's final type, after overrides).
 */
export function mysqlCellConverter(f: MysqlFieldMeta, target: RivetType): CellConverter {
  return converter(f, target, false);
}

/**
 * Like `mysqlCellConverter`, but int64/uint64/decimal/timestamp cells that fit a safe integer
 * come back as a number (unscaled for decimals, µs for timestamps), which BatchBuilder stores
 * without a BigInt. Same values, same errors.
 */
export function mysqlFastCellConverter(f: MysqlFieldMeta, target: RivetType): CellConverter {
  return converter(f, target, true);
}

function converter(f: MysqlFieldMeta, target: RivetType, fast: boolean): CellConverter {
  const bits = f.columnType === T.BIT;
  const what = `${target.kind} column '${f.name}'`;
  switch (target.kind) {
    case "bool":
      if (bits) return (b) => b.some((x) => x !== 0);
      return (b) => {
        if (b.length === 1 && b[0]! >= 0x30 && b[0]! <= 0x39) return b[0] !== 0x30;
        const text = ascii(b).toLowerCase();
        if (text === "true" || text === "t") return true;
        if (text === "false" || text === "f") return false;
        return smallInt(b, -(2 ** 53), 2 ** 53, what) !== 0;
      };
    case "int16":
      if (bits) return (b) => Number(bitsInRange(b, -32768n, 32767n, what));
      return (b) => smallInt(b, -32768, 32767, what);
    case "int32":
      if (bits) return (b) => Number(bitsInRange(b, -(2n ** 31n), 2n ** 31n - 1n, what));
      return (b) => smallInt(b, -(2 ** 31), 2 ** 31 - 1, what);
    case "int64":
      if (bits) return (b) => bitsInRange(b, I64_MIN, I64_MAX, what);
      if (!fast) return (b) => bigInt(b, I64_MIN, I64_MAX, what);
      return (b) => shortInt(b) ?? bigInt(b, I64_MIN, I64_MAX, what);
    case "uint64":
      if (bits) return (b) => bitsInRange(b, 0n, U64_MAX, what);
      if (!fast) return (b) => bigInt(b, 0n, U64_MAX, what);
      return (b) => {
        const v = shortInt(b);
        return v !== undefined && v >= 0 ? v : bigInt(b, 0n, U64_MAX, what);
      };
    case "float32":
      return (b) => Math.fround(float(b));
    case "float64":
      return float;
    case "decimal": {
      const { precision, scale } = target;
      if (!fast) return (b) => parseDecimalText(ascii(b), precision, scale);
      return (b) =>
        shortDecimal(b, precision, scale) ?? parseDecimalText(ascii(b), precision, scale);
    }
    case "date":
      return date;
    case "time":
      return (b) => parseTimeText(ascii(b));
    case "timestamp":
    case "timestamp_tz":
      return fast ? fastTimestamp : timestamp;
    case "binary":
      if (f.columnType === T.GEOMETRY) return (b) => b.subarray(4); // drop the SRID prefix
      return (b) => b;
    case "string":
      if (bits) return (b) => bitsToBigInt(b).toString();
      if (target.logical === "uuid" && f.characterSet === BINARY_CHARSET) {
        return (b) => (b.length === 16 ? uuidText(b) : utf8Cell(b));
      }
      return utf8Cell;
    case "list":
      return () => {
        throw new ValueError(`MySQL has no array type to read as ${what}`);
      };
  }
}

/** Appends the non-NULL cell `b[s, e)` to a column; throws ValueError like the converters. */
export type CellAppender = (b: Uint8Array, s: number, e: number) => void;

/**
 * Appends cells straight from a row packet's bytes into `column` (the builder of `target`): the
 * common text forms (ASCII or valid UTF-8 strings, integers and decimals of up to 15 digits,
 * `YYYY-MM-DD[ HH:MM:SS[.f]]` dates and timestamps, 0/1 booleans) are parsed in place without a
 * per-cell view or string; anything else goes through `mysqlFastCellConverter` on a view, so the
 * values and errors are exactly the converters'. `b` must be a plain Uint8Array (not a Buffer),
 * so that `subarray` is cheap.
 */
export function mysqlCellAppender(
  f: MysqlFieldMeta,
  target: RivetType,
  column: ColumnBuilder,
): CellAppender {
  const convert = converter(f, target, true);
  const slow: CellAppender = (b, s, e) => column.append(convert(b.subarray(s, e)));
  if (f.columnType === T.BIT) return slow;
  switch (target.kind) {
    case "bool": {
      if (!(column instanceof BoolBuilder)) return slow;
      return (b, s, e) => {
        const c = b[s]!;
        if (e - s === 1 && c >= 0x30 && c <= 0x39) column.appendBool(c !== 0x30);
        else slow(b, s, e);
      };
    }
    case "int16":
    case "int32": {
      if (!(column instanceof FixedWidthBuilder)) return slow;
      const [min, max] = target.kind === "int16" ? [-32768, 32767] : [-(2 ** 31), 2 ** 31 - 1];
      return (b, s, e) => {
        const v = shortInt(b, s, e);
        if (v !== undefined && v >= min && v <= max && (v !== 0 || b[s] !== 0x2d)) {
          column.appendNumber(v);
        } else slow(b, s, e);
      };
    }
    case "int64":
    case "uint64": {
      if (!(column instanceof FixedWidthBuilder)) return slow;
      const unsigned = target.kind === "uint64";
      return (b, s, e) => {
        const v = shortInt(b, s, e);
        if (v !== undefined && (!unsigned || v >= 0)) column.appendNumber(v);
        else slow(b, s, e);
      };
    }
    case "decimal": {
      if (!(column instanceof DecimalBuilder)) return slow;
      const { precision, scale } = target;
      return (b, s, e) => {
        const v = shortDecimal(b, precision, scale, s, e);
        if (v !== undefined) column.appendSafeInteger(v);
        else slow(b, s, e);
      };
    }
    case "date": {
      if (!(column instanceof FixedWidthBuilder)) return slow;
      return (b, s, e) => {
        const v = shortDate(b, s, e);
        if (v !== undefined) column.appendNumber(v);
        else slow(b, s, e);
      };
    }
    case "timestamp":
    case "timestamp_tz": {
      if (!(column instanceof FixedWidthBuilder)) return slow;
      return (b, s, e) => {
        const v = shortTimestamp(b, s, e);
        if (v !== undefined) column.appendNumber(v);
        else slow(b, s, e);
      };
    }
    case "binary":
      if (f.columnType === T.GEOMETRY || !(column instanceof VarBinaryBuilder)) return slow;
      return (b, s, e) => column.appendBytes(b, s, e);
    case "string": {
      if (target.logical === "uuid" && f.characterSet === BINARY_CHARSET) return slow;
      if (!(column instanceof VarBinaryBuilder)) return slow;
      return (b, s, e) => {
        let i = s;
        while (i < e && b[i]! < 0x80) i++;
        if (i === e || isUtf8(b.subarray(i, e))) column.appendBytes(b, s, e);
        else column.append(utf8.decode(b.subarray(s, e)));
      };
    }
    default:
      return slow;
  }
}

/** Whether a column of this final type is subject to the per-cell size ceiling (Utf8/Binary). */
export function isVariableWidth(t: RivetType): boolean {
  return t.kind === "string" || t.kind === "binary";
}
