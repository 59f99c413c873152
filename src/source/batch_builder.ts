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

/** Grows a validity bitmap one bit per row. */
class Validity {
  bits = new Uint8Array(64);
  nulls = 0;
  set(i: number, valid: boolean): void {
    const byte = i >> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(this.bits.length * 2, byte + 1));
      next.set(this.bits);
      this.bits = next;
    }
    if (valid) this.bits[byte]! |= 1 << (i & 7);
    else this.nulls++;
  }
  take(length: number): { nullBitmap: Uint8Array | undefined; nullCount: number } {
    if (this.nulls === 0) return { nullBitmap: undefined, nullCount: 0 };
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
type TypedCtor<T extends TypedArray> = { new (n: number): T };

/** A growable typed array. */
class Growable<T extends TypedArray> {
  buf: T;
  constructor(private readonly ctor: TypedCtor<T>, initial = 1024) {
    this.buf = new ctor(initial);
  }
  ensure(n: number): T {
    if (n > this.buf.length) {
      const next = new this.ctor(Math.max(this.buf.length * 2, n));
      (next as unknown as { set(a: T): void }).set(this.buf);
      this.buf = next;
    }
    return this.buf;
  }
  slice(n: number): T {
    return this.buf.slice(0, n) as T;
  }
}

export interface ColumnBuilder {
  readonly length: number;
  /** Approximate bytes held so far (for batch sizing). */
  readonly byteSize: number;
  append(value: unknown): void;
  /** Returns the built column and resets the builder for the next batch. */
  finish(): arrow.Data;
}

function numberBuilder<T extends TypedArray>(
  type: arrow.DataType,
  ctor: TypedCtor<T>,
  width: number,
  zero: number | bigint,
): ColumnBuilder {
  let values = new Growable(ctor);
  let validity = new Validity();
  let length = 0;
  return {
    get length() {
      return length;
    },
    get byteSize() {
      return length * width;
    },
    append(v: unknown) {
      const buf = values.ensure(length + 1) as unknown as { [i: number]: number | bigint };
      if (v === null || v === undefined) {
        buf[length] = zero;
        validity.set(length, false);
      } else {
        buf[length] = v as number | bigint;
        validity.set(length, true);
      }
      length++;
    },
    finish() {
      const data = arrow.makeData({
        type,
        length,
        data: values.slice(length),
        ...validity.take(length),
      } as never) as arrow.Data;
      values = new Growable(ctor);
      validity = new Validity();
      length = 0;
      return data;
    },
  };
}

function boolBuilder(): ColumnBuilder {
  let values = new Validity();
  let validity = new Validity();
  let length = 0;
  return {
    get length() {
      return length;
    },
    get byteSize() {
      return length >> 2;
    },
    append(v: unknown) {
      const isNull = v === null || v === undefined;
      values.set(length, !isNull && v === true);
      validity.set(length, !isNull);
      length++;
    },
    finish() {
      const data = arrow.makeData({
        type: new arrow.Bool(),
        length,
        data: values.bits.slice(0, (length + 7) >> 3),
        ...validity.take(length),
      });
      values = new Validity();
      validity = new Validity();
      length = 0;
      return data;
    },
  };
}

const MASK32 = 0xffffffffn;

function decimalBuilder(type: arrow.Decimal): ColumnBuilder {
  const words = type.bitWidth / 32;
  let values = new Growable(Uint32Array, 1024 * words);
  let validity = new Validity();
  let length = 0;
  const limit = 1n << BigInt(type.bitWidth - 1);
  return {
    get length() {
      return length;
    },
    get byteSize() {
      return length * words * 4;
    },
    append(v: unknown) {
      const buf = values.ensure((length + 1) * words);
      const base = length * words;
      if (v === null || v === undefined) {
        buf.fill(0, base, base + words);
        validity.set(length, false);
      } else {
        let x = v as bigint;
        if (x >= limit || x < -limit) throw new RangeError(`decimal value ${x} overflows`);
        if (x < 0n) x += 1n << BigInt(type.bitWidth);
        for (let w = 0; w < words; w++) {
          buf[base + w] = Number(x & MASK32);
          x >>= 32n;
        }
        validity.set(length, true);
      }
      length++;
    },
    finish() {
      const data = arrow.makeData({
        type,
        length,
        data: values.slice(length * words),
        ...validity.take(length),
      });
      values = new Growable(Uint32Array, 1024 * words);
      validity = new Validity();
      length = 0;
      return data;
    },
  };
}

function varBinaryBuilder(type: arrow.Utf8 | arrow.Binary): ColumnBuilder {
  let bytes = new Growable(Uint8Array, 16 * 1024);
  let offsets = new Growable(Int32Array);
  let validity = new Validity();
  let length = 0;
  let used = 0;
  const isUtf8 = type instanceof arrow.Utf8;
  return {
    get length() {
      return length;
    },
    get byteSize() {
      return used + length * 4;
    },
    append(v: unknown) {
      const offs = offsets.ensure(length + 2);
      if (length === 0) offs[0] = 0;
      if (v === null || v === undefined) {
        validity.set(length, false);
      } else {
        validity.set(length, true);
        if (isUtf8 && typeof v === "string") {
          // Worst case 3 bytes per UTF-16 unit.
          const buf = bytes.ensure(used + v.length * 3);
          used += encoder.encodeInto(v, buf.subarray(used)).written;
        } else {
          const b = v as Uint8Array;
          const buf = bytes.ensure(used + b.length);
          buf.set(b, used);
          used += b.length;
        }
        if (used > 0x7fffffff) throw new RangeError("column exceeds 2 GiB in one batch");
      }
      offs[length + 1] = used;
      length++;
    },
    finish() {
      const offs = length === 0 ? new Int32Array([0]) : offsets.slice(length + 1);
      const data = arrow.makeData({
        type,
        length,
        valueOffsets: offs,
        data: bytes.slice(used),
        ...validity.take(length),
      } as never) as arrow.Data;
      bytes = new Growable(Uint8Array, 16 * 1024);
      offsets = new Growable(Int32Array);
      validity = new Validity();
      length = 0;
      used = 0;
      return data;
    },
  };
}

function listBuilder(type: arrow.List, item: RivetType): ColumnBuilder {
  const child = builderFor(item);
  let offsets = new Growable(Int32Array);
  let validity = new Validity();
  let length = 0;
  return {
    get length() {
      return length;
    },
    get byteSize() {
      return child.byteSize + length * 4;
    },
    append(v: unknown) {
      const offs = offsets.ensure(length + 2);
      if (length === 0) offs[0] = 0;
      if (v === null || v === undefined) {
        validity.set(length, false);
      } else {
        validity.set(length, true);
        for (const item of v as unknown[]) child.append(item);
      }
      offs[length + 1] = child.length;
      length++;
    },
    finish() {
      const offs = length === 0 ? new Int32Array([0]) : offsets.slice(length + 1);
      const data = arrow.makeData({
        type,
        length,
        valueOffsets: offs,
        child: child.finish(),
        ...validity.take(length),
      } as never) as arrow.Data;
      offsets = new Growable(Int32Array);
      validity = new Validity();
      length = 0;
      return data;
    },
  };
}

/** A builder for one column of the given Rivet type. */
export function builderFor(t: RivetType): ColumnBuilder {
  const type = arrowTypeOf(t);
  switch (t.kind) {
    case "bool":
      return boolBuilder();
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
      return decimalBuilder(type as arrow.Decimal);
    case "string":
      return varBinaryBuilder(type as arrow.Utf8);
    case "binary":
      return varBinaryBuilder(type as arrow.Binary);
    case "list":
      return listBuilder(type as arrow.List, t.item);
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
