// Parquet file writer in TypeScript for flat Arrow schemas, compressing pages with the runtime's native zstd/gzip (execution layer).
//
// Why: parquet-wasm spent most of the encode worker's time (its zstd runs as wasm) and kept tens
// of MiB of wasm memory per worker. This writer produces the same file shape as parquet-wasm
// (arrow-rs) did for the types Rivet's sources emit: v1 data pages, PLAIN values, definition
// levels as RLE/bit-packed runs, dictionary pages for string/binary columns that repeat
// (RLE_DICTIONARY indices, falling back to PLAIN when the dictionary grows too large), column
// chunk statistics (min/max/null count), the same physical and logical types (decimals as
// INT32/INT64/FIXED_LEN_BYTE_ARRAY by precision) and the `ARROW:schema` footer entry that Arrow
// readers use to restore exact types. Lists of scalar items are three-level LIST columns with
// repetition levels; Decimal256 is FIXED_LEN_BYTE_ARRAY. Lists of lists and the snappy/lz4 codecs
// are not handled here: `nativeUnsupported` says so and the caller uses parquet-wasm for them.
//
// Layout of a file: "PAR1", then per row group the column chunks one after the other (each:
// optional dictionary page, data pages), then the Thrift footer, its length and "PAR1". A row
// group's compressed pages are held until the group is complete, then emitted as one chunk.
// Column types and PLAIN values: parquet_columns.ts; levels, indices, dictionary:
// parquet_levels.ts; Thrift encoding: thrift_compact.ts.
import * as zlib from "node:zlib";
import * as arrow from "apache-arrow";
import { CREATED_BY } from "./created_by.ts";
import { ThriftWriter } from "./thrift_compact.ts";
import { GrowableBytes } from "../growable_bytes.ts";
import {
  type ColumnKind,
  countNulls,
  foldByteArrayStats,
  isValid,
  kindOf,
  type Slice,
  type Stats,
  unsupportedType,
} from "./parquet_columns.ts";
import {
  bitWidthFor,
  ByteDictionary,
  writeDefLevels,
  writeIndices,
  writeLevels,
} from "./parquet_levels.ts";

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
/** String/binary pages are cut once their values pass this many bytes (arrow-rs: 1 MiB). */
const PAGE_BYTES = 1024 * 1024;

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
  readonly pages: EncodedPage[] = [];
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

/** A page ready to be written: its header and (compressed) body, copied into the file once. */
interface EncodedPage {
  readonly header: Uint8Array;
  readonly body: Uint8Array;
  /** Header plus uncompressed body, as Parquet counts `total_uncompressed_size`. */
  readonly uncompressed: number;
}

const sizeOf = (p: EncodedPage) => p.header.length + p.body.length;

export class ParquetWriter {
  readonly #fields: readonly arrow.Field[];
  readonly #kinds: readonly ColumnKind[];
  readonly #plain: ReadonlySet<string>;
  readonly #page = new GrowableBytes();
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
        const data = batch.data.children[c]!;
        if (this.#kinds[c]!.byteArray) {
          // Large values: more, smaller pages (bounded memory here and in readers).
          const offs = data.valueOffsets as Int32Array;
          for (let a = from; a < from + take;) {
            let b = a + 1;
            while (b < from + take && offs[b + 1]! - offs[a]! <= PAGE_BYTES) b++;
            this.#dataPage(c, data, a, b);
            a = b;
          }
        } else this.#dataPage(c, data, from, from + take);
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
    if (chunk.kind.list) {
      this.#listPage(chunk, field, data, from, to);
      return;
    }
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
    this.#addDataPage(chunk, to - from, encoding);
  }

  /** Compresses the page built in the scratch buffer and adds it to the chunk. */
  #addDataPage(chunk: ColumnChunk, values: number, encoding: Encoding): void {
    const out = this.#page;
    const page = this.#encodePage(PageType.Data, values, encoding, out.buf.subarray(0, out.pos));
    chunk.pages.push(page);
    chunk.uncompressed += page.uncompressed;
    chunk.compressed += sizeOf(page);
  }

  /**
   * One data page of rows [from, to) of a list column (three-level LIST: optional group, repeated
   * group `list`, item). Per entry a repetition level (0 starts a row) and a definition level:
   * 0 null list, `present` empty list, `present + 1` null item, `maxDef` item with a value; the
   * values are the item column's PLAIN values of the rows' elements.
   */
  #listPage(chunk: ColumnChunk, field: arrow.Field, data: arrow.Data, from: number, to: number) {
    const { item, field: itemField } = chunk.kind.list!;
    const offs = data.valueOffsets as Int32Array;
    const child = data.children[0]!;
    const listBits = data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0
      ? data.nullBitmap
      : null;
    const itemBits = child.nullCount > 0 && child.nullBitmap && child.nullBitmap.length > 0
      ? child.nullBitmap
      : null;
    const present = field.nullable ? 1 : 0;
    const maxDef = present + 1 + (itemField.nullable ? 1 : 0);
    const listValid = (i: number) => {
      if (!listBits) return true;
      const bit = data.offset + i;
      return (listBits[bit >> 3]! & (1 << (bit & 7))) !== 0;
    };
    const itemValid = (k: number) => {
      if (!itemBits) return true;
      const bit = child.offset + k;
      return (itemBits[bit >> 3]! & (1 << (bit & 7))) !== 0;
    };
    let entries = 0;
    for (let i = from; i < to; i++) {
      entries += listValid(i) ? Math.max(1, offs[i + 1]! - offs[i]!) : 1;
    }
    const rep = new Uint8Array(entries);
    const def = new Uint8Array(entries);
    const out = this.#page;
    out.pos = 0;
    // Levels first; the values section is written after them, run by run of present lists.
    const runs: [number, number][] = [];
    let e = 0;
    let nullEntries = 0;
    for (let i = from; i < to; i++) {
      const a = offs[i]!;
      const b = offs[i + 1]!;
      if (!listValid(i)) {
        if (!field.nullable) {
          throw new Error(`column '${field.name}' is declared NOT NULL but has a null list`);
        }
        def[e++] = 0;
        nullEntries++;
        continue;
      }
      if (b === a) {
        def[e++] = present;
        nullEntries++;
        continue;
      }
      const last = runs[runs.length - 1];
      if (last && last[1] === a) last[1] = b;
      else runs.push([a, b]);
      for (let k = a; k < b; k++) {
        rep[e] = k === a ? 0 : 1;
        if (itemValid(k)) def[e++] = maxDef;
        else {
          if (!itemField.nullable) {
            throw new Error(`column '${field.name}' has a null item in a NOT NULL item field`);
          }
          def[e++] = present + 1;
          nullEntries++;
        }
      }
    }
    writeLevels(rep, entries, 1, out);
    writeLevels(def, entries, bitWidthFor(maxDef), out);
    for (const [a, b] of runs) {
      const nulls = itemBits ? countNulls(itemBits, child.offset, a, b) : 0;
      item.plain(
        {
          data: child,
          from: a,
          to: b,
          bitmap: nulls > 0 ? itemBits : null,
          offset: child.offset,
          nulls,
        },
        out,
        chunk.stats,
      );
    }
    chunk.values += entries;
    chunk.nulls += nullEntries;
    chunk.nonNull += entries - nullEntries;
    chunk.usedPlain = true;
    this.#addDataPage(chunk, entries, Encoding.Plain);
  }

  /**
   * Writes the slice's values as dictionary indices; false when the dictionary grew too large or
   * too distinct, after which the chunk's pages are PLAIN (pages already written keep their
   * indices: the dictionary, with any values this page added, is still written).
   */
  #dictionaryIndices(chunk: ColumnChunk, s: Slice, out: GrowableBytes): boolean {
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
      dict.values.pos > DICTIONARY_BYTES ||
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
    return { header, body: packed, uncompressed: header.length + body.length };
  }

  /** Emits the open row group: per column, the dictionary page (if any), then its data pages. */
  #flushGroup(): void {
    const groupOffset = this.#offset;
    const chunkPages: EncodedPage[][] = [];
    const metas: ChunkMeta[] = [];
    let at = groupOffset;
    let uncompressedTotal = 0;
    for (const chunk of this.#chunks) {
      const pages: EncodedPage[] = [];
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
        pages.push(dict);
        uncompressed += dict.uncompressed;
        compressed += sizeOf(dict);
        dictionaryPageOffset = at;
      }
      const dataPageOffset = at + (pages[0] ? sizeOf(pages[0]) : 0);
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
        bytes.set(page.header, p);
        bytes.set(page.body, p + page.header.length);
        p += sizeOf(page);
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

  /** The column's path in the schema (a list column's leaf is `name.list.item`). */
  #pathOf(c: number): string[] {
    const list = this.#kinds[c]!.list;
    return list ? [this.#fields[c]!.name, "list", list.field.name] : [this.#fields[c]!.name];
  }

  #footer(): Uint8Array {
    const w = new ThriftWriter();
    w.i32(1, 1);
    const root = { name: "arrow_schema" };
    const leaf = (e: ThriftWriter, kind: ColumnKind, f: arrow.Field) => {
      e.i32(1, kind.physical);
      if (kind.typeLength !== undefined) e.i32(2, kind.typeLength);
      e.i32(3, f.nullable ? 1 : 0).string(4, f.name);
      kind.annotate?.(e);
    };
    // A list column is three elements: its group, the repeated group `list`, the item leaf.
    const elements = this.#fields.flatMap((f, c) =>
      this.#kinds[c]!.list
        ? [{ f, c }, { f, c, repeated: true as const }, { f, c, list: true as const }]
        : [{ f, c }]
    );
    w.listStruct(2, [root, ...elements], (e, el) => {
      if (!("f" in el)) {
        e.string(4, el.name).i32(5, this.#fields.length);
        return;
      }
      const kind = this.#kinds[el.c]!;
      if ("list" in el) {
        // The item leaf of a list column, after its two group elements.
        leaf(e, kind.list!.item, kind.list!.field);
        return;
      }
      if ("repeated" in el) {
        e.i32(3, 2).string(4, "list").i32(5, 1);
        return;
      }
      if (kind.list) {
        e.i32(3, el.f.nullable ? 1 : 0).string(4, el.f.name).i32(5, 1).i32(6, 3);
        e.struct(10, (l) => l.struct(3, () => {}));
        return;
      }
      leaf(e, kind, el.f);
    });
    w.i64(3, this.#rows);
    w.listStruct(4, this.#groups.map((g, ordinal) => ({ g, ordinal })), (gw, { g, ordinal }) => {
      gw.listStruct(1, g.columns.map((m, c) => ({ m, c })), (cc, { m, c }) => {
        cc.i64(2, (m.dictionaryPageOffset ?? m.dataPageOffset) + m.compressed);
        cc.struct(3, (md) => {
          md.i32(1, this.#kinds[c]!.physical)
            .listI32(2, m.encodings)
            .listString(3, this.#pathOf(c))
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
    w.string(6, CREATED_BY);
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
