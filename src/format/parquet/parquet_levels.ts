// RLE / bit-packed hybrid runs (definition levels, dictionary indices) and the dictionary of a string column chunk, for the Parquet writer (execution layer).
import { GrowableBytes } from "../growable_bytes.ts";
import type { Slice } from "./parquet_columns.ts";

/** Definition levels (bit width 1) of rows [from, to): one RLE run, or one bit-packed run. */
export function writeDefLevels(s: Slice, out: GrowableBytes): void {
  const n = s.to - s.from;
  out.lengthPrefixed(() => {
    if (s.nulls === 0) {
      out.varint(n * 2); // RLE run of n ones
      out.byte(1);
      return;
    }
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
  });
}

/** The smallest bit width that holds `maxValue` (at least 1). */
export function bitWidthFor(maxValue: number): number {
  let w = 1;
  while (maxValue >= 2 ** w) w++;
  return w;
}

/** `count` dictionary indices as: bit width byte, one bit-packed run (padded to groups of 8). */
export function writeIndices(
  idx: Int32Array,
  count: number,
  dictSize: number,
  out: GrowableBytes,
): void {
  const w = bitWidthFor(Math.max(1, dictSize - 1));
  out.ensure(1);
  out.buf[out.pos++] = w;
  writeBitPacked(idx, count, w, out);
}

/** `count` values of `width` bits as one bit-packed run of the RLE/bit-packed hybrid. */
export function writeBitPacked(
  values: Int32Array | Uint8Array,
  count: number,
  w: number,
  out: GrowableBytes,
): void {
  const groups = (count + 7) >> 3;
  out.ensure(10 + groups * w);
  out.varint(groups * 2 + 1);
  const b = out.buf;
  let p = out.pos;
  let acc = 0;
  let bits = 0;
  const total = groups * 8;
  for (let k = 0; k < total; k++) {
    const v = k < count ? values[k]! : 0;
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

/** Levels of `width` bits as a v1 page section: a 4-byte length, then one bit-packed run. */
export function writeLevels(
  levels: Uint8Array,
  count: number,
  w: number,
  out: GrowableBytes,
): void {
  out.lengthPrefixed(() => writeBitPacked(levels, count, w, out));
}

/** The distinct values of a string/binary column chunk, found through an open-addressing hash. */
export class ByteDictionary {
  /** The distinct values, back to back (`offsets` delimits them). */
  readonly values = new GrowableBytes(1 << 14);
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
          const bytes = this.values.buf;
          while (k < n && bytes[s + k] === src[a + k]) k++;
          if (k === n) return i;
        }
      }
      slot = (slot + 1) & mask;
    }
    const i = this.size;
    this.values.append(src, a, e);
    if (i + 2 > this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
      const hs = new Int32Array(this.#hashes.length * 2);
      hs.set(this.#hashes);
      this.#hashes = hs;
    }
    this.offsets[i + 1] = this.values.pos;
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
  plain(out: GrowableBytes): void {
    for (let i = 0; i < this.size; i++) {
      const a = this.offsets[i]!;
      const e = this.offsets[i + 1]!;
      out.u32(e - a);
      out.append(this.values.buf, a, e);
    }
  }
}
