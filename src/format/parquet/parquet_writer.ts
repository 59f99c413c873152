// Parquet file writer in TypeScript for flat Arrow schemas, compressing pages with the runtime's native zstd/gzip (execution layer).
//
// Why: parquet-wasm spent most of the encode worker's time (its zstd runs as wasm) and kept tens
// of MiB of wasm memory per worker. This writer produces the same file shape as parquet-wasm
// (arrow-rs) did for the types Rivet's sources emit: v1 data pages, PLAIN values, definition
// levels as RLE/bit-packed runs, dictionary pages for string/binary columns that repeat
// (RLE_DICTIONARY indices, falling back to PLAIN when the dictionary grows too large), column
// chunk statistics (min/max/null count), the same physical and logical types (decimals as
// INT32/INT64/FIXED_LEN_BYTE_ARRAY by precision) and the `ARROW:schema` footer entry that Arrow
// readers use to restore exact types. Lists, decimals above 38 digits and the snappy/lz4 codecs
// are not handled here: `nativeUnsupported` says so and the caller uses parquet-wasm for them.
//
// Layout of a file: "PAR1", then per row group the column chunks one after the other (each:
// optional dictionary page, data pages), then the Thrift footer, its length and "PAR1". A row
// group's compressed pages are held until the group is complete, then emitted as one chunk.
import * as zlib from "node:zlib";
import * as arrow from "apache-arrow";
import { RIVET_VERSION } from "../../version.ts";
import { ThriftWriter } from "./thrift_compact.ts";

export type NativeCodec = "zstd" | "gzip" | "none";

export interface ParquetWriterOptions {
  readonly codec: NativeCodec;
  /** zstd/gzip level; the codec's default when absent. */
  readonly level?: number;
  /** Rows per row group. */
  readonly rowGroupRows: number;
  /** Columns never dictionary-encoded (nearly unique values). */
  readonly plainColumns: readonly string[];
}

// Parquet enums (parquet.thrift).
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
const enum Encoding {
  Plain = 0,
  Rle = 3,
  RleDictionary = 8,
}
const enum PageType {
  Data = 0,
  Dictionary = 2,
}
const CODEC_ID: Readonly<Record<NativeCodec, number>> = { none: 0, gzip: 2, zstd: 6 };

/** A string/binary dictionary stops growing past this many bytes (then pages go PLAIN). */
const DICTIONARY_BYTES = 1024 * 1024;
/** ...or when more than this share of a column's values so far are distinct. */
const DICTIONARY_DISTINCT_SHARE = 0.5;
/** Min/max values longer than this are left out of the statistics (as arrow-rs does). */
const MAX_STATISTICS_BYTES = 4096;
/** Rows per data page at most (a batch is one page per column otherwise). */
const PAGE_ROWS = 64 * 1024;

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]);

/** Why `schema` cannot be written by this writer with `codec`, or null when it can. */
export function nativeUnsupported(schema: arrow.Schema, codec: string): string | null {
  if (!(codec in CODEC_ID)) return `codec ${codec}`;
  for (const f of schema.fields) {
    const why = unsupportedType(f.type);
    if (why) return `column '${f.name}': ${why}`;
  }
  return null;
}

function unsupportedType(t: arrow.DataType): string | null {
  const T = arrow.DataType;
  if (T.isBool(t) || T.isUtf8(t) || T.isBinary(t)) return null;
  if (T.isInt(t)) {
    if (t.bitWidth === 16 || t.bitWidth === 32) return t.isSigned ? null : `${t}`;
    if (t.bitWidth === 64) return null;
    return `${t}`;
  }
  if (T.isFloat(t)) return t.precision === arrow.Precision.HALF ? `${t}` : null;
  if (T.isDecimal(t)) {
    return t.bitWidth === 128 && t.precision <= 38 && t.scale >= 0 ? null : `${t}`;
  }
  if (T.isDate(t)) return t.unit === arrow.DateUnit.DAY ? null : `${t}`;
  if (T.isTime(t)) {
    return t.unit === arrow.TimeUnit.MICROSECOND && t.bitWidth === 64 ? null : `${t}`;
  }
  if (T.isTimestamp(t)) return t.unit === arrow.TimeUnit.MICROSECOND ? null : `${t}`;
  return `${t}`;
}

/** A growable byte buffer for one page's uncompressed bytes (reused page after page). */
class Bytes {
  buf = new Uint8Array(1 << 16);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = (v >>> 24) & 0xff;
    this.pos = p + 4;
  }
  varint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }
  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    if (n < 32) { for (let k = start; k < end; k++) b[p++] = src[k]!; }
    else {
      b.set(src.subarray(start, end), p);
      p += n;
    }
    this.pos = p;
  }
}

/** Rows [from, to) of one column: its Arrow data and which rows hold a value. */
interface Slice {
  readonly data: arrow.Data;
  readonly from: number;
  readonly to: number;
  /** Validity bitmap (bit `offset + i`), or null when every row is valid. */
  readonly bitmap: Uint8Array | null;
  readonly offset: number;
  readonly nulls: number;
}

function isValid(s: Slice, i: number): boolean {
  const bit = s.offset + i;
  return (s.bitmap![bit >> 3]! & (1 << (bit & 7))) !== 0;
}

function countNulls(bitmap: Uint8Array, offset: number, from: number, to: number): number {
  let valid = 0;
  for (let i = from; i < to; i++) {
    const bit = offset + i;
    if ((bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0) valid++;
  }
  return to - from - valid;
}

/** Running min/max of a column chunk as Parquet PLAIN bytes, compared by the column's order. */
interface Stats {
  min: Uint8Array | null;
  max: Uint8Array | null;
  /** A value made min/max undefined (NaN): no min/max is written. */
  poisoned: boolean;
}

/** How one Arrow type is stored: its schema element and its PLAIN values. */
interface ColumnKind {
  readonly physical: Physical;
  readonly typeLength?: number;
  /** Writes converted type / scale / precision / logical type fields of the schema element. */
  readonly annotate?: (w: ThriftWriter) => void;
  /** Appends the PLAIN bytes of the valid values of `s` and folds them into `stats`. */
  readonly plain: (s: Slice, out: Bytes, stats: Stats) => void;
  /** String/binary: dictionary-encodable. */
  readonly byteArray?: true;
}

function timeUnitMicros(w: ThriftWriter): void {
  w.struct(2, (u) => u.struct(2, () => {}));
}

function kindOf(t: arrow.DataType): ColumnKind {
  const T = arrow.DataType;
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
        plain: (s, out, st) => plainDecimalInt(s, out, st, 4),
      };
    }
    if (precision <= 18) {
      return {
        physical: Physical.Int64,
        annotate,
        plain: (s, out, st) => plainDecimalInt(s, out, st, 8),
      };
    }
    const len = Math.ceil((precision * Math.log2(10) + 1) / 8);
    return {
      physical: Physical.FixedLenByteArray,
      typeLength: len,
      annotate,
      plain: (s, out, st) => plainDecimalFixed(s, out, st, len),
    };
  }
  if (T.isDate(t)) {
    return {
      physical: Physical.Int32,
      annotate: (w) => w.i32(6, Converted.Date).struct(10, (l) => l.struct(6, () => {})),
      plain: plainInt32,
    };
  }
  if (T.isTime(t)) {
    return {
      physical: Physical.Int64,
      annotate: (w) =>
        w.i32(6, Converted.TimeMicros).struct(
          10,
          (l) => l.struct(7, (x) => (x.bool(1, false), timeUnitMicros(x))),
        ),
      plain: (s, out, st) => plainInt64(s, out, st, false),
    };
  }
  if (T.isTimestamp(t)) {
    const utc = t.timezone !== null && t.timezone !== "";
    return {
      physical: Physical.Int64,
      annotate: (w) =>
        w.i32(6, Converted.TimestampMicros).struct(
          10,
          (l) => l.struct(8, (x) => (x.bool(1, utc), timeUnitMicros(x))),
        ),
      plain: (s, out, st) => plainInt64(s, out, st, false),
    };
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

function plainBool(s: Slice, out: Bytes, st: Stats): void {
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
function plainInt32(s: Slice, out: Bytes, st: Stats): void {
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
function plainInt64(s: Slice, out: Bytes, st: Stats, unsigned: boolean): void {
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

function plainFloat(s: Slice, out: Bytes, st: Stats, width: 4 | 8): void {
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

/** Compares two 128-bit two's complement values stored as 4 little-endian uint32 words. */
function cmp128(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  const ah = a[ai + 3]! | 0;
  const bh = b[bi + 3]! | 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  for (let k = 2; k >= 0; k--) {
    const x = a[ai + k]!;
    const y = b[bi + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Row index of the min and max valid decimal of the slice, or -1. */
function decimalExtremes(s: Slice, words: Uint32Array): [number, number] {
  let lo = -1;
  let hi = -1;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    if (lo < 0) lo = hi = i;
    else {
      if (cmp128(words, 4 * i, words, 4 * lo) < 0) lo = i;
      if (cmp128(words, 4 * i, words, 4 * hi) > 0) hi = i;
    }
  }
  return [lo, hi];
}

/** Decimals of up to 18 digits: the low 32 or 64 bits of the 128-bit value. */
function plainDecimalInt(s: Slice, out: Bytes, st: Stats, width: 4 | 8): void {
  const words = s.data.values as Uint32Array;
  const n = s.to - s.from - s.nulls;
  out.ensure(width * n);
  const b = out.buf;
  let p = out.pos;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    for (let k = 0; k < width / 4; k++) {
      const w = words[4 * i + k]!;
      b[p++] = w & 0xff;
      b[p++] = (w >>> 8) & 0xff;
      b[p++] = (w >>> 16) & 0xff;
      b[p++] = (w >>> 24) & 0xff;
    }
  }
  out.pos = p;
  foldDecimalStats(s, words, st, (i) => {
    const v = new Uint8Array(width);
    const dv = new DataView(v.buffer);
    dv.setUint32(0, words[4 * i]!, true);
    if (width === 8) dv.setUint32(4, words[4 * i + 1]!, true);
    return v;
  }, width === 4 ? decodeDecimalInt32 : decodeDecimalInt64);
}

function decodeDecimalInt32(b: Uint8Array): Uint32Array {
  const v = readI32(b);
  const ext = v < 0 ? 0xffffffff : 0;
  return new Uint32Array([v >>> 0, ext, ext, ext]);
}

function decodeDecimalInt64(b: Uint8Array): Uint32Array {
  const [hi, lo] = words64(b);
  const ext = hi < 0 ? 0xffffffff : 0;
  return new Uint32Array([lo >>> 0, hi >>> 0, ext, ext]);
}

/** Big-endian two's complement of the 128-bit value at row `i`, cut to its last `len` bytes. */
function decimalFixedBytes(words: Uint32Array, i: number, len: number): Uint8Array {
  const full = new Uint8Array(16);
  for (let k = 0; k < 4; k++) {
    const w = words[4 * i + 3 - k]!;
    full[4 * k] = w >>> 24;
    full[4 * k + 1] = (w >>> 16) & 0xff;
    full[4 * k + 2] = (w >>> 8) & 0xff;
    full[4 * k + 3] = w & 0xff;
  }
  return full.subarray(16 - len);
}

function decodeDecimalFixed(b: Uint8Array): Uint32Array {
  const full = new Uint8Array(16).fill(b[0]! >= 0x80 ? 0xff : 0);
  full.set(b, 16 - b.length);
  const out = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    const p = 4 * (3 - k);
    out[k] = ((full[p]! << 24) | (full[p + 1]! << 16) | (full[p + 2]! << 8) | full[p + 3]!) >>> 0;
  }
  return out;
}

function plainDecimalFixed(s: Slice, out: Bytes, st: Stats, len: number): void {
  const words = s.data.values as Uint32Array;
  const n = s.to - s.from - s.nulls;
  out.ensure(len * n);
  const b = out.buf;
  let p = out.pos;
  for (let i = s.from; i < s.to; i++) {
    if (s.bitmap && !isValid(s, i)) continue;
    // Big-endian: the most significant word first, the top bytes beyond `len` dropped.
    let skip = 16 - len;
    for (let k = 3; k >= 0; k--) {
      const w = words[4 * i + k]!;
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
    (i) => decimalFixedBytes(words, i, len).slice(),
    decodeDecimalFixed,
  );
}

/** Folds the slice's decimal extremes into `st`, comparing with the stored ones as 128-bit values. */
function foldDecimalStats(
  s: Slice,
  words: Uint32Array,
  st: Stats,
  encode: (i: number) => Uint8Array,
  decode: (b: Uint8Array) => Uint32Array,
): void {
  const [lo, hi] = decimalExtremes(s, words);
  if (lo < 0) return;
  if (st.min === null || cmp128(words, 4 * lo, decode(st.min), 0) < 0) st.min = encode(lo);
  if (st.max === null || cmp128(words, 4 * hi, decode(st.max), 0) > 0) st.max = encode(hi);
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
function foldByteArrayStats(s: Slice, st: Stats): void {
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

function plainByteArray(s: Slice, out: Bytes, st: Stats): void {
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

// ---- levels and dictionary indices (RLE / bit-packed hybrid) ---------------------------------

/** Definition levels (bit width 1) of rows [from, to): one RLE run, or one bit-packed run. */
function writeDefLevels(s: Slice, out: Bytes): void {
  const n = s.to - s.from;
  const lenAt = out.pos;
  out.u32(0); // length prefix, patched below
  const start = out.pos;
  if (s.nulls === 0) {
    out.varint(n * 2); // RLE run of n ones
    out.ensure(1);
    out.buf[out.pos++] = 1;
  } else {
    const groups = (n + 7) >> 3;
    out.varint(groups * 2 + 1);
    out.ensure(groups);
    const b = out.buf;
    const base = out.pos;
    b.fill(0, base, base + groups);
    const bitmap = s.bitmap!;
    for (let k = 0; k < n; k++) {
      const bit = s.offset + s.from + k;
      if ((bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0) b[base + (k >> 3)]! |= 1 << (k & 7);
    }
    out.pos = base + groups;
  }
  const len = out.pos - start;
  const b = out.buf;
  b[lenAt] = len & 0xff;
  b[lenAt + 1] = (len >>> 8) & 0xff;
  b[lenAt + 2] = (len >>> 16) & 0xff;
  b[lenAt + 3] = (len >>> 24) & 0xff;
}

function bitWidthFor(maxValue: number): number {
  let w = 1;
  while (maxValue >= 2 ** w) w++;
  return w;
}

/** `count` dictionary indices as: bit width byte, one bit-packed run (padded to groups of 8). */
function writeIndices(idx: Int32Array, count: number, dictSize: number, out: Bytes): void {
  const w = bitWidthFor(Math.max(1, dictSize - 1));
  const groups = (count + 7) >> 3;
  out.ensure(1 + 10 + groups * w);
  out.buf[out.pos++] = w;
  out.varint(groups * 2 + 1);
  const b = out.buf;
  let p = out.pos;
  let acc = 0;
  let bits = 0;
  const total = groups * 8;
  for (let k = 0; k < total; k++) {
    const v = k < count ? idx[k]! : 0;
    acc += v * 2 ** bits;
    bits += w;
    while (bits >= 8) {
      b[p++] = acc % 256;
      acc = Math.floor(acc / 256);
      bits -= 8;
    }
  }
  out.pos = p;
}

/** The distinct values of a string/binary column chunk, found through an open-addressing hash. */
class ByteDictionary {
  bytes = new Uint8Array(1 << 14);
  used = 0;
  offsets = new Int32Array(1025);
  size = 0;
  #slots = new Int32Array(1 << 12); // entry index + 1; 0 = empty
  #hashes = new Int32Array(1024);

  /** The index of `src[a, e)`, added when new. */
  indexOf(src: Uint8Array, a: number, e: number): number {
    let h = 0x811c9dc5 | 0;
    for (let k = a; k < e; k++) h = Math.imul(h ^ src[k]!, 0x01000193);
    const mask = this.#slots.length - 1;
    let slot = h & mask;
    for (;;) {
      const entry = this.#slots[slot]!;
      if (entry === 0) break;
      const i = entry - 1;
      if (this.#hashes[i] === h) {
        const s = this.offsets[i]!;
        const n = this.offsets[i + 1]! - s;
        if (n === e - a) {
          let k = 0;
          while (k < n && this.bytes[s + k] === src[a + k]) k++;
          if (k === n) return i;
        }
      }
      slot = (slot + 1) & mask;
    }
    const i = this.size;
    const n = e - a;
    if (this.used + n > this.bytes.length) {
      const next = new Uint8Array(Math.max(this.bytes.length * 2, this.used + n));
      next.set(this.bytes.subarray(0, this.used));
      this.bytes = next;
    }
    this.bytes.set(src.subarray(a, e), this.used);
    this.used += n;
    if (i + 2 > this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
      const hs = new Int32Array(this.#hashes.length * 2);
      hs.set(this.#hashes);
      this.#hashes = hs;
    }
    this.offsets[i + 1] = this.used;
    this.#hashes[i] = h;
    this.size = i + 1;
    this.#slots[slot] = i + 1;
    if (this.size * 2 > this.#slots.length) this.#rehash();
    return i;
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let i = 0; i < this.size; i++) {
      let slot = this.#hashes[i]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = i + 1;
    }
    this.#slots = slots;
  }

  /** The dictionary page's PLAIN values. */
  plain(out: Bytes): void {
    for (let i = 0; i < this.size; i++) {
      const a = this.offsets[i]!;
      const e = this.offsets[i + 1]!;
      out.u32(e - a);
      out.append(this.bytes, a, e);
    }
  }
}

// ---- column chunks, row groups, footer ------------------------------------------------------

interface ChunkMeta {
  readonly encodings: number[];
  readonly numValues: number;
  readonly uncompressed: number;
  readonly compressed: number;
  readonly dataPageOffset: number;
  readonly dictionaryPageOffset: number | null;
  readonly nullCount: number;
  readonly min: Uint8Array | null;
  readonly max: Uint8Array | null;
}

interface RowGroupMeta {
  readonly columns: ChunkMeta[];
  readonly rows: number;
  readonly offset: number;
  readonly uncompressed: number;
  readonly compressed: number;
}

/** One column of the open row group: its encoded data pages and running statistics. */
class ColumnChunk {
  readonly pages: Uint8Array[] = [];
  uncompressed = 0;
  compressed = 0;
  values = 0;
  nulls = 0;
  nonNull = 0;
  readonly stats: Stats = { min: null, max: null, poisoned: false };
  /** The chunk's dictionary (string/binary columns that repeat); null once given up unused. */
  dict: ByteDictionary | null;
  /** Still dictionary-encoding new pages. */
  dictActive: boolean;
  usedDictionary = false;
  usedPlain = false;

  constructor(readonly kind: ColumnKind, tryDictionary: boolean) {
    this.dict = tryDictionary ? new ByteDictionary() : null;
    this.dictActive = tryDictionary;
  }
}

/** A page ready to be written: header and (compressed) body. */
interface EncodedPage {
  readonly bytes: Uint8Array;
  /** Header plus uncompressed body, as Parquet counts `total_uncompressed_size`. */
  readonly uncompressed: number;
}

export class ParquetWriter {
  readonly #fields: readonly arrow.Field[];
  readonly #kinds: readonly ColumnKind[];
  readonly #plain: ReadonlySet<string>;
  readonly #page = new Bytes();
  readonly #compress: (b: Uint8Array) => Uint8Array;
  readonly #groups: RowGroupMeta[] = [];
  #chunks: ColumnChunk[];
  #groupRows = 0;
  #offset = 0;
  #rows = 0;
  #idx = new Int32Array(1024);

  constructor(
    readonly schema: arrow.Schema,
    private readonly options: ParquetWriterOptions,
    private readonly emit: (bytes: Uint8Array) => void,
  ) {
    const why = nativeUnsupported(schema, options.codec);
    if (why) throw new Error(`the Parquet writer cannot write ${why}`);
    if (!Number.isSafeInteger(options.rowGroupRows) || options.rowGroupRows < 1) {
      throw new Error(`row group rows must be a positive integer, got ${options.rowGroupRows}`);
    }
    this.#fields = schema.fields;
    this.#kinds = schema.fields.map((f) => kindOf(f.type));
    this.#plain = new Set(options.plainColumns);
    this.#chunks = this.#newChunks();
    this.#compress = compressorFor(options.codec, options.level);
    this.#write(MAGIC.slice());
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows;
  }

  #newChunks(): ColumnChunk[] {
    return this.#kinds.map((k, c) =>
      new ColumnChunk(k, k.byteArray === true && !this.#plain.has(this.#fields[c]!.name))
    );
  }

  #write(bytes: Uint8Array): void {
    this.#offset += bytes.length;
    this.emit(bytes);
  }

  /** Encodes `batch` (columns as the schema). Keeps no reference to the batch's buffers. */
  write(batch: arrow.RecordBatch): void {
    if (batch.numCols !== this.#kinds.length) {
      throw new Error(`batch has ${batch.numCols} columns, the file ${this.#kinds.length}`);
    }
    const n = batch.numRows;
    let from = 0;
    while (from < n) {
      const take = Math.min(n - from, this.options.rowGroupRows - this.#groupRows, PAGE_ROWS);
      for (let c = 0; c < this.#kinds.length; c++) {
        this.#dataPage(c, batch.data.children[c]!, from, from + take);
      }
      from += take;
      this.#groupRows += take;
      this.#rows += take;
      if (this.#groupRows >= this.options.rowGroupRows) this.#flushGroup();
    }
  }

  /** Writes the last row group and the footer; the file is complete after this. */
  finish(): void {
    if (this.#groupRows > 0) this.#flushGroup();
    const footer = this.#footer();
    const tail = new Uint8Array(footer.length + 8);
    tail.set(footer, 0);
    new DataView(tail.buffer).setUint32(footer.length, footer.length, true);
    tail.set(MAGIC, footer.length + 4);
    this.#write(tail);
  }

  /** One data page of rows [from, to) of column `c`. */
  #dataPage(c: number, data: arrow.Data, from: number, to: number): void {
    const chunk = this.#chunks[c]!;
    const field = this.#fields[c]!;
    const bitmap = data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0
      ? data.nullBitmap
      : null;
    const nulls = bitmap ? countNulls(bitmap, data.offset, from, to) : 0;
    const slice: Slice = {
      data,
      from,
      to,
      bitmap: nulls > 0 ? bitmap : null,
      offset: data.offset,
      nulls,
    };
    const out = this.#page;
    out.pos = 0;
    if (field.nullable) writeDefLevels(slice, out);
    else if (nulls > 0) {
      throw new Error(`column '${field.name}' is declared NOT NULL but has ${nulls} null(s)`);
    }
    const valuesAt = out.pos;
    let encoding = Encoding.Plain;
    if (chunk.dictActive && this.#dictionaryIndices(chunk, slice, out)) {
      encoding = Encoding.RleDictionary;
      chunk.usedDictionary = true;
    } else {
      out.pos = valuesAt;
      chunk.kind.plain(slice, out, chunk.stats);
      chunk.usedPlain = true;
    }
    chunk.values += to - from;
    chunk.nulls += nulls;
    chunk.nonNull += to - from - nulls;
    const page = this.#encodePage(PageType.Data, to - from, encoding, out.buf.subarray(0, out.pos));
    chunk.pages.push(page.bytes);
    chunk.uncompressed += page.uncompressed;
    chunk.compressed += page.bytes.length;
  }

  /**
   * Writes the slice's values as dictionary indices; false when the dictionary grew too large or
   * too distinct, after which the chunk's pages are PLAIN (pages already written keep their
   * indices: the dictionary, with any values this page added, is still written).
   */
  #dictionaryIndices(chunk: ColumnChunk, s: Slice, out: Bytes): boolean {
    const dict = chunk.dict!;
    const bytes = s.data.values as Uint8Array;
    const offs = s.data.valueOffsets as Int32Array;
    const n = s.to - s.from - s.nulls;
    if (this.#idx.length < n) this.#idx = new Int32Array(n);
    const idx = this.#idx;
    let k = 0;
    for (let i = s.from; i < s.to; i++) {
      if (s.bitmap && !isValid(s, i)) continue;
      idx[k++] = dict.indexOf(bytes, offs[i]!, offs[i + 1]!);
    }
    const seen = chunk.nonNull + n;
    if (
      dict.used > DICTIONARY_BYTES ||
      (seen >= 1024 && dict.size > DICTIONARY_DISTINCT_SHARE * seen)
    ) {
      chunk.dictActive = false;
      if (!chunk.usedDictionary) chunk.dict = null;
      return false;
    }
    writeIndices(idx, n, dict.size, out);
    foldByteArrayStats(s, chunk.stats);
    return true;
  }

  #encodePage(type: PageType, values: number, encoding: Encoding, body: Uint8Array): EncodedPage {
    const packed = this.#compress(body);
    const w = new ThriftWriter();
    w.i32(1, type).i32(2, body.length).i32(3, packed.length);
    if (type === PageType.Data) {
      w.struct(
        5,
        (d) => d.i32(1, values).i32(2, encoding).i32(3, Encoding.Rle).i32(4, Encoding.Rle),
      );
    } else w.struct(7, (d) => d.i32(1, values).i32(2, Encoding.Plain));
    const header = w.end();
    const bytes = new Uint8Array(header.length + packed.length);
    bytes.set(header, 0);
    bytes.set(packed, header.length);
    return { bytes, uncompressed: header.length + body.length };
  }

  /** Emits the open row group: per column, the dictionary page (if any), then its data pages. */
  #flushGroup(): void {
    const groupOffset = this.#offset;
    const chunkPages: Uint8Array[][] = [];
    const metas: ChunkMeta[] = [];
    let at = groupOffset;
    let uncompressedTotal = 0;
    for (const chunk of this.#chunks) {
      const pages: Uint8Array[] = [];
      let uncompressed = chunk.uncompressed;
      let compressed = chunk.compressed;
      let dictionaryPageOffset: number | null = null;
      if (chunk.usedDictionary && chunk.dict) {
        const out = this.#page;
        out.pos = 0;
        chunk.dict.plain(out);
        const dict = this.#encodePage(
          PageType.Dictionary,
          chunk.dict.size,
          Encoding.Plain,
          out.buf.subarray(0, out.pos),
        );
        pages.push(dict.bytes);
        uncompressed += dict.uncompressed;
        compressed += dict.bytes.length;
        dictionaryPageOffset = at;
      }
      const dataPageOffset = at + (pages[0]?.length ?? 0);
      pages.push(...chunk.pages);
      const encodings: number[] = [Encoding.Plain, Encoding.Rle];
      if (chunk.usedDictionary) encodings.push(Encoding.RleDictionary);
      metas.push({
        encodings,
        numValues: chunk.values,
        uncompressed,
        compressed,
        dataPageOffset,
        dictionaryPageOffset,
        nullCount: chunk.nulls,
        ...chunkMinMax(chunk.stats),
      });
      chunkPages.push(pages);
      at += compressed;
      uncompressedTotal += uncompressed;
    }
    const bytes = new Uint8Array(at - groupOffset);
    let p = 0;
    for (const pages of chunkPages) {
      for (const page of pages) {
        bytes.set(page, p);
        p += page.length;
      }
    }
    this.#groups.push({
      columns: metas,
      rows: this.#groupRows,
      offset: groupOffset,
      uncompressed: uncompressedTotal,
      compressed: bytes.length,
    });
    this.#write(bytes);
    this.#chunks = this.#newChunks();
    this.#groupRows = 0;
  }

  #footer(): Uint8Array {
    const w = new ThriftWriter();
    w.i32(1, 1);
    const root = { name: "arrow_schema" };
    w.listStruct(2, [root, ...this.#fields.map((f, c) => ({ f, c }))], (e, el) => {
      if (!("f" in el)) {
        e.string(4, el.name).i32(5, this.#fields.length);
        return;
      }
      const kind = this.#kinds[el.c]!;
      e.i32(1, kind.physical);
      if (kind.typeLength !== undefined) e.i32(2, kind.typeLength);
      e.i32(3, el.f.nullable ? 1 : 0).string(4, el.f.name);
      kind.annotate?.(e);
    });
    w.i64(3, this.#rows);
    w.listStruct(4, this.#groups.map((g, ordinal) => ({ g, ordinal })), (gw, { g, ordinal }) => {
      gw.listStruct(1, g.columns.map((m, c) => ({ m, c })), (cc, { m, c }) => {
        cc.i64(2, (m.dictionaryPageOffset ?? m.dataPageOffset) + m.compressed);
        cc.struct(3, (md) => {
          md.i32(1, this.#kinds[c]!.physical)
            .listI32(2, m.encodings)
            .listString(3, [this.#fields[c]!.name])
            .i32(4, CODEC_ID[this.options.codec])
            .i64(5, m.numValues)
            .i64(6, m.uncompressed)
            .i64(7, m.compressed)
            .i64(9, m.dataPageOffset);
          if (m.dictionaryPageOffset !== null) md.i64(11, m.dictionaryPageOffset);
          md.struct(12, (st) => {
            st.i64(3, m.nullCount);
            if (m.max) st.binary(5, m.max);
            if (m.min) st.binary(6, m.min);
          });
        });
      });
      gw.i64(2, g.uncompressed).i64(3, g.rows).i64(5, g.offset).i64(6, g.compressed);
      gw.i16(7, ordinal);
    });
    w.listStruct(5, [["ARROW:schema", arrowSchemaEntry(this.schema)] as const], (kv, [k, v]) => {
      kv.string(1, k).string(2, v);
    });
    w.string(6, `rivet version ${RIVET_VERSION}`);
    w.listStruct(7, this.#fields, (o) => o.struct(1, () => {}));
    return w.end().slice();
  }
}

/** The min/max a chunk's statistics carry: none after a NaN, or when either is too long. */
function chunkMinMax(st: Stats): { min: Uint8Array | null; max: Uint8Array | null } {
  const tooLong = (st.min?.length ?? 0) > MAX_STATISTICS_BYTES ||
    (st.max?.length ?? 0) > MAX_STATISTICS_BYTES;
  return st.poisoned || tooLong ? { min: null, max: null } : { min: st.min, max: st.max };
}

/** The `ARROW:schema` value: base64 of the IPC schema message (continuation, length, body). */
function arrowSchemaEntry(schema: arrow.Schema): string {
  const empty = new arrow.Table(schema);
  const ipc = arrow.tableToIPC(empty, "stream");
  const dv = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  const len = dv.getInt32(4, true);
  const message = ipc.subarray(0, 8 + len);
  let s = "";
  for (let i = 0; i < message.length; i++) s += String.fromCharCode(message[i]!);
  return btoa(s);
}

function compressorFor(
  codec: NativeCodec,
  level: number | undefined,
): (b: Uint8Array) => Uint8Array {
  if (codec === "zstd") {
    const params = { [zlib.constants.ZSTD_c_compressionLevel]: level ?? 1 };
    return (b) => zlib.zstdCompressSync(b, { params });
  }
  if (codec === "gzip") {
    const opts = { level: level ?? 6 };
    return (b) => zlib.gzipSync(b, opts);
  }
  return (b) => b.slice();
}
