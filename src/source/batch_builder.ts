// Column-wise builders that turn decoded cell values into Arrow record batches (execution layer, used by every source).
//
// Value conventions for `append` (null means SQL NULL):
//   bool: boolean | int16/int32/float32/float64: number | int64/uint64: bigint
//   decimal: bigint (the unscaled integer) | date: number (days since 1970-01-01)
//   time/timestamp/timestamp_tz: bigint (microseconds) | string: string | binary: Uint8Array
//   list: array of item values (items may be null)
import * as arrow from "apache-arrow";
import { arrowSchemaOf, arrowTypeOf, type ColumnSpec, type RivetType } from "./rivet_types.ts";

const encoder = new TextEncoder();

/**
 * A validity bitmap that is only materialised at the first NULL: columns without NULLs (the
 * common case) cost nothing per row. Bits past the current length are kept set.
 */
class Validity {
  bits: Uint8Array | null = null;
  nulls = 0;
  /** Call before appending a valid row `i` (only does work once a NULL was seen). */
  valid(i: number): void {
    if (this.bits !== null && i >> 3 >= this.bits.length) this.#grow(i);
  }
  setNull(i: number): void {
    if (this.bits === null) {
      this.bits = new Uint8Array(Math.max(64, (i >> 3) + 1) * 2).fill(0xff);
    } else if (i >> 3 >= this.bits.length) this.#grow(i);
    this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }
  #grow(i: number): void {
    const old = this.bits!;
    const next = new Uint8Array(Math.max(old.length * 2, (i >> 3) + 1)).fill(0xff);
    next.set(old);
    this.bits = next;
  }
  take(length: number): { nullBitmap: Uint8Array | undefined; nullCount: number } {
    if (this.nulls === 0 || this.bits === null) return { nullBitmap: undefined, nullCount: 0 };
    return { nullBitmap: this.bits.slice(0, (length + 7) >> 3), nullCount: this.nulls };
  }
}

type TypedArray =
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Uint32Array
  | Uint8Array;
type TypedCtor<T extends TypedArray> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
};

/** Rows a new batch's buffers are sized for: the previous batch's length, within bounds. */
function capacityFor(previousRows: number): number {
  return Math.min(Math.max(previousRows, 1024), 1 << 20);
}

export interface ColumnBuilder {
  readonly length: number;
  /** Approximate bytes held so far (for batch sizing). */
  readonly byteSize: number;
  append(value: unknown): void;
  appendNull(): void;
  /** Returns the built column and resets the builder for the next batch. */
  finish(): arrow.Data;
}

/**
 * Fixed-width values in one growable byte buffer with typed views over it. Besides `append`,
 * sources may `reserve()` the next (valid) slot and write its little-endian bytes straight into
 * `bytes` (or words into `words`), which avoids any per-cell allocation.
 */
export class FixedWidthBuilder implements ColumnBuilder {
  bytes!: Uint8Array;
  /** 32-bit view of `bytes` (for 64-bit values: word 2i is the low half, 2i+1 the high half). */
  words!: Int32Array;
  #view!: { [i: number]: number | bigint };
  #validity = new Validity();
  #length = 0;

  constructor(
    readonly type: arrow.DataType,
    private readonly ctor: TypedCtor<TypedArray>,
    readonly width: number,
    private readonly zero: number | bigint,
  ) {
    this.#alloc(1024);
  }

  #alloc(rows: number): void {
    const buf = new ArrayBuffer(rows * this.width);
    this.#adopt(buf);
  }

  #adopt(buf: ArrayBuffer): void {
    this.bytes = new Uint8Array(buf);
    this.words = new Int32Array(buf, 0, buf.byteLength >> 2);
    this.#view = new this.ctor(buf, 0, buf.byteLength / this.width) as unknown as {
      [i: number]: number | bigint;
    };
  }

  #grow(): void {
    const old = this.bytes;
    const buf = new ArrayBuffer(old.length * 2);
    new Uint8Array(buf).set(old);
    this.#adopt(buf);
  }

  get length(): number {
    return this.#length;
  }

  get byteSize(): number {
    return this.#length * this.width;
  }

  /** Marks the next row valid and returns its index; write the value at that index next. */
  reserve(): number {
    const i = this.#length;
    if ((i + 1) * this.width > this.bytes.length) this.#grow();
    this.#validity.valid(i);
    this.#length = i + 1;
    return i;
  }

  /** Appends a number (for 8/16/32-bit ints and floats; for 64-bit ints when it is a safe integer). */
  appendNumber(v: number): void {
    const i = this.reserve();
    if (this.width === 8 && typeof this.zero === "bigint") {
      const hi = Math.floor(v / 4294967296);
      this.words[2 * i] = (v - hi * 4294967296) | 0;
      this.words[2 * i + 1] = hi | 0;
    } else this.#view[i] = v;
  }

  /** Appends a 64-bit integer given as its signed high and unsigned low 32-bit halves. */
  appendWords(hi: number, lo: number): void {
    const i = this.reserve();
    this.words[2 * i] = lo | 0;
    this.words[2 * i + 1] = hi | 0;
  }

  append(v: unknown): void {
    if (v === null || v === undefined) {
      this.appendNull();
      return;
    }
    if (typeof v === "number" && typeof this.zero === "bigint") {
      this.appendNumber(v); // a safe integer for a 64-bit column: no BigInt needed
      return;
    }
    const i = this.reserve();
    this.#view[i] = v as number | bigint;
  }

  appendNull(): void {
    const i = this.#length;
    if ((i + 1) * this.width > this.bytes.length) this.#grow();
    this.#view[i] = this.zero;
    this.#validity.setNull(i);
    this.#length = i + 1;
  }

  finish(): arrow.Data {
    const length = this.#length;
    // Hand over a view of the filled part: no copy. The next batch gets a right-sized buffer.
    const data = arrow.makeData({
      type: this.type,
      length,
      data: new this.ctor(this.bytes.buffer as ArrayBuffer, 0, length),
      ...this.#validity.take(length),
    } as never) as arrow.Data;
    this.#alloc(capacityFor(length));
    this.#validity = new Validity();
    this.#length = 0;
    return data;
  }
}

function numberBuilder(
  type: arrow.DataType,
  ctor: TypedCtor<TypedArray>,
  width: number,
  zero: number | bigint,
): FixedWidthBuilder {
  return new FixedWidthBuilder(type, ctor, width, zero);
}

export class BoolBuilder implements ColumnBuilder {
  #values = new Uint8Array(128);
  #validity = new Validity();
  #length = 0;

  get length(): number {
    return this.#length;
  }
  get byteSize(): number {
    return this.#length >> 2;
  }
  appendBool(b: boolean): void {
    const i = this.#length;
    if (i >> 3 >= this.#values.length) {
      const next = new Uint8Array(this.#values.length * 2);
      next.set(this.#values);
      this.#values = next;
    }
    this.#validity.valid(i);
    if (b) this.#values[i >> 3]! |= 1 << (i & 7);
    this.#length = i + 1;
  }
  append(v: unknown): void {
    if (v === null || v === undefined) this.appendNull();
    else this.appendBool(v === true);
  }
  appendNull(): void {
    this.appendBool(false);
    this.#validity.setNull(this.#length - 1);
  }
  finish(): arrow.Data {
    const length = this.#length;
    const data = arrow.makeData({
      type: new arrow.Bool(),
      length,
      data: this.#values.subarray(0, (length + 7) >> 3),
      ...this.#validity.take(length),
    });
    this.#values = new Uint8Array((capacityFor(length) + 7) >> 3);
    this.#validity = new Validity();
    this.#length = 0;
    return data;
  }
}

const MASK32 = 0xffffffffn;
const TWO32 = 4294967296;

export class DecimalBuilder implements ColumnBuilder {
  readonly #words: number;
  #values: Uint32Array;
  #validity = new Validity();
  #length = 0;
  readonly #limit: bigint;

  constructor(readonly type: arrow.Decimal) {
    this.#words = type.bitWidth / 32;
    this.#values = new Uint32Array(1024 * this.#words);
    this.#limit = 1n << BigInt(type.bitWidth - 1);
  }

  get length(): number {
    return this.#length;
  }
  get byteSize(): number {
    return this.#length * this.#words * 4;
  }

  #slot(): number {
    const words = this.#words;
    const base = this.#length * words;
    if (base + words > this.#values.length) {
      const next = new Uint32Array(this.#values.length * 2);
      next.set(this.#values);
      this.#values = next;
    }
    return base;
  }

  /**
   * Appends an unscaled value that is a safe integer (|v| < 2^53), without a BigInt (callers
   * check the precision; 2^53 fits every Decimal128/256).
   */
  appendSafeInteger(v: number): void {
    const base = this.#slot();
    const buf = this.#values;
    const hi = Math.floor(v / TWO32);
    buf[base] = v - hi * TWO32;
    buf[base + 1] = hi >>> 0;
    const ext = hi < 0 ? 0xffffffff : 0;
    for (let w = 2; w < this.#words; w++) buf[base + w] = ext;
    this.#validity.valid(this.#length);
    this.#length++;
  }

  append(v: unknown): void {
    if (v === null || v === undefined) {
      this.appendNull();
      return;
    }
    if (typeof v === "number") {
      this.appendSafeInteger(v);
      return;
    }
    let x = v as bigint;
    if (x >= this.#limit || x < -this.#limit) throw new RangeError(`decimal value ${x} overflows`);
    const base = this.#slot();
    const buf = this.#values;
    if (x < 0n) x += 1n << BigInt(this.type.bitWidth);
    for (let w = 0; w < this.#words; w++) {
      buf[base + w] = Number(x & MASK32);
      x >>= 32n;
    }
    this.#validity.valid(this.#length);
    this.#length++;
  }

  appendNull(): void {
    const base = this.#slot();
    this.#values.fill(0, base, base + this.#words);
    this.#validity.setNull(this.#length);
    this.#length++;
  }

  finish(): arrow.Data {
    const length = this.#length;
    const data = arrow.makeData({
      type: this.type,
      length,
      data: this.#values.subarray(0, length * this.#words),
      ...this.#validity.take(length),
    });
    this.#values = new Uint32Array(capacityFor(length) * this.#words);
    this.#validity = new Validity();
    this.#length = 0;
    return data;
  }
}

/** Utf8/Binary values: offsets plus one byte buffer that values are copied into. */
export class VarBinaryBuilder implements ColumnBuilder {
  #bytes = new Uint8Array(16 * 1024);
  #offsets = new Int32Array(1025);
  #validity = new Validity();
  #length = 0;
  #used = 0;
  readonly #isUtf8: boolean;

  constructor(readonly type: arrow.Utf8 | arrow.Binary) {
    this.#isUtf8 = type instanceof arrow.Utf8;
  }

  get length(): number {
    return this.#length;
  }
  get byteSize(): number {
    return this.#used + this.#length * 4;
  }

  #room(n: number): Uint8Array {
    if (this.#used + n > this.#bytes.length) {
      const next = new Uint8Array(Math.max(this.#bytes.length * 2, this.#used + n));
      next.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = next;
    }
    return this.#bytes;
  }

  #end(): void {
    const i = this.#length;
    if (i + 2 > this.#offsets.length) {
      const next = new Int32Array(this.#offsets.length * 2);
      next.set(this.#offsets);
      this.#offsets = next;
    }
    if (this.#used > 0x7fffffff) throw new RangeError("column exceeds 2 GiB in one batch");
    this.#offsets[i + 1] = this.#used;
    this.#length = i + 1;
  }

  /** Appends `src[start, end)` as one value (UTF-8 for a Utf8 column). */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    const buf = this.#room(n);
    if (n < 48) {
      let p = this.#used;
      for (let k = start; k < end; k++) buf[p++] = src[k]!;
    } else buf.set(src.subarray(start, end), this.#used);
    this.#used += n;
    this.#validity.valid(this.#length);
    this.#end();
  }

  append(v: unknown): void {
    if (v === null || v === undefined) {
      this.appendNull();
      return;
    }
    if (this.#isUtf8 && typeof v === "string") {
      // Worst case 3 bytes per UTF-16 unit.
      const buf = this.#room(v.length * 3);
      this.#used += encoder.encodeInto(v, buf.subarray(this.#used)).written;
    } else {
      const b = v as Uint8Array;
      this.#room(b.length).set(b, this.#used);
      this.#used += b.length;
    }
    this.#validity.valid(this.#length);
    this.#end();
  }

  appendNull(): void {
    this.#validity.setNull(this.#length);
    this.#end();
  }

  finish(): arrow.Data {
    const length = this.#length;
    const used = this.#used;
    const data = arrow.makeData({
      type: this.type,
      length,
      valueOffsets: this.#offsets.subarray(0, length + 1),
      data: this.#bytes.subarray(0, used),
      ...this.#validity.take(length),
    } as never) as arrow.Data;
    const rows = capacityFor(length);
    this.#offsets = new Int32Array(rows + 1);
    // Next batch: about as many bytes as this one per row, at least 16 KiB.
    this.#bytes = new Uint8Array(
      Math.max(16 * 1024, Math.min(used, Math.ceil((used / Math.max(1, length)) * rows) + 1024)),
    );
    this.#validity = new Validity();
    this.#length = 0;
    this.#used = 0;
    return data;
  }
}

class ListBuilder implements ColumnBuilder {
  readonly #child: ColumnBuilder;
  #offsets = new Int32Array(1025);
  #validity = new Validity();
  #length = 0;

  constructor(readonly type: arrow.List, item: RivetType) {
    this.#child = builderFor(item);
  }

  get length(): number {
    return this.#length;
  }
  get byteSize(): number {
    return this.#child.byteSize + this.#length * 4;
  }

  #end(): void {
    const i = this.#length;
    if (i + 2 > this.#offsets.length) {
      const next = new Int32Array(this.#offsets.length * 2);
      next.set(this.#offsets);
      this.#offsets = next;
    }
    this.#offsets[i + 1] = this.#child.length;
    this.#length = i + 1;
  }

  append(v: unknown): void {
    if (v === null || v === undefined) {
      this.appendNull();
      return;
    }
    this.#validity.valid(this.#length);
    for (const item of v as unknown[]) this.#child.append(item);
    this.#end();
  }

  appendNull(): void {
    this.#validity.setNull(this.#length);
    this.#end();
  }

  finish(): arrow.Data {
    const length = this.#length;
    const data = arrow.makeData({
      type: this.type,
      length,
      valueOffsets: this.#offsets.slice(0, length + 1),
      child: this.#child.finish(),
      ...this.#validity.take(length),
    } as never) as arrow.Data;
    this.#offsets = new Int32Array(1025);
    this.#validity = new Validity();
    this.#length = 0;
    return data;
  }
}

/** A builder for one column of the given Rivet type. */
export function builderFor(t: RivetType): ColumnBuilder {
  const type = arrowTypeOf(t);
  switch (t.kind) {
    case "bool":
      return new BoolBuilder();
    case "int16":
      return numberBuilder(type, Int16Array, 2, 0);
    case "int32":
    case "date":
      return numberBuilder(type, Int32Array, 4, 0);
    case "int64":
    case "time":
    case "timestamp":
    case "timestamp_tz":
      return numberBuilder(type, BigInt64Array, 8, 0n);
    case "uint64":
      return numberBuilder(type, BigUint64Array, 8, 0n);
    case "float32":
      return numberBuilder(type, Float32Array, 4, 0);
    case "float64":
      return numberBuilder(type, Float64Array, 8, 0);
    case "decimal":
      return new DecimalBuilder(type as arrow.Decimal);
    case "string":
      return new VarBinaryBuilder(type as arrow.Utf8);
    case "binary":
      return new VarBinaryBuilder(type as arrow.Binary);
    case "list":
      return new ListBuilder(type as arrow.List, t.item);
  }
}

/** Builds record batches row by row for a fixed list of columns. */
export class BatchBuilder {
  readonly schema: arrow.Schema;
  readonly columns: readonly ColumnBuilder[];
  #rows = 0;

  constructor(readonly specs: readonly ColumnSpec[]) {
    this.schema = arrowSchemaOf(specs);
    this.columns = specs.map((s) => builderFor(s.type));
  }

  get rows(): number {
    return this.#rows;
  }

  /** Approximate bytes buffered in the current batch. */
  get byteSize(): number {
    let n = 0;
    for (const c of this.columns) n += c.byteSize;
    return n;
  }

  /** Call after appending one value to every column. */
  endRow(): void {
    this.#rows++;
  }

  /** The current batch; resets the builder. */
  finish(): arrow.RecordBatch {
    const children = this.columns.map((c) => c.finish());
    const data = arrow.makeData({
      type: new arrow.Struct(this.schema.fields),
      length: this.#rows,
      nullCount: 0,
      children,
    });
    this.#rows = 0;
    return new arrow.RecordBatch(this.schema, data);
  }
}
