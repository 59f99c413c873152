// PostgreSQL type → Rivet type mapping and text-value decoders, pure (execution layer).
//
// Every value arrives as the server's text rendering under the session settings PostgresSource
// pins (TimeZone UTC, DateStyle ISO, IntervalStyle iso_8601, extra_float_digits 3, bytea hex).
// Mapping decisions beyond spec 6.8.2 (which refuses these types):
//   - numeric(p,s): decimal(p,s) (Decimal128 for p <= 38, Decimal256 for p <= 76); negative
//     scale becomes decimal(p-s, 0) and scale > precision becomes decimal(s, s), both exact.
//     Wider, or unconstrained (typmod -1, also through domains), numeric → exact decimal text
//     (Utf8, logical `decimal`, NaN/Infinity kept as text). NaN/±Infinity in a decimal → error.
//   - money: decimal(19, d) where d is the fraction digits of the server's lc_monetary, found by
//     probing how the server renders a known value (see `detectMoneyFormat`); when the probe
//     cannot be understood the values are kept as exact server text (logical `money`).
//   - date/timestamp `infinity`/`-infinity` → error naming the column (never NULL).
//   - arrays of any element type → list<element mapping>, nested for more dimensions.
//   - other types (inet, ranges, xml, geometric, tsvector, composites, …) → verbatim server text.
import { SourceError } from "../../errors.ts";
import type { ColumnSpec, Fidelity, RivetType, TextLogical } from "../rivet_types.ts";
import { rivetTypeLabel } from "../rivet_types.ts";
import {
  parseDateText,
  parseDecimalText,
  parseHex,
  parseTimestampText,
  parseTimeText,
  ValueError,
} from "../text_values.ts";
import { parsePgArray } from "./postgres_array.ts";

/** One row of pg_type, as much as the mapping needs. */
export interface PgTypeInfo {
  readonly oid: number;
  /** `typname`, e.g. `int4`, `_int4`, `numeric`, `mood`. */
  readonly name: string;
  /** b = base, c = composite, d = domain, e = enum, p = pseudo, r = range, m = multirange. */
  readonly typtype: string;
  /** `typcategory`; `A` marks arrays. */
  readonly category: string;
  /** `typelem`: element type of an array (0 otherwise). */
  readonly elem: number;
  /** `typbasetype`: base type of a domain (0 otherwise). */
  readonly baseType: number;
  /** `typtypmod`: the typmod a domain applies to its base type (-1 otherwise). */
  readonly typmod: number;
  /** `typdelim`: array element delimiter (`,` except `;` for box). */
  readonly delimiter: string;
}

export type PgCatalog = ReadonlyMap<number, PgTypeInfo>;

/** How the server renders money under its lc_monetary. */
export interface MoneyFormat {
  readonly fractionDigits: number;
  /** Character before the fraction digits; "" when fractionDigits is 0. */
  readonly decimalSeparator: string;
}

/** One result column as the server describes it. */
export interface PgColumnInput {
  readonly name: string;
  readonly typeOid: number;
  /** `atttypmod` of the result column (-1 when unknown). */
  readonly typmod: number;
  /** `format_type(oid, typmod)`, recorded as `rivet.native_type`. */
  readonly nativeType: string;
  /** Dimensions of an array column (default 1). */
  readonly arrayDims?: number;
  /** A `columns:` override; wins over the automatic mapping. */
  readonly override?: RivetType;
}

export interface PgMappingEnv {
  /** Present when the server's money rendering was detected. */
  readonly money?: MoneyFormat;
}

/** Text → cell value in BatchBuilder's conventions. Throws ValueError. */
export type Decoder = (text: string) => unknown;

/**
 * How the FETCH loop reads a column off the wire: `binary` (result format 1) for the base
 * types whose binary form maps straight onto the Arrow value, `raw_text` when the server's text
 * bytes are the Utf8 value as is, `text` when the text goes through `decode`.
 */
export type PgWire =
  | { readonly kind: "binary"; readonly base: PgBinaryBase }
  | { readonly kind: "raw_text" }
  | { readonly kind: "text" };

/** Base types read in binary result format by the FETCH loop (automatic mapping only). */
export const PG_BINARY_BASES = [
  "bool",
  "int2",
  "int4",
  "int8",
  "oid",
  "float4",
  "float8",
  "date",
  "time",
  "timestamp",
  "timestamptz",
  "numeric",
  "bytea",
] as const;
export type PgBinaryBase = (typeof PG_BINARY_BASES)[number];
const BINARY_BASES: ReadonlySet<string> = new Set(PG_BINARY_BASES);

export interface PgColumnPlan {
  readonly spec: ColumnSpec;
  readonly decode: Decoder;
  /** True when the raw text is bytea hex (two characters per byte, `\x` prefix). */
  readonly hexText: boolean;
  readonly wire: PgWire;
}

/** A type with domains resolved: either a scalar base type or an array of one. */
type Resolved =
  | {
    readonly kind: "scalar";
    readonly name: string;
    readonly typtype: string;
    readonly typmod: number;
  }
  | {
    readonly kind: "array";
    readonly item: Resolved;
    readonly delimiter: string;
    readonly name: string;
  };

/** Decodes a numeric typmod into precision and (possibly negative, PG 15) scale. */
export function numericTypmod(typmod: number): { precision: number; scale: number } | undefined {
  if (typmod < 4) return undefined;
  const t = typmod - 4;
  return { precision: (t >> 16) & 0xffff, scale: ((t & 0x7ff) ^ 1024) - 1024 };
}

/** Types carried as exact text with no logical tag. */
const PLAIN_TEXT = new Set(["text", "varchar", "bpchar", "name", "char", "citext", "unknown"]);

/** Base type name → logical tag for text-carried types. */
const TEXT_LOGICAL: Readonly<Record<string, TextLogical>> = {
  json: "json",
  jsonb: "json",
  uuid: "uuid",
  interval: "interval",
  timetz: "timetz",
  inet: "inet",
  cidr: "cidr",
  macaddr: "macaddr",
  macaddr8: "macaddr",
  bit: "bit",
  varbit: "bit",
  xml: "xml",
  money: "money",
};

/** Follows domains and arrays through the catalog. */
function resolve(oid: number, typmod: number, catalog: PgCatalog, depth = 0): Resolved {
  const info = catalog.get(oid);
  if (!info || depth > 16) return { kind: "scalar", name: `oid ${oid}`, typtype: "b", typmod };
  if (info.typtype === "d" && info.baseType !== 0) {
    return resolve(info.baseType, typmod >= 0 ? typmod : info.typmod, catalog, depth + 1);
  }
  if (
    info.category === "A" && info.elem !== 0 && info.name !== "int2vector" &&
    info.name !== "oidvector"
  ) {
    const elemInfo = catalog.get(info.elem);
    return {
      kind: "array",
      item: resolve(info.elem, typmod, catalog, depth + 1),
      delimiter: elemInfo?.delimiter ?? ",",
      name: info.name,
    };
  }
  return { kind: "scalar", name: info.name, typtype: info.typtype, typmod };
}

interface Mapping {
  readonly type: RivetType;
  readonly fidelity: Fidelity;
  readonly decode: Decoder;
}

const identity: Decoder = (s) => s;

function text(logical?: TextLogical): RivetType {
  return logical === undefined ? { kind: "string" } : { kind: "string", logical };
}

/** The automatic mapping of a scalar (non-array) type. */
function mapScalar(r: Resolved & { kind: "scalar" }, env: PgMappingEnv): Mapping {
  const exact = (type: RivetType): Mapping => ({
    type,
    fidelity: "exact",
    decode: valueDecoder(type, r.name, env),
  });
  switch (r.name) {
    case "bool":
      return exact({ kind: "bool" });
    case "int2":
      return exact({ kind: "int16" });
    case "int4":
      return exact({ kind: "int32" });
    case "int8":
    case "oid":
      return exact({ kind: "int64" });
    case "float4":
      return exact({ kind: "float32" });
    case "float8":
      return exact({ kind: "float64" });
    case "date":
      return exact({ kind: "date" });
    case "time":
      return exact({ kind: "time" });
    case "timestamp":
      return exact({ kind: "timestamp" });
    case "timestamptz":
      return exact({ kind: "timestamp_tz" });
    case "bytea":
      return exact({ kind: "binary" });
    case "numeric": {
      const ps = numericTypmod(r.typmod);
      if (ps) {
        const scale = Math.max(ps.scale, 0);
        const precision = Math.max(ps.precision - Math.min(ps.scale, 0), scale);
        if (precision >= 1 && precision <= 76) return exact({ kind: "decimal", precision, scale });
      }
      return { type: text("decimal"), fidelity: "compatible", decode: identity };
    }
    case "money":
      if (env.money) {
        return exact({ kind: "decimal", precision: 19, scale: env.money.fractionDigits });
      }
      return { type: text("money"), fidelity: "compatible", decode: identity };
    case "json":
    case "jsonb":
      return { type: text("json"), fidelity: "logical_string", decode: identity };
    case "uuid":
      return { type: text("uuid"), fidelity: "logical_string", decode: lowerCase };
  }
  if (PLAIN_TEXT.has(r.name)) return { type: text(), fidelity: "exact", decode: identity };
  const logical: TextLogical = TEXT_LOGICAL[r.name] ??
    (r.typtype === "e" ? "enum" : r.typtype === "r" || r.typtype === "m" ? "range" : "other");
  return { type: text(logical), fidelity: "compatible", decode: identity };
}

function mapResolved(r: Resolved, dims: number, env: PgMappingEnv): Mapping {
  if (r.kind === "scalar") return mapScalar(r, env);
  const item = mapResolved(r.item, 1, env);
  let type: RivetType = item.type;
  for (let d = 0; d < dims; d++) type = { kind: "list", item: type };
  const fidelity: Fidelity = item.fidelity === "lossy" || item.fidelity === "unsupported"
    ? item.fidelity
    : "compatible";
  return { type, fidelity, decode: arrayDecoder(r.delimiter, dims, item.decode) };
}

function arrayDecoder(delimiter: string, dims: number, item: Decoder): Decoder {
  return (s) => parsePgArray(s, delimiter, dims, item);
}

function fidelityOf(t: RivetType): Fidelity {
  if (t.kind === "list") return "compatible";
  if (t.kind !== "string" || t.logical === undefined) return "exact";
  return t.logical === "json" || t.logical === "uuid" ? "logical_string" : "compatible";
}

/** The mapping a `columns:` override asks for, or a SourceError when the conversion is impossible. */
function mapOverride(
  column: string,
  nativeType: string,
  r: Resolved,
  dims: number,
  target: RivetType,
  env: PgMappingEnv,
): Mapping {
  if (target.kind === "string" && target.logical === undefined) {
    return { type: target, fidelity: "exact", decode: identity };
  }
  if (r.kind === "array") {
    let t: RivetType = target;
    let d = 0;
    while (t.kind === "list") {
      t = t.item;
      d++;
    }
    if (d !== dims) {
      throw new SourceError(
        `column '${column}' (PG type '${nativeType}') is a ${dims}-dimensional array and cannot be read as ${
          rivetTypeLabel(target)
        }`,
        { hint: "override it as string, or as list<…> with one list per dimension" },
      );
    }
    const item = mapOverride(column, nativeType, r.item, 1, t, env);
    return {
      type: target,
      fidelity: "compatible",
      decode: arrayDecoder(r.delimiter, dims, item.decode),
    };
  }
  if (target.kind === "list") {
    throw new SourceError(
      `column '${column}' (PG type '${nativeType}') is not an array and cannot be read as ${
        rivetTypeLabel(target)
      }`,
    );
  }
  if (r.name === "money" && target.kind === "decimal" && !env.money) {
    throw new SourceError(
      `column '${column}' is money, but the server's money format could not be detected`,
      { hint: `cast it in the query: ${column}::numeric(19,2)` },
    );
  }
  return { type: target, fidelity: fidelityOf(target), decode: valueDecoder(target, r.name, env) };
}

/**
 * Maps one result column to its ColumnSpec and value decoder. Throws a (permanent) SourceError
 * when an override asks for a conversion that cannot be done.
 */
export function planPgColumn(
  input: PgColumnInput,
  catalog: PgCatalog,
  env: PgMappingEnv = {},
): PgColumnPlan {
  const r = resolve(input.typeOid, input.typmod, catalog);
  const dims = Math.max(1, input.arrayDims ?? 1);
  const m = input.override
    ? mapOverride(input.name, input.nativeType, r, dims, input.override, env)
    : mapResolved(r, dims, env);
  return {
    spec: { name: input.name, type: m.type, nativeType: input.nativeType, fidelity: m.fidelity },
    decode: m.decode,
    hexText: r.kind === "scalar" && r.name === "bytea",
    wire: wireOf(r, m, input.override !== undefined),
  };
}

function wireOf(r: Resolved, m: Mapping, overridden: boolean): PgWire {
  if (!overridden && r.kind === "scalar" && BINARY_BASES.has(r.name)) {
    const k = m.type.kind;
    // numeric without a usable typmod stays exact text; everything else maps 1:1.
    if (r.name !== "numeric" || k === "decimal") {
      return { kind: "binary", base: r.name as PgBinaryBase };
    }
  }
  if (m.type.kind === "string") {
    // uuid_out always renders lowercase, so lowerCase is the identity on server text.
    if (m.decode === identity || (!overridden && m.decode === lowerCase)) {
      return { kind: "raw_text" };
    }
  }
  return { kind: "text" };
}

/** True when the column's PG type (through domains) is an array. */
export function isPgArrayType(oid: number, catalog: PgCatalog): boolean {
  return resolve(oid, -1, catalog).kind === "array";
}

/** True when the column's PG type (through domains and arrays) involves money. */
export function involvesMoney(oid: number, catalog: PgCatalog): boolean {
  let r = resolve(oid, -1, catalog);
  while (r.kind === "array") r = r.item;
  return r.name === "money";
}

// ---------------------------------------------------------------------------------------------
// Value decoders: server text → BatchBuilder value for a target Rivet type.

function lowerCase(s: string): string {
  return s.toLowerCase();
}

const INT_RE = /^[+-]?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const utf8 = new TextEncoder();

function smallInt(min: number, max: number, label: string): Decoder {
  return (s) => {
    const v = INT_RE.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ValueError(`'${s}' is not a ${label}`);
    }
    return v;
  };
}

function bigInt(min: bigint, max: bigint, label: string): Decoder {
  return (s) => {
    if (!INT_RE.test(s)) throw new ValueError(`'${s}' is not a ${label}`);
    const v = BigInt(s);
    if (v < min || v > max) throw new ValueError(`${s} does not fit ${label}`);
    return v;
  };
}

function float(s: string): number {
  const v = Number(s);
  if (Number.isNaN(v) && s !== "NaN") throw new ValueError(`'${s}' is not a floating-point number`);
  return v;
}

function bool(s: string): boolean {
  if (s === "t" || s === "true") return true;
  if (s === "f" || s === "false") return false;
  throw new ValueError(`'${s}' is not a boolean`);
}

const INFINITE = new Set(["infinity", "-infinity"]);

function noInfinity(s: string, what: string): void {
  if (INFINITE.has(s)) {
    throw new ValueError(
      `${what} '${s}' has no Arrow/Parquet equivalent; map it in the query, e.g. NULLIF(col, '${s}') or col::text`,
    );
  }
}

function decimal(precision: number, scale: number): Decoder {
  return (s) => {
    if (s === "NaN" || s === "Infinity" || s === "-Infinity") {
      throw new ValueError(
        `${s} cannot be stored in decimal(${precision},${scale}); read the column as text (columns: string) or filter it out`,
      );
    }
    return parseDecimalText(s, precision, scale);
  };
}

/** Parses money text (`-$1,234.56`, `1.234,56 €`, `($5.00)`) into minor units at `fmt`'s scale. */
export function parseMoneyText(s: string, fmt: MoneyFormat): bigint {
  const negative = s.includes("-") || s.includes("(");
  let intPart = s;
  let frac = "";
  if (fmt.fractionDigits > 0) {
    // The last separator followed by exactly the fraction digits (a symbol may contain it too).
    let at = s.length;
    for (;;) {
      at = s.lastIndexOf(fmt.decimalSeparator, at - 1);
      if (at < 0) throw new ValueError(`'${s}' is not a money value`);
      const frac = s.slice(at + 1, at + 1 + fmt.fractionDigits);
      const next = s.charAt(at + 1 + fmt.fractionDigits);
      if (frac.length === fmt.fractionDigits && /^\d+$/.test(frac) && !/\d/.test(next)) break;
      if (at === 0) throw new ValueError(`'${s}' is not a money value`);
    }
    intPart = s.slice(0, at);
    frac = s.slice(at + 1, at + 1 + fmt.fractionDigits);
  }
  const digits = intPart.replace(/\D/g, "") + frac;
  if (digits.length === 0) throw new ValueError(`'${s}' is not a money value`);
  const v = BigInt(digits);
  return negative ? -v : v;
}

/** The probe PostgresSource renders to learn the money format; see `detectMoneyFormat`. */
export const MONEY_PROBE_SQL = "SELECT (-123456.78)::numeric::money::text";

/**
 * Learns the server's money format from its rendering of -123456.78 (`MONEY_PROBE_SQL`): the
 * integer part has 6 digits, so every further digit is a fraction digit, and the character
 * before them is the decimal separator. Returns undefined when the text is not understood.
 */
export function detectMoneyFormat(probe: string): MoneyFormat | undefined {
  const digits = probe.replace(/\D/g, "");
  if (!probe.includes("-") && !probe.includes("(")) return undefined;
  let fd: number;
  if (digits === "123457") fd = 0;
  else if (digits.startsWith("12345678") && /^0*$/.test(digits.slice(8))) fd = digits.length - 6;
  else if (digits === "1234568") fd = 1;
  else return undefined;
  if (fd === 0) return { fractionDigits: 0, decimalSeparator: "" };
  // Walk back over the last `fd` digits to find the separator before them.
  let seen = 0;
  let i = probe.length - 1;
  for (; i >= 0 && seen < fd; i--) if (/\d/.test(probe[i]!)) seen++;
  const sep = probe[i];
  if (sep === undefined || /\d/.test(sep)) return undefined;
  return { fractionDigits: fd, decimalSeparator: sep };
}

function money(fmt: MoneyFormat, precision: number, scale: number): Decoder {
  return (s) => {
    let v = parseMoneyText(s, fmt);
    if (scale >= fmt.fractionDigits) v *= 10n ** BigInt(scale - fmt.fractionDigits);
    else {
      const div = 10n ** BigInt(fmt.fractionDigits - scale);
      if (v % div !== 0n) {
        throw new ValueError(`money ${s} has more than ${scale} fraction digits`);
      }
      v /= div;
    }
    if ((v < 0n ? -v : v) >= 10n ** BigInt(precision)) {
      throw new ValueError(`money ${s} does not fit decimal(${precision},${scale})`);
    }
    return v;
  };
}

function uuidText(source: string): Decoder {
  if (source === "bytea") {
    return (s) => {
      const b = parseHex(s);
      if (b.length !== 16) throw new ValueError(`a uuid needs 16 bytes, got ${b.length}`);
      const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
        h.slice(20)
      }`;
    };
  }
  return (s) => {
    const t = s.trim();
    if (!UUID_RE.test(t.replace(/^\{|\}$/g, ""))) throw new ValueError(`'${s}' is not a uuid`);
    const h = t.replace(/[{}-]/g, "").toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
      h.slice(20)
    }`;
  };
}

function jsonText(source: string): Decoder {
  if (source === "json" || source === "jsonb") return identity;
  return (s) => {
    try {
      JSON.parse(s);
    } catch {
      throw new ValueError(`'${s.slice(0, 40)}' is not valid JSON`);
    }
    return s;
  };
}

/** The decoder from the text of PG base type `source` to a scalar Rivet type. */
export function valueDecoder(target: RivetType, source: string, env: PgMappingEnv = {}): Decoder {
  switch (target.kind) {
    case "bool":
      return bool;
    case "int16":
      return smallInt(-32768, 32767, "int16");
    case "int32":
      return smallInt(-2147483648, 2147483647, "int32");
    case "int64":
      return bigInt(INT64_MIN, INT64_MAX, "int64");
    case "uint64":
      return bigInt(0n, 2n ** 64n - 1n, "uint64");
    case "float32":
    case "float64":
      return float;
    case "decimal":
      return source === "money" && env.money
        ? money(env.money, target.precision, target.scale)
        : decimal(target.precision, target.scale);
    case "date":
      return (s) => {
        noInfinity(s, "date");
        return parseDateText(s);
      };
    case "time":
      return (s) => parseTimeText(s);
    case "timestamp":
    case "timestamp_tz":
      return (s) => {
        noInfinity(s, "timestamp");
        const v = parseTimestampText(s);
        if (v < INT64_MIN || v > INT64_MAX) {
          throw new ValueError(
            `timestamp '${s}' is outside the range of microseconds since 1970 in 64 bits (up to 294247-01-10)`,
          );
        }
        return v;
      };
    case "binary":
      return source === "bytea" ? (s) => parseHex(s) : (s) => utf8.encode(s);
    case "string":
      if (target.logical === "uuid") return uuidText(source);
      if (target.logical === "json") return jsonText(source);
      return identity;
    case "list":
      throw new ValueError(`list values need an array column`);
  }
}
