// Renders Arrow column values as CSV cell bytes straight into a shared byte buffer (execution layer).
//
// One `CellWriter` is resolved per column per batch, so the per-row loop only calls closures that
// read typed arrays and write bytes; strings are copied as UTF-8 bytes without decoding.
// Arrow JS layout reminders: after `Data.slice`, `values` and `valueOffsets` are already sliced
// (index `i` is relative) but the validity bitmap and the bool value bitmap are not (bit
// `data.offset + i`); list children are never sliced (they are indexed through the offsets).
import * as arrow from "apache-arrow";
import { GrowableBytes } from "../growable_bytes.ts";

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const ZERO = 0x30;
const HEX = new TextEncoder().encode("0123456789abcdef");
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** The byte buffer cell writers append to, with the CSV renderings. */
export class ByteBuffer extends GrowableBytes {
  /** Appends ASCII text (caller guarantees room and ASCII-only content). */
  ascii(s: string): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Appends any string as a CSV cell, quoting it when needed. */
  text(s: string): void {
    this.ensure(s.length * 3);
    const start = this.pos;
    const end = start + textEncoder.encodeInto(s, this.buf.subarray(start)).written;
    this.pos = end;
    if (needsQuoting(this.buf, start, end)) {
      const raw = this.buf.slice(start, end);
      this.pos = start;
      this.quoted(raw, 0, raw.length);
    }
  }

  /** Appends bytes `src[start, end)` as a CSV cell, quoting them when needed. */
  cell(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n < 128) {
      // One pass: copy while looking for a byte that needs quoting; start over quoted if found.
      this.ensure(n);
      const buf = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) {
        const b = src[i]!;
        if (b <= COMMA && (b === COMMA || b === QUOTE || b === LF || b === CR)) {
          this.quoted(src, start, end);
          return;
        }
        buf[p++] = b;
      }
      this.pos = p;
      return;
    }
    if (needsQuoting(src, start, end)) {
      this.quoted(src, start, end);
      return;
    }
    this.ensure(n);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += n;
  }

  quoted(src: Uint8Array, start: number, end: number): void {
    this.ensure(2 * (end - start) + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = QUOTE;
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      buf[p++] = b;
      if (b === QUOTE) buf[p++] = QUOTE;
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  /** Appends a non-negative integer below 2^53 (caller guarantees 16 bytes of room). */
  digits(n: number): void {
    const buf = this.buf;
    let p = this.pos + digitCount(n);
    this.pos = p;
    while (n >= 2147483648) {
      const q = Math.floor(n / 10);
      buf[--p] = ZERO + (n - q * 10);
      n = q;
    }
    do {
      const q = (n / 10) | 0; // n < 2^31: integer division
      buf[--p] = ZERO + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** Appends a safe integer (caller guarantees 17 bytes of room). */
  int(n: number): void {
    if (n < 0) {
      this.buf[this.pos++] = 0x2d;
      n = -n;
    }
    this.digits(n);
  }

  /** Appends `n` (0..99) as two digits. */
  two(n: number): void {
    const q = (n / 10) | 0;
    this.buf[this.pos++] = ZERO + q;
    this.buf[this.pos++] = ZERO + (n - q * 10);
  }
}

/** Number of decimal digits of a non-negative integer below 2^53. */
function digitCount(n: number): number {
  if (n < 1e8) {
    if (n < 1e4) return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : 4;
    return n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : 8;
  }
  let len = 9;
  for (let t = 1e9; n >= t && len < 16; t *= 10) len++;
  return len;
}

/** True when a cell must be quoted: it contains `,` `"` LF or CR (CR: a deviation from 0.9.0). */
export function needsQuoting(src: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    if (b === COMMA || b === QUOTE || b === LF || b === CR) return true;
  }
  return false;
}

export type CellWriter = (out: ByteBuffer, row: number) => void;

/** Why a type cannot be written as CSV, or undefined when it can. */
export function unsupportedReason(type: arrow.DataType): string | undefined {
  const T = arrow.DataType;
  if (T.isBool(type) || T.isInt(type) || T.isDecimal(type) || T.isUtf8(type) || T.isBinary(type)) {
    return undefined;
  }
  if (T.isFixedSizeBinary(type)) return undefined;
  if (T.isFloat(type)) {
    return type.precision === arrow.Precision.HALF ? "float16 is not supported" : undefined;
  }
  if (T.isDate(type)) {
    return type.unit === arrow.DateUnit.DAY ? undefined : "only date32 is supported";
  }
  if (T.isTime(type)) {
    return type.unit === arrow.TimeUnit.MICROSECOND
      ? undefined
      : "only microsecond times are supported";
  }
  if (T.isTimestamp(type)) {
    if (type.unit !== arrow.TimeUnit.MICROSECOND) {
      return "only microsecond timestamps are supported";
    }
    if (type.timezone !== null && type.timezone !== "UTC" && type.timezone !== "+00:00") {
      return `only naive or UTC timestamps are supported, not time zone '${type.timezone}'`;
    }
    return undefined;
  }
  if (T.isList(type)) {
    const item = type.children[0];
    return item ? unsupportedReason(item.type) : "list without an item field";
  }
  return `Arrow type ${type} has no CSV rendering`;
}

/** A writer for one column of one batch. Writes nothing for NULL. */
export function cellWriter(field: arrow.Field, data: arrow.Data): CellWriter {
  const write = valueWriter(field, data);
  if (data.nullCount === 0 || !data.nullBitmap || data.nullBitmap.length === 0) return write;
  const bitmap = data.nullBitmap;
  const offset = data.offset;
  return (out, i) => {
    const bit = offset + i;
    if ((bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0) write(out, i);
  };
}

function valueWriter(field: arrow.Field, data: arrow.Data): CellWriter {
  const type = data.type;
  const T = arrow.DataType;
  if (T.isBool(type)) {
    const bits = data.values as Uint8Array;
    const offset = data.offset;
    return (out, i) => {
      out.ensure(5);
      const bit = offset + i;
      out.ascii((bits[bit >> 3]! & (1 << (bit & 7))) !== 0 ? "true" : "false");
    };
  }
  if (T.isInt(type)) return intWriter(type, data.values);
  if (T.isFloat(type)) {
    const values = data.values as Float32Array | Float64Array;
    const f32 = type.precision === arrow.Precision.SINGLE;
    return (out, i) => {
      const s = f32 ? float32Text(values[i]!) : float64Text(values[i]!);
      out.ensure(s.length);
      out.ascii(s);
    };
  }
  if (T.isDecimal(type)) {
    const values = data.values as Uint32Array;
    const words = type.bitWidth / 32;
    const scale = type.scale;
    return (out, i) => {
      if (writeSmallDecimal(out, values, i * words, words, scale)) return;
      const s = decimalText(values, i * words, words, scale);
      out.ensure(s.length);
      out.ascii(s);
    };
  }
  if (T.isUtf8(type)) {
    const bytes = data.values as Uint8Array;
    const offs = data.valueOffsets as Int32Array;
    return (out, i) => out.cell(bytes, offs[i]!, offs[i + 1]!);
  }
  if (T.isBinary(type)) {
    const bytes = data.values as Uint8Array;
    const offs = data.valueOffsets as Int32Array;
    return (out, i) => hex(out, bytes, offs[i]!, offs[i + 1]!);
  }
  if (T.isFixedSizeBinary(type)) {
    const bytes = data.values as Uint8Array;
    const width = type.byteWidth;
    const isUuid = width === 16 && field.metadata.get("ARROW:extension:name") === "arrow.uuid";
    return (out, i) => {
      if (isUuid) {
        out.ensure(36);
        for (let k = 0; k < 16; k++) {
          if (k === 4 || k === 6 || k === 8 || k === 10) out.buf[out.pos++] = 0x2d;
          const b = bytes[i * 16 + k]!;
          out.buf[out.pos++] = HEX[b >> 4]!;
          out.buf[out.pos++] = HEX[b & 15]!;
        }
      } else hex(out, bytes, i * width, (i + 1) * width);
    };
  }
  if (T.isDate(type)) {
    const days = data.values as Int32Array;
    return (out, i) => {
      out.ensure(16);
      writeDate(out, days[i]!);
    };
  }
  if (T.isTime(type)) {
    const words = int64Words(data.values as BigInt64Array);
    return (out, i) => {
      out.ensure(40);
      writeTime(out, words, i);
    };
  }
  if (T.isTimestamp(type)) {
    return timestampWriter(data.values as BigInt64Array);
  }
  if (T.isList(type)) {
    return (out, i) => out.text(listJson(data, i));
  }
  throw new TypeError(`no CSV writer for ${type}`);
}

function intWriter(type: arrow.Int, values: arrow.Data["values"]): CellWriter {
  if (type.bitWidth < 64) {
    const v = values as
      | Int8Array
      | Int16Array
      | Int32Array
      | Uint8Array
      | Uint16Array
      | Uint32Array;
    return (out, i) => {
      out.ensure(12);
      out.int(v[i]!);
    };
  }
  const words = int64Words(values as BigInt64Array | BigUint64Array);
  const big = values as BigInt64Array | BigUint64Array;
  const signed = type.isSigned;
  return (out, i) => {
    out.ensure(21);
    const lo = words[2 * i]! >>> 0;
    const hi = words[2 * i + 1]!;
    if (signed ? hi >= -0x200000 && hi < 0x200000 : hi >= 0 && hi < 0x200000) {
      out.int(hi * 4294967296 + lo);
    } else {
      out.ascii(String(big[i]!));
    }
  };
}

/** A 32-bit view of a 64-bit array: word 2i is the unsigned low half, 2i+1 the signed high half. */
function int64Words(values: BigInt64Array | BigUint64Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** Shortest text that reads back as the same float64 (`NaN`, `inf`, `-inf`, `-0`). */
export function float64Text(v: number): string {
  if (v !== v) return "NaN";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (v === 0 && 1 / v < 0) return "-0";
  return String(v);
}

/** Shortest text that reads back as the same float32 (not the float64 widening's digits). */
export function float32Text(v: number): string {
  if (v !== v || v === Infinity || v === -Infinity || v === 0) return float64Text(v);
  for (let p = 1; p < 9; p++) {
    const n = Number(v.toPrecision(p));
    if (Math.fround(n) === v) return String(n);
  }
  return String(Number(v.toPrecision(9)));
}

const TWO32 = 4294967296;

/** Exact decimal text of a little-endian two's complement integer of `words` 32-bit words. */
export function decimalText(
  values: Uint32Array,
  base: number,
  words: number,
  scale: number,
): string {
  const w0 = values[base]!;
  const w1 = values[base + 1]!;
  const top = values[base + words - 1]!;
  const negative = top >= 0x80000000;
  // Fast path: the value fits in a double exactly (|x| < 2^53).
  let small = negative ? w1 >= 0xffe00000 : w1 < 0x200000;
  for (let k = 2; small && k < words; k++) small = values[base + k] === (negative ? 0xffffffff : 0);
  let digits: string;
  if (small) {
    const x = negative ? (w1 - TWO32) * TWO32 + w0 : w1 * TWO32 + w0;
    digits = String(Math.abs(x));
  } else {
    let x = 0n;
    for (let k = words - 1; k >= 0; k--) x = (x << 32n) | BigInt(values[base + k]!);
    if (negative) x = (1n << BigInt(32 * words)) - x;
    digits = x.toString();
  }
  const sign = negative && digits !== "0" ? "-" : "";
  if (scale <= 0) return sign + (digits === "0" ? "0" : digits + "0".repeat(-scale));
  const padded = digits.length <= scale ? "0".repeat(scale + 1 - digits.length) + digits : digits;
  const cut = padded.length - scale;
  return `${sign}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}

function hex(out: ByteBuffer, src: Uint8Array, start: number, end: number): void {
  out.ensure(2 * (end - start));
  const buf = out.buf;
  let p = out.pos;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    buf[p++] = HEX[b >> 4]!;
    buf[p++] = HEX[b & 15]!;
  }
  out.pos = p;
}

const US_PER_DAY = 86_400_000_000;

/** Writes `YYYY-MM-DD` for days since 1970-01-01 (proleptic Gregorian; ±YYYYY outside 0..9999). */
function writeDate(out: ByteBuffer, days: number): void {
  // Howard Hinnant's civil_from_days.
  const z = days + 719468;
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
  if (y >= 0 && y <= 9999) {
    out.two(Math.floor(y / 100));
    out.two(y % 100);
  } else {
    out.ascii((y < 0 ? "-" : "+") + String(Math.abs(y)).padStart(4, "0"));
  }
  out.buf[out.pos++] = 0x2d;
  out.two(m);
  out.buf[out.pos++] = 0x2d;
  out.two(d);
}

/** Writes `HH:MM:SS.ffffff` for microseconds of a day (0 <= us < 86 400 000 000). */
function writeClock(out: ByteBuffer, us: number): void {
  const secs = Math.floor(us / 1_000_000);
  const frac = us - secs * 1_000_000;
  const h = Math.floor(secs / 3600);
  const rem = secs - h * 3600;
  const m = Math.floor(rem / 60);
  if (h < 100) out.two(h);
  else out.digits(h);
  const buf = out.buf;
  let p = out.pos;
  const s = rem - m * 60;
  buf[p++] = 0x3a;
  buf[p++] = ZERO + ((m / 10) | 0);
  buf[p++] = ZERO + (m % 10);
  buf[p++] = 0x3a;
  buf[p++] = ZERO + ((s / 10) | 0);
  buf[p++] = ZERO + (s % 10);
  buf[p++] = 0x2e;
  // frac < 10^6: six digits, right to left.
  let f = frac;
  p += 6;
  for (let k = 1; k <= 6; k++) {
    const q = (f / 10) | 0;
    buf[p - k] = ZERO + (f - q * 10);
    f = q;
  }
  out.pos = p;
}

/**
 * Time of day. MySQL TIME may be negative or exceed 24 h: it is written as `-HHH:MM:SS.ffffff`
 * with as many hour digits as needed.
 */
function writeTime(out: ByteBuffer, words: Int32Array, i: number): void {
  const hi = words[2 * i + 1]!;
  let us = hi * TWO32 + (words[2 * i]! >>> 0); // |TIME| is far below 2^53 µs
  if (us < 0) {
    out.buf[out.pos++] = 0x2d;
    us = -us;
  }
  writeClock(out, us);
}

/**
 * `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC wall time, no offset), floor division before 1970. The date
 * part of the previous cell is kept as bytes: neighbouring rows usually share their day.
 */
function timestampWriter(big: BigInt64Array): CellWriter {
  const words = int64Words(big);
  let lastDays = NaN;
  const date = new Uint8Array(16);
  let dateLen = 0;
  return (out, i) => {
    out.ensure(40);
    const hi = words[2 * i + 1]!;
    let days: number;
    let rest: number;
    if (hi >= -0x200000 && hi < 0x200000) {
      const us = hi * TWO32 + (words[2 * i]! >>> 0);
      days = Math.floor(us / US_PER_DAY);
      rest = us - days * US_PER_DAY;
    } else {
      const us = big[i]!;
      const perDay = BigInt(US_PER_DAY);
      let d = us / perDay; // truncates toward zero
      if (us % perDay < 0n) d -= 1n;
      days = Number(d);
      rest = Number(us - d * perDay);
    }
    const buf = out.buf;
    if (days === lastDays) {
      let p = out.pos;
      for (let k = 0; k < dateLen; k++) buf[p++] = date[k]!;
      out.pos = p;
    } else {
      const start = out.pos;
      writeDate(out, days);
      dateLen = out.pos - start;
      if (dateLen <= 16) {
        for (let k = 0; k < dateLen; k++) date[k] = buf[start + k]!;
        lastDays = days;
      } else lastDays = NaN;
    }
    buf[out.pos++] = 0x54; // T
    writeClock(out, rest);
  };
}

/**
 * Writes a decimal whose unscaled value fits a double exactly (|x| < 2^53) straight into `out`;
 * returns false (writing nothing) for larger values, which go through `decimalText`.
 */
function writeSmallDecimal(
  out: ByteBuffer,
  values: Uint32Array,
  base: number,
  words: number,
  scale: number,
): boolean {
  const w0 = values[base]!;
  const w1 = values[base + 1]!;
  const negative = values[base + words - 1]! >= 0x80000000;
  let small = negative ? w1 >= 0xffe00000 : w1 < 0x200000;
  for (let k = 2; small && k < words; k++) small = values[base + k] === (negative ? 0xffffffff : 0);
  if (!small || scale < 0) return false;
  let a = negative ? -((w1 - TWO32) * TWO32 + w0) : w1 * TWO32 + w0;
  out.ensure(scale + 20);
  const buf = out.buf;
  let p = out.pos;
  if (negative) buf[p++] = 0x2d;
  if (scale === 0) {
    out.pos = p;
    out.digits(a);
    return true;
  }
  const len = digitCount(a);
  const end = p + (len > scale ? len : scale + 1) + 1;
  let q = end;
  for (let k = 0; k < scale; k++) {
    const d = a < 2147483648 ? (a / 10) | 0 : Math.floor(a / 10);
    buf[--q] = ZERO + (a - d * 10);
    a = d;
  }
  buf[--q] = 0x2e;
  do {
    const d = a < 2147483648 ? (a / 10) | 0 : Math.floor(a / 10);
    buf[--q] = ZERO + (a - d * 10);
    a = d;
  } while (a > 0);
  out.pos = end;
  return true;
}

/**
 * A list cell as JSON array text (an extension over 0.9.0, which refused lists): numbers and
 * decimals as JSON numbers, NULL items as `null`, NaN/±Infinity as the strings "NaN"/"inf"/"-inf",
 * text, binary (lowercase hex), dates, times and timestamps as JSON strings.
 */
export function listJson(data: arrow.Data, i: number): string {
  const offs = data.valueOffsets as Int32Array;
  const child = data.children[0]!;
  const parts: string[] = [];
  for (let k = offs[i]!; k < offs[i + 1]!; k++) parts.push(jsonItem(child, k));
  return `[${parts.join(",")}]`;
}

function jsonItem(data: arrow.Data, i: number): string {
  const bit = data.offset + i;
  const valid = data.nullCount === 0 || !data.nullBitmap || data.nullBitmap.length === 0 ||
    (data.nullBitmap[bit >> 3]! & (1 << (bit & 7))) !== 0;
  if (!valid) return "null";
  const type = data.type;
  const T = arrow.DataType;
  if (T.isList(type)) return listJson(data, i);
  if (T.isFloat(type)) {
    const v = (data.values as Float32Array | Float64Array)[i]!;
    if (!Number.isFinite(v)) return JSON.stringify(float64Text(v));
    return type.precision === arrow.Precision.SINGLE ? float32Text(v) : float64Text(v);
  }
  if (T.isUtf8(type)) {
    const offs = data.valueOffsets as Int32Array;
    return JSON.stringify(
      textDecoder.decode((data.values as Uint8Array).subarray(offs[i]!, offs[i + 1]!)),
    );
  }
  // Everything else: render the scalar cell, then decide between a JSON number and a string.
  const out = new ByteBuffer(64);
  valueWriter(new arrow.Field("item", type), data)(out, i);
  const text = textDecoder.decode(out.buf.subarray(0, out.pos));
  if (T.isBool(type) || T.isInt(type) || T.isDecimal(type)) return text;
  return JSON.stringify(text);
}
