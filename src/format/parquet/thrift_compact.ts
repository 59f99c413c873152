// Thrift compact protocol writer for Parquet's page headers and file footer (execution layer).
//
// Only what Parquet metadata needs: structs (nested, with field-id deltas), i32/i64 (zigzag
// varints), bool, binary/string and lists of those. Callers write fields in increasing id order;
// `struct` restores the enclosing field id when the nested struct ends.
import { GrowableBytes } from "../growable_bytes.ts";

const enum CompactType {
  True = 1,
  False = 2,
  Byte = 3,
  I16 = 4,
  I32 = 5,
  I64 = 6,
  Binary = 8,
  List = 9,
  Struct = 12,
}

const utf8 = new TextEncoder();

export class ThriftWriter {
  readonly #out = new GrowableBytes(256);
  #lastId = 0;
  readonly #ids: number[] = [];

  /** The bytes written so far (a view; copy before writing more). */
  bytes(): Uint8Array {
    return this.#out.bytes();
  }

  #byte(b: number): void {
    this.#out.byte(b);
  }

  #varint(n: number): void {
    this.#out.varint(n);
  }

  /** Zigzag varint of a safe integer (i32 and i64 share it). */
  #zigzag(n: number): void {
    this.#varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  #field(id: number, type: CompactType): void {
    const delta = id - this.#lastId;
    if (delta > 0 && delta <= 15) this.#byte((delta << 4) | type);
    else {
      this.#byte(type);
      this.#zigzag(id);
    }
    this.#lastId = id;
  }

  i16(id: number, v: number): this {
    this.#field(id, CompactType.I16);
    this.#zigzag(v);
    return this;
  }

  i32(id: number, v: number): this {
    this.#field(id, CompactType.I32);
    this.#zigzag(v);
    return this;
  }

  i64(id: number, v: number): this {
    this.#field(id, CompactType.I64);
    this.#zigzag(v);
    return this;
  }

  /** A one-byte integer field (Parquet's `i8`, e.g. IntType.bitWidth). */
  i8(id: number, v: number): this {
    this.#field(id, CompactType.Byte);
    this.#byte(v & 0xff);
    return this;
  }

  bool(id: number, v: boolean): this {
    this.#field(id, v ? CompactType.True : CompactType.False);
    return this;
  }

  binary(id: number, v: Uint8Array): this {
    this.#field(id, CompactType.Binary);
    this.#varint(v.length);
    this.#out.append(v);
    return this;
  }

  string(id: number, v: string): this {
    return this.binary(id, utf8.encode(v));
  }

  /** A struct field whose fields `body` writes. */
  struct(id: number, body: (w: this) => void): this {
    this.#field(id, CompactType.Struct);
    this.#ids.push(this.#lastId);
    this.#lastId = 0;
    body(this);
    this.#byte(0); // stop
    this.#lastId = this.#ids.pop()!;
    return this;
  }

  #listHeader(size: number, type: CompactType): void {
    if (size < 15) this.#byte((size << 4) | type);
    else {
      this.#byte(0xf0 | type);
      this.#varint(size);
    }
  }

  listI32(id: number, values: readonly number[]): this {
    this.#field(id, CompactType.List);
    this.#listHeader(values.length, CompactType.I32);
    for (const v of values) this.#zigzag(v);
    return this;
  }

  listString(id: number, values: readonly string[]): this {
    this.#field(id, CompactType.List);
    this.#listHeader(values.length, CompactType.Binary);
    for (const v of values) {
      const b = utf8.encode(v);
      this.#varint(b.length);
      this.#out.append(b);
    }
    return this;
  }

  /** A list of structs, each written by `item`. */
  listStruct<T>(id: number, items: readonly T[], item: (w: this, v: T) => void): this {
    this.#field(id, CompactType.List);
    this.#listHeader(items.length, CompactType.Struct);
    for (const v of items) {
      this.#ids.push(this.#lastId);
      this.#lastId = 0;
      item(this, v);
      this.#byte(0);
      this.#lastId = this.#ids.pop()!;
    }
    return this;
  }

  /** Ends the top-level struct. */
  end(): Uint8Array {
    this.#byte(0);
    return this.bytes();
  }
}
