// Canonical, injective byte rendering of Arrow cell values, shared by the row hash and the uniqueness check (execution layer).
//
// A cell renders as one byte `0x00` when it is NULL, else `0x01` followed by its value:
//
//   value  = tag value-bytes
//   tag    = Arrow type id (1 byte) + one sub-byte that pins the physical layout:
//            Int: bit width | 0x80 when signed; Float: precision (0 half, 1 single, 2 double);
//            Decimal: bit width / 8; Date/Time/Timestamp: unit (| 0x80 for a Timestamp with a
//            time zone); Utf8/Binary (and Large*, FixedSizeBinary): 0; List: 0
//   bytes  = Bool: 1 byte 0/1
//            fixed-width numbers, decimals, dates, times, timestamps: the stored value,
//            little-endian, at its full width (decimals as the unscaled two's complement integer,
//            so they are exact; the scale is fixed by the column type)
//            floats: IEEE 754 bits little-endian; every NaN becomes the quiet NaN; -0 stays -0
//            Utf8/Binary/FixedSizeBinary: byte length (u32 LE) + the raw bytes
//            List: item count (u32 LE) + each item rendered as a cell (0x00 | 0x01 value)
//
// Every value rendering is self-delimiting, so a sequence of cells is injective; the tag keeps
// values of different types apart (int32 1, int64 1 and "1" all differ). The rendering depends
// only on the values and the column types, never on batch boundaries or offsets.
import * as arrow from "apache-arrow";
import { RivetError } from "../errors.ts";

/** A growable byte buffer reused across rows. */
export class ByteSink {
  buf = new Uint8Array(256);
  length = 0;

  reset(): void {
    this.length = 0;
  }

  /** Makes room for `n` more bytes and returns the (possibly new) buffer. */
  reserve(n: number): Uint8Array {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    return this.buf;
  }

  byte(b: number): void {
    this.reserve(1)[this.length++] = b;
  }

  u32(n: number): void {
    const buf = this.reserve(4);
    const at = this.length;
    buf[at] = n & 0xff;
    buf[at + 1] = (n >>> 8) & 0xff;
    buf[at + 2] = (n >>> 16) & 0xff;
    buf[at + 3] = (n >>> 24) & 0xff;
    this.length += 4;
  }

  bytes(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.reserve(n).set(src.subarray(from, to), this.length);
    this.length += n;
  }

  /** The bytes written since the last reset (a view, valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Writes the canonical rendering of cell `row` of one column (with its NULL/value marker). */
export type CellWriter = (row: number, out: ByteSink) => void;

/** True when cell `row` of `data` is valid (not NULL). */
export function isValid(data: arrow.Data, row: number): boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return true;
  const bit = data.offset + row;
  return (bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

/** Bytes per value of a fixed-width Arrow type, or 0 when the type is not fixed-width. */
export function fixedWidthOf(type: arrow.DataType): number {
  const T = arrow.DataType;
  if (T.isInt(type)) return type.bitWidth / 8;
  if (T.isFloat(type)) return type.precision === 0 ? 2 : type.precision === 1 ? 4 : 8;
  if (T.isDecimal(type)) return type.bitWidth / 8;
  if (T.isDate(type)) return type.unit === arrow.DateUnit.DAY ? 4 : 8;
  if (T.isTime(type)) return type.bitWidth / 8;
  if (T.isTimestamp(type)) return 8;
  if (T.isDuration(type)) return 8;
  return 0;
}

/** The two tag bytes of a type (see the module comment). */
export function typeTag(type: arrow.DataType): [number, number] {
  const T = arrow.DataType;
  const id = type.typeId & 0xff;
  if (T.isInt(type)) return [id, type.bitWidth | (type.isSigned ? 0x80 : 0)];
  if (T.isFloat(type)) return [id, type.precision];
  if (T.isDecimal(type)) return [id, type.bitWidth / 8];
  if (T.isDate(type) || T.isTime(type) || T.isDuration(type)) return [id, type.unit];
  if (T.isTimestamp(type)) return [id, type.unit | (type.timezone ? 0x80 : 0)];
  return [id, 0];
}

/** The value bytes of a fixed-width column as one byte array indexed from the column's row 0. */
function valueBytes(data: arrow.Data): Uint8Array {
  const v = data.values as ArrayBufferView;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A writer of canonical cell renderings for one column's data. Throws for Arrow types Rivet
 * never produces (unions, maps, structs, dictionaries, intervals), naming the column.
 */
export function cellWriter(data: arrow.Data, column: string): CellWriter {
  const value = valueWriter(data, column);
  return (row, out) => {
    if (!isValid(data, row)) {
      out.byte(0x00);
      return;
    }
    out.byte(0x01);
    value(row, out);
  };
}

/** Like `cellWriter` but without the NULL marker: the caller has checked validity. */
export function valueWriter(data: arrow.Data, column: string): CellWriter {
  const type = data.type as arrow.DataType;
  const T = arrow.DataType;
  const [tag0, tag1] = typeTag(type);

  if (T.isBool(type)) {
    const bits = data.values as Uint8Array;
    const offset = data.offset;
    return (row, out) => {
      const bit = offset + row;
      const buf = out.reserve(3);
      buf[out.length] = tag0;
      buf[out.length + 1] = tag1;
      buf[out.length + 2] = (bits[bit >> 3]! >> (bit & 7)) & 1;
      out.length += 3;
    };
  }

  const width = fixedWidthOf(type);
  if (width > 0) {
    const bytes = valueBytes(data);
    const nan = T.isFloat(type) ? canonicalNaN(type.precision) : undefined;
    return (row, out) => {
      const buf = out.reserve(2 + width);
      let at = out.length;
      buf[at++] = tag0;
      buf[at++] = tag1;
      const from = row * width;
      if (nan && isNaNBits(bytes, from, width)) {
        buf.set(nan, at);
      } else {
        for (let k = 0; k < width; k++) buf[at + k] = bytes[from + k]!;
      }
      out.length = at + width;
    };
  }

  if (T.isUtf8(type) || T.isBinary(type) || T.isLargeUtf8(type) || T.isLargeBinary(type)) {
    const offsets = data.valueOffsets as Int32Array | BigInt64Array;
    const bytes = data.values as Uint8Array;
    const large = offsets instanceof BigInt64Array;
    return (row, out) => {
      const from = large ? Number(offsets[row]) : (offsets[row] as number);
      const to = large ? Number(offsets[row + 1]) : (offsets[row + 1] as number);
      out.byte(tag0);
      out.byte(tag1);
      out.u32(to - from);
      out.bytes(bytes, from, to);
    };
  }

  if (T.isFixedSizeBinary(type)) {
    const bytes = valueBytes(data);
    const w = type.byteWidth;
    return (row, out) => {
      out.byte(tag0);
      out.byte(tag1);
      out.u32(w);
      out.bytes(bytes, row * w, row * w + w);
    };
  }

  if (T.isList(type)) {
    const offsets = data.valueOffsets as Int32Array;
    const child = data.children[0];
    if (!child) throw unsupported(column, type);
    const item = cellWriter(child, column);
    return (row, out) => {
      const from = offsets[row]!;
      const to = offsets[row + 1]!;
      out.byte(tag0);
      out.byte(tag1);
      out.u32(to - from);
      for (let j = from; j < to; j++) item(j, out);
    };
  }

  throw unsupported(column, type);
}

function unsupported(column: string, type: arrow.DataType): RivetError {
  return new RivetError(
    `Cannot render column '${column}' of Arrow type ${type} for hashing: the type is not supported`,
    { exitClass: "internal", hint: "cast the column in the query to a supported type" },
  );
}

function canonicalNaN(precision: number): Uint8Array {
  if (precision === 0) return new Uint8Array([0x00, 0x7e]);
  if (precision === 1) return new Uint8Array([0x00, 0x00, 0xc0, 0x7f]);
  return new Uint8Array([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]);
}

/** True when the little-endian IEEE 754 value at `from` is a NaN. */
export function isNaNBits(bytes: Uint8Array, from: number, width: number): boolean {
  if (width === 8) {
    const hi = bytes[from + 7]! & 0x7f;
    const b6 = bytes[from + 6]!;
    if (hi !== 0x7f || (b6 & 0xf0) !== 0xf0) return false;
    return (b6 & 0x0f) !== 0 || bytes[from + 5]! !== 0 || bytes[from + 4]! !== 0 ||
      bytes[from + 3]! !== 0 || bytes[from + 2]! !== 0 || bytes[from + 1]! !== 0 ||
      bytes[from]! !== 0;
  }
  if (width === 4) {
    const hi = bytes[from + 3]! & 0x7f;
    const b2 = bytes[from + 2]!;
    if (hi !== 0x7f || (b2 & 0x80) === 0) return false;
    return (b2 & 0x7f) !== 0 || bytes[from + 1]! !== 0 || bytes[from]! !== 0;
  }
  const hi = bytes[from + 1]! & 0x7f;
  if ((hi & 0x7c) !== 0x7c) return false;
  return (hi & 0x03) !== 0 || bytes[from]! !== 0;
}
