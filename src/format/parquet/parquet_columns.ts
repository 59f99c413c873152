// Column encodings for the Parquet writer: how each Arrow type is stored, its PLAIN values and its statistics (execution layer).
//
// One `ColumnKind` per Arrow type: the schema element (physical type, converted and logical
// types, as arrow-rs writes them), the PLAIN encoder of a slice of rows (valid values only) and
// the running min/max, kept as the PLAIN bytes Parquet statistics carry.
import * as arrow from "apache-arrow";
import type { GrowableBytes } from "../growable_bytes.ts";
import type { ThriftWriter } from "./thrift_compact.ts";

const enum Physical {
  Boolean = 0,
  Int32 = 1,
  Int64 = 2,
  Float = 4,
  Double = 5,
  ByteArray = 6,
  FixedLenByteArray = 7,
}
const enum Converted {
  Utf8 = 0,
  Decimal = 5,
  Date = 6,
  TimeMicros = 8,
  TimestampMicros = 10,
  Uint64 = 14,
  Int16 = 16,
}
export function unsupportedType(t: arrow.DataType): string | null {
  const T = arrow.DataType;
  if (T.isList(t)) {
    const item = t.children[0]?.type;
    if (!item || T.isList(item)) return `${t} (only lists of scalar values)`;
    return unsupportedType(item);
  }
  if (T.isBool(t) || T.isUtf8(t) || T.isBinary(t)) return null;
  if (T.isInt(t)) {
    if (t.bitWidth === 16 || t.bitWidth === 32) return t.isSigned ? null : `${t}`;
    if (t.bitWidth === 64) return null;
    return `${t}`;
  }
  if (T.isFloat(t)) return t.precision === arrow.Precision.HALF ? `${t}` : null;
  if (T.isDecimal(t)) {
    const max = t.bitWidth === 128 ? 38 : 76;
    return t.precision <= max && t.scale >= 0 ? null : `${t}`;
  }
  if (T.isDate(t)) return t.unit === arrow.DateUnit.DAY ? null : `${t}`;
  if (T.isTime(t)) {
    return t.unit === arrow.TimeUnit.MICROSECOND && t.bitWidth === 64 ? null : `${t}`;
  }
  if (T.isTimestamp(t)) return t.unit === arrow.TimeUnit.MICROSECOND ? null : `${t}`;
  return `${t}`;
}

/** Rows [from, to) of one column: its Arrow data and which rows hold a value. */
export interface Slice {
  readonly data: arrow.Data;
  readonly from: number;
  readonly to: number;
  /** Validity bitmap (bit `offset + i`), or null when every row is valid. */
  readonly bitmap: Uint8Array | null;
  readonly offset: number;
  readonly nulls: number;
}

export function isValid(s: Slice, i: number): boolean {
  const bit = s.offset + i;
  return (s.bitmap![bit >> 3]! & (1 << (bit & 7))) !== 0;
}

export function countNulls(bitmap: Uint8Array, offset: number, from: number, to: number): number {
  let valid = 0;
  for (let i = from; i < to; i++) {
    const bit = offset + i;
    if ((bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0) valid++;
  }
  return to - from - valid;
}

/** Running min/max of a column chunk as Parquet PLAIN bytes, compared by the column's order. */
export interface Stats {
  min: Uint8Array | null;
  max: Uint8Array | null;
  /** A value made min/max undefined (NaN): no min/max is written. */
  poisoned: boolean;
}

/** How one Arrow type is stored: its schema element and its PLAIN values. */
export interface ColumnKind {
  readonly physical: Physical;
  readonly typeLength?: number;
  /** Writes converted type / scale / precision / logical type fields of the schema element. */
  readonly annotate?: (w: ThriftWriter) => void;
  /** Appends the PLAIN bytes of the valid values of `s` and folds them into `stats`. */
  readonly plain: (s: Slice, out: GrowableBytes, stats: Stats) => void;
  /** String/binary: dictionary-encodable. */
  readonly byteArray?: true;
  /** A list column: its values are those of the item column, with repetition levels. */
  readonly list?: { readonly item: ColumnKind; readonly field: arrow.Field };
}

/** INT64 microseconds with a TIME (logical type field 7) or TIMESTAMP (8) annotation. */
function micros(converted: Converted, logical: 7 | 8, adjustedToUtc: boolean): ColumnKind {
  return {
    physical: Physical.Int64,
    annotate: (w) =>
      w.i32(6, converted).struct(
        10,
        (l) =>
          l.struct(
            logical,
            (x) => x.bool(1, adjustedToUtc).struct(2, (u) => u.struct(2, () => {})),
          ),
      ),
    plain: (s, out, st) => plainInt64(s, out, st, false),
  };
}

export function kindOf(t: arrow.DataType): ColumnKind {
  const T = arrow.DataType;
  if (T.isList(t)) {
    const field = t.children[0]!;
    const item = kindOf(field.type);
    // The item's physical type and PLAIN values; the list's own schema elements come from the writer.
    return { physical: item.physical, plain: item.plain, list: { item, field } };
  }
  if (T.isBool(t)) return { physical: Physical.Boolean, plain: plainBool };
  if (T.isInt(t)) {
    if (t.bitWidth === 16) {
      return {
        physical: Physical.Int32,
        annotate: (w) =>
          w.i32(6, Converted.Int16).struct(
            10,
            (l) => l.struct(10, (i) => i.i8(1, 16).bool(2, true)),
          ),
        plain: plainInt32,
      };
    }
    if (t.bitWidth === 32) return { physical: Physical.Int32, plain: plainInt32 };
    if (!t.isSigned) {
      return {
        physical: Physical.Int64,
        annotate: (w) =>
          w.i32(6, Converted.Uint64).struct(
            10,
            (l) => l.struct(10, (i) => i.i8(1, 64).bool(2, false)),
          ),
        plain: (s, out, st) => plainInt64(s, out, st, true),
      };
    }
    return { physical: Physical.Int64, plain: (s, out, st) => plainInt64(s, out, st, false) };
  }
  if (T.isFloat(t)) {
    return t.precision === arrow.Precision.SINGLE
      ? { physical: Physical.Float, plain: (s, out, st) => plainFloat(s, out, st, 4) }
      : { physical: Physical.Double, plain: (s, out, st) => plainFloat(s, out, st, 8) };
  }
  if (T.isDecimal(t)) {
    const { precision, scale } = t;
    const nw = t.bitWidth / 32;
    const annotate = (w: ThriftWriter) =>
      w.i32(6, Converted.Decimal).i32(7, scale).i32(8, precision).struct(
        10,
        (l) => l.struct(5, (d) => d.i32(1, scale).i32(2, precision)),
      );
    // As arrow-rs: INT32 up to 9 digits (from 2), INT64 up to 18, else the fewest bytes.
    if (precision > 1 && precision <= 9) {
      return {
        physical: Physical.Int32,
        annotate,
        plain: (s, out, st) => plainDecimalInt(s, out, st, 4, nw),
      };
    }
    if (precision <= 18) {
      return {
        physical: Physical.Int64,
        annotate,
        plain: (s, out, st) => plainDecimalInt(s, out, st, 8, nw),
      };
    }
    const len = Math.ceil((precision * Math.log2(10) + 1) / 8);
    return {
      physical: Physical.FixedLenByteArray,
      typeLength: len,
      annotate,
      plain: (s, out, st) => plainDecimalFixed(s, out, st, len, nw),
    };
  }
  if (T.isDate(t)) {
    return {
      physical: Physical.Int32,
      annotate: (w) => w.i32(6, Converted.Date).struct(10, (l) => l.struct(6, () => {})),
      plain: plainInt32,
    };
  }
  if (T.isTime(t)) return micros(Converted.TimeMicros, 7, false);
  if (T.isTimestamp(t)) {
    return micros(Converted.TimestampMicros, 8, t.timezone !== null && t.timezone !== "");
  }
  if (T.isUtf8(t)) {
    return {
      physical: Physical.ByteArray,
      annotate: (w) => w.i32(6, Converted.Utf8).struct(10, (l) => l.struct(1, () => {})),
      plain: plainByteArray,
      byteArray: true,
    };
  }
  if (T.isBinary(t)) {
    return { physical: Physical.ByteArray, plain: plainByteArray, byteArray: true };
  }
  throw new Error(`Parquet writer: unsupported type ${t}`);
}

// ---- PLAIN encoders -------------------------------------------------------------------------

function plainBool(s: Slice, out: GrowableBytes, st: Stats): void {
  const bits = s.data.values as Uint8Array;
  const off = s.data.offset;
  const n = s.to - s.from - s.nulls;
  const len = (n + 7) >> 3;
  out.ensure(len);
  const b = out.buf;
  const base = out.pos;
  b.fill(0, base, base + len);
  let k = 0;
  let trues = 0;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    const bit = off + i;
    if ((bits[bit >> 3]! & (1 << (bit & 7))) !== 0) {
      b[base + (k >> 3)]! |= 1 << (k & 7);
      trues++;
    }
    k++;
  }
  out.pos = base + len;
  if (n === 0) return;
  const min = trues === n ? 1 : 0;
  const max = trues > 0 ? 1 : 0;
  if (st.min === null || min < st.min[0]!) st.min = new Uint8Array([min]);
  if (st.max === null || max > st.max[0]!) st.max = new Uint8Array([max]);
}

function int32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function readI32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
}

/** Int16/Int32/Date32 values (and INT32 decimals through plainDecimalInt) as little-endian int32. */
function plainInt32(s: Slice, out: GrowableBytes, st: Stats): void {
  const values = s.data.values as Int16Array | Int32Array;
  let min = st.min ? readI32(st.min) : Infinity;
  let max = st.max ? readI32(st.max) : -Infinity;
  const n = s.to - s.from - s.nulls;
  out.ensure(4 * n);
  const b = out.buf;
  let p = out.pos;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    b[p] = v & 0xff;
    b[p + 1] = (v >> 8) & 0xff;
    b[p + 2] = (v >> 16) & 0xff;
    b[p + 3] = (v >> 24) & 0xff;
    p += 4;
  }
  out.pos = p;
  if (n > 0) {
    st.min = int32Bytes(min);
    st.max = int32Bytes(max);
  }
}

/** Compares 64-bit values given as (hi, lo) words; `unsigned` compares hi unsigned too. */
function cmp64(ah: number, al: number, bh: number, bl: number, unsigned: boolean): number {
  if (ah !== bh) {
    return unsigned ? ((ah >>> 0) < (bh >>> 0) ? -1 : 1) : (ah < bh ? -1 : 1);
  }
  if (al === bl) return 0;
  return (al >>> 0) < (bl >>> 0) ? -1 : 1;
}

function words64(b: Uint8Array): [number, number] {
  const dv = new DataView(b.buffer, b.byteOffset, 8);
  return [dv.getInt32(4, true), dv.getInt32(0, true)];
}

function int64Bytes(hi: number, lo: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, lo, true);
  dv.setInt32(4, hi, true);
  return b;
}

/** 64-bit integers (int64/uint64, time, timestamp) copied as they are: Arrow is little-endian. */
function plainInt64(s: Slice, out: GrowableBytes, st: Stats, unsigned: boolean): void {
  const big = s.data.values as BigInt64Array;
  const words = new Int32Array(big.buffer, big.byteOffset, big.length * 2);
  const n = s.to - s.from - s.nulls;
  let [minH, minL] = st.min ? words64(st.min) : [0, 0];
  let [maxH, maxL] = st.max ? words64(st.max) : [0, 0];
  let have = st.min !== null;
  out.ensure(8 * n);
  if (s.nulls === 0) {
    out.buf.set(
      new Uint8Array(big.buffer, big.byteOffset + 8 * s.from, 8 * (s.to - s.from)),
      out.pos,
    );
    out.pos += 8 * n;
  }
  const b = out.buf;
  let p = out.pos;
  const copy = s.nulls > 0;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    const lo = words[2 * i]!;
    const hi = words[2 * i + 1]!;
    if (!have) {
      minH = maxH = hi;
      minL = maxL = lo;
      have = true;
    } else {
      if (cmp64(hi, lo, minH, minL, unsigned) < 0) (minH = hi), (minL = lo);
      if (cmp64(hi, lo, maxH, maxL, unsigned) > 0) (maxH = hi), (maxL = lo);
    }
    if (copy) {
      b[p] = lo & 0xff;
      b[p + 1] = (lo >> 8) & 0xff;
      b[p + 2] = (lo >> 16) & 0xff;
      b[p + 3] = (lo >> 24) & 0xff;
      b[p + 4] = hi & 0xff;
      b[p + 5] = (hi >> 8) & 0xff;
      b[p + 6] = (hi >> 16) & 0xff;
      b[p + 7] = (hi >> 24) & 0xff;
      p += 8;
    }
  }
  if (copy) out.pos = p;
  if (have) {
    st.min = int64Bytes(minH, minL);
    st.max = int64Bytes(maxH, maxL);
  }
}

function plainFloat(s: Slice, out: GrowableBytes, st: Stats, width: 4 | 8): void {
  const values = s.data.values as Float32Array | Float64Array;
  const n = s.to - s.from - s.nulls;
  const read = (b: Uint8Array) =>
    width === 4
      ? new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true)
      : new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
  let min = st.min ? read(st.min) : Infinity;
  let max = st.max ? read(st.max) : -Infinity;
  out.ensure(width * n);
  const view = new DataView(out.buf.buffer, out.buf.byteOffset);
  let p = out.pos;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    const v = values[i]!;
    if (Number.isNaN(v)) st.poisoned = true;
    else {
      if (v < min || (v === 0 && min === 0 && Object.is(v, -0))) min = v;
      if (v > max || (v === 0 && max === 0 && Object.is(max, -0))) max = v;
    }
    if (width === 4) view.setFloat32(p, v, true);
    else view.setFloat64(p, v, true);
    p += width;
  }
  out.pos = p;
  if (min <= max) {
    // Parquet: a zero minimum is written as -0.0 and a zero maximum as +0.0.
    const lo = min === 0 ? -0 : min;
    const hi = max === 0 ? 0 : max;
    const enc = (v: number) => {
      const b = new Uint8Array(width);
      const dv = new DataView(b.buffer);
      if (width === 4) dv.setFloat32(0, v, true);
      else dv.setFloat64(0, v, true);
      return b;
    };
    st.min = enc(lo);
    st.max = enc(hi);
  }
}

/** Compares two two's complement values of `nw` little-endian uint32 words (128 or 256 bits). */
function cmpWide(a: Uint32Array, ai: number, b: Uint32Array, bi: number, nw: number): number {
  const ah = a[ai + nw - 1]! | 0;
  const bh = b[bi + nw - 1]! | 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  for (let k = nw - 2; k >= 0; k--) {
    const x = a[ai + k]!;
    const y = b[bi + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Row index of the min and max valid decimal of the slice, or -1. */
function decimalExtremes(s: Slice, words: Uint32Array, nw: number): [number, number] {
  let lo = -1;
  let hi = -1;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    if (lo < 0) lo = hi = i;
    else {
      if (cmpWide(words, nw * i, words, nw * lo, nw) < 0) lo = i;
      if (cmpWide(words, nw * i, words, nw * hi, nw) > 0) hi = i;
    }
  }
  return [lo, hi];
}

/** Decimals of up to 18 digits: the low 32 or 64 bits of the value (of `nw` words). */
function plainDecimalInt(s: Slice, out: GrowableBytes, st: Stats, width: 4 | 8, nw: number): void {
  const words = s.data.values as Uint32Array;
  const n = s.to - s.from - s.nulls;
  out.ensure(width * n);
  const b = out.buf;
  let p = out.pos;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    for (let k = 0; k < width / 4; k++) {
      const w = words[nw * i + k]!;
      b[p++] = w & 0xff;
      b[p++] = (w >>> 8) & 0xff;
      b[p++] = (w >>> 16) & 0xff;
      b[p++] = (w >>> 24) & 0xff;
    }
  }
  out.pos = p;
  foldDecimalStats(s, words, st, nw, (i) => {
    const v = new Uint8Array(width);
    const dv = new DataView(v.buffer);
    dv.setUint32(0, words[nw * i]!, true);
    if (width === 8) dv.setUint32(4, words[nw * i + 1]!, true);
    return v;
  }, (b) => {
    // Sign-extend the stored INT32/INT64 statistic to `nw` words.
    const low = width === 4 ? [readI32(b) >>> 0] : ((w) => [w[1] >>> 0, w[0] >>> 0])(words64(b));
    const ext = (low[low.length - 1]! | 0) < 0 ? 0xffffffff : 0;
    const out = new Uint32Array(nw).fill(ext);
    out.set(low);
    return out;
  });
}

/** Big-endian two's complement of the value at row `i` (`nw` words), cut to its last `len` bytes. */
function decimalFixedBytes(words: Uint32Array, i: number, len: number, nw: number): Uint8Array {
  const full = new Uint8Array(4 * nw);
  for (let k = 0; k < nw; k++) {
    const w = words[nw * i + nw - 1 - k]!;
    full[4 * k] = w >>> 24;
    full[4 * k + 1] = (w >>> 16) & 0xff;
    full[4 * k + 2] = (w >>> 8) & 0xff;
    full[4 * k + 3] = w & 0xff;
  }
  return full.subarray(4 * nw - len);
}

function decodeDecimalFixed(b: Uint8Array, nw: number): Uint32Array {
  const full = new Uint8Array(4 * nw).fill(b[0]! >= 0x80 ? 0xff : 0);
  full.set(b, 4 * nw - b.length);
  const out = new Uint32Array(nw);
  for (let k = 0; k < nw; k++) {
    const p = 4 * (nw - 1 - k);
    out[k] = ((full[p]! << 24) | (full[p + 1]! << 16) | (full[p + 2]! << 8) | full[p + 3]!) >>> 0;
  }
  return out;
}

function plainDecimalFixed(s: Slice, out: GrowableBytes, st: Stats, len: number, nw: number): void {
  const words = s.data.values as Uint32Array;
  const n = s.to - s.from - s.nulls;
  out.ensure(len * n);
  const b = out.buf;
  let p = out.pos;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    // Big-endian: the most significant word first, the top bytes beyond `len` dropped.
    let skip = 4 * nw - len;
    for (let k = nw - 1; k >= 0; k--) {
      const w = words[nw * i + k]!;
      for (let sh = 24; sh >= 0; sh -= 8) {
        if (skip > 0) skip--;
        else b[p++] = (w >>> sh) & 0xff;
      }
    }
  }
  out.pos = p;
  foldDecimalStats(
    s,
    words,
    st,
    nw,
    (i) => decimalFixedBytes(words, i, len, nw).slice(),
    (b) => decodeDecimalFixed(b, nw),
  );
}

/** Folds the slice's decimal extremes into `st`, comparing with the stored ones as wide integers. */
function foldDecimalStats(
  s: Slice,
  words: Uint32Array,
  st: Stats,
  nw: number,
  encode: (i: number) => Uint8Array,
  decode: (b: Uint8Array) => Uint32Array,
): void {
  const [lo, hi] = decimalExtremes(s, words, nw);
  if (lo < 0) return;
  if (st.min === null || cmpWide(words, nw * lo, decode(st.min), 0, nw) < 0) st.min = encode(lo);
  if (st.max === null || cmpWide(words, nw * hi, decode(st.max), 0, nw) > 0) st.max = encode(hi);
}

/** Lexicographic unsigned byte order (Parquet's order for BYTE_ARRAY). */
function cmpBytes(
  a: Uint8Array,
  as: number,
  ae: number,
  b: Uint8Array,
  bs: number,
  be: number,
): number {
  const n = Math.min(ae - as, be - bs);
  for (let k = 0; k < n; k++) {
    const x = a[as + k]!;
    const y = b[bs + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return (ae - as) - (be - bs);
}

/** Folds the min/max value of rows [from, to) of a string/binary slice into `st` (copies). */
export function foldByteArrayStats(s: Slice, st: Stats): void {
  const bytes = s.data.values as Uint8Array;
  const offs = s.data.valueOffsets as Int32Array;
  let lo = -1;
  let hi = -1;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    if (lo < 0) {
      lo = hi = i;
      continue;
    }
    const a = offs[i]!;
    const e = offs[i + 1]!;
    if (cmpBytes(bytes, a, e, bytes, offs[lo]!, offs[lo + 1]!) < 0) lo = i;
    else if (cmpBytes(bytes, a, e, bytes, offs[hi]!, offs[hi + 1]!) > 0) hi = i;
  }
  if (lo < 0) return;
  const min = bytes.slice(offs[lo]!, offs[lo + 1]!);
  const max = bytes.slice(offs[hi]!, offs[hi + 1]!);
  if (st.min === null || cmpBytes(min, 0, min.length, st.min, 0, st.min.length) < 0) st.min = min;
  if (st.max === null || cmpBytes(max, 0, max.length, st.max, 0, st.max.length) > 0) st.max = max;
}

function plainByteArray(s: Slice, out: GrowableBytes, st: Stats): void {
  const bytes = s.data.values as Uint8Array;
  const offs = s.data.valueOffsets as Int32Array;
  out.ensure(4 * (s.to - s.from) + (offs[s.to]! - offs[s.from]!));
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    const a = offs[i]!;
    const e = offs[i + 1]!;
    out.u32(e - a);
    out.append(bytes, a, e);
  }
  foldByteArrayStats(s, st);
}
