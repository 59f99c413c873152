// Keyset (seek) pagination SQL and the data file names of chunked and keyset exports (planning layer, pure).
import { DataIntegrityError } from "../errors.ts";
import { fileTimestamp } from "./naming.ts";
import { type Dialect, quoteIdent, quoteLiteral } from "./sql_shapes.ts";

/** How the key's last value is written back into the next page's SQL. */
export type KeysetKeyType = "integer" | "text" | "uuid";

function checkPageSize(pageSize: number): void {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`keyset page size must be a positive integer, got ${pageSize}`);
  }
}

/** Page 0 (spec 4.8): `SELECT * FROM (<base>) AS _rivet ORDER BY <k> LIMIT <n>`. */
export function keysetFirstPageSql(
  dialect: Dialect,
  baseQuery: string,
  key: string,
  pageSize: number,
): string {
  checkPageSize(pageSize);
  return `SELECT * FROM (${baseQuery}) AS _rivet ORDER BY ${
    quoteIdent(dialect, key)
  } LIMIT ${pageSize}`;
}

/**
 * Every later page (spec 4.8): rows strictly after the last key of the previous page,
 * `SELECT * FROM (<base>) AS _rivet WHERE <k> > <last> ORDER BY <k> LIMIT <n>`. `lastKeyLiteral`
 * comes from `keysetKeyLiteral`.
 */
export function keysetNextPageSql(
  dialect: Dialect,
  baseQuery: string,
  key: string,
  pageSize: number,
  lastKeyLiteral: string,
): string {
  checkPageSize(pageSize);
  const k = quoteIdent(dialect, key);
  return `SELECT * FROM (${baseQuery}) AS _rivet WHERE ${k} > ${lastKeyLiteral} ORDER BY ${k} ` +
    `LIMIT ${pageSize}`;
}

const INTEGER = /^-?\d+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The SQL literal of the last key of a page, from its canonical text (as the cursor reader
 * renders it) or null when the last row had none. Integers are written bare, after checking they
 * are digits: a quoted number would make MySQL compare a BIGINT with a string as doubles and lose
 * keys above 2^53. Text and uuid go through `quoteLiteral`; a uuid is checked for its shape first.
 * Throws `DataIntegrityError` ("keyset could not read …") when the value is missing or malformed.
 */
export function keysetKeyLiteral(
  dialect: Dialect,
  key: string,
  type: KeysetKeyType,
  value: string | null,
): string {
  const fail = (why: string) =>
    new DataIntegrityError(
      `keyset could not read the '${key}' value from the last row of the page (${why})`,
      {
        hint: `chunk_by_key needs a NOT NULL, unique ${type} key; check '${key}' or use ` +
          "chunk_column range chunking",
      },
    );
  if (value === null) throw fail("it is NULL");
  switch (type) {
    case "integer":
      if (!INTEGER.test(value)) throw fail(`'${value}' is not an integer`);
      return String(BigInt(value));
    case "uuid":
      if (!UUID.test(value)) throw fail(`'${value}' is not a uuid`);
      return quoteLiteral(dialect, value.toLowerCase());
    case "text":
      return quoteLiteral(dialect, value);
  }
}

/** After a page of `rows` rows: fetch the next page only when this one was full (spec 4.8). */
export function keysetHasNextPage(rows: number, pageSize: number): boolean {
  return rows > 0 && rows >= pageSize;
}

export type DataExtension = "parquet" | "csv";

/** Which split part of a chunk or page a file is, when `max_file_size` rotated it. */
export interface SplitPart {
  /** 0-based part number. */
  readonly index: number;
  /** Parts the chunk or page produced; 1 means unsplit (no `_part` suffix). */
  readonly count: number;
}

const NONCE = /^[0-9a-f]{16}$/;

/** 16 lowercase hex characters of 8 random bytes the caller drew (e.g. `crypto.getRandomValues`). */
export function nonceHex(bytes: Uint8Array): string {
  if (bytes.length !== 8) {
    throw new RangeError(`a chunk file nonce takes exactly 8 bytes, got ${bytes.length}`);
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function partSuffix(part: SplitPart | undefined): string {
  if (part === undefined || part.count <= 1) return "";
  if (!Number.isSafeInteger(part.index) || part.index < 0 || part.index >= part.count) {
    throw new RangeError(`part ${part.index} of ${part.count} does not exist`);
  }
  return `_part${part.index}`;
}

function checkIndex(what: string, i: number): void {
  if (!Number.isSafeInteger(i) || i < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${i}`);
  }
}

/**
 * The file of chunk `chunkIndex` (spec 6.1): `<export>_<ts>_chunk<i>_<nonce>.<ext>`, `<ts>` in
 * UTC from `at` (taken per chunk). When `max_file_size` rotated the chunk into two or more parts,
 * every part is kept as `<export>_<ts>_chunk<i>_<nonce>_part<j>.<ext>` (spec 11.2 #1), with the
 * same `<ts>` and nonce for all parts of the chunk.
 */
export function chunkFileName(
  exportName: string,
  at: Date,
  chunkIndex: number,
  nonce: string,
  extension: DataExtension,
  part?: SplitPart,
): string {
  checkIndex("chunk index", chunkIndex);
  if (!NONCE.test(nonce)) {
    throw new RangeError(`chunk file nonce '${nonce}' is not 16 lowercase hex characters`);
  }
  return `${exportName}_${fileTimestamp(at)}_chunk${chunkIndex}_${nonce}${
    partSuffix(part)
  }.${extension}`;
}

/**
 * The file of keyset page `page` (spec 6.1): `<export>_<ts>_keyset<p>.<ext>`, and
 * `<export>_<ts>_keyset<p>_part<j>.<ext>` for each part when `max_file_size` split the page.
 */
export function keysetFileName(
  exportName: string,
  at: Date,
  page: number,
  extension: DataExtension,
  part?: SplitPart,
): string {
  checkIndex("keyset page", page);
  return `${exportName}_${fileTimestamp(at)}_keyset${page}${partSuffix(part)}.${extension}`;
}
