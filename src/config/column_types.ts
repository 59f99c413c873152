// Parsing of column type overrides (spec 6.8.4) and max_file_size byte sizes (spec 3.5) (planning layer, pure).
import { ConfigError } from "../errors.ts";
import type { RivetType } from "../source/rivet_types.ts";

const SIMPLE_TYPES: ReadonlyArray<readonly [readonly string[], RivetType]> = [
  [["bool", "boolean"], { kind: "bool" }],
  [["int2", "smallint", "int16"], { kind: "int16" }],
  [["int4", "int", "integer", "int32"], { kind: "int32" }],
  [["int8", "bigint", "int64"], { kind: "int64" }],
  [["float4", "real", "float32"], { kind: "float32" }],
  [["float8", "double", "double precision", "float64"], { kind: "float64" }],
  [["text", "varchar", "string", "char", "bpchar", "name"], { kind: "string" }],
  [["binary", "bytea", "blob", "varbinary"], { kind: "binary" }],
  [["date"], { kind: "date" }],
  [["json", "jsonb"], { kind: "string", logical: "json" }],
  [["uuid"], { kind: "string", logical: "uuid" }],
  [["timestamp", "timestamp without time zone"], { kind: "timestamp" }],
  [
    ["timestamp_tz", "timestamptz", "timestamp with time zone", "timestamp_utc"],
    { kind: "timestamp_tz" },
  ],
];

const BY_NAME: ReadonlyMap<string, RivetType> = new Map(
  SIMPLE_TYPES.flatMap(([names, type]) => names.map((n) => [n, Object.freeze(type)] as const)),
);

/** Every accepted spelling, for error messages. */
export const SUPPORTED_COLUMN_TYPES: string = [
  ...SIMPLE_TYPES.flatMap(([names]) => names),
  "decimal(p,s)",
  "numeric(p,s)",
].join(", ");

const DECIMAL = /^(?:decimal|numeric)\s*\(\s*([+-]?\d+)\s*,\s*([+-]?\d+)\s*\)$/;

/**
 * The Rivet type named by an `exports[].columns` override, e.g. `decimal(14,2)` or `timestamptz`.
 * Case-insensitive; inner whitespace is collapsed. Decimals need 1 <= p <= 76 and 0 <= s <= p.
 */
export function parseColumnOverride(text: string): RivetType {
  const t = text.trim().toLowerCase().replace(/\s+/g, " ");
  const simple = BY_NAME.get(t);
  if (simple !== undefined) return simple;
  const m = DECIMAL.exec(t);
  if (m?.[1] !== undefined && m[2] !== undefined) {
    const precision = Number(m[1]);
    const scale = Number(m[2]);
    if (precision < 1 || precision > 76) {
      throw new ConfigError(
        `column type '${text}': decimal precision must be between 1 and 76, got ${precision}. ` +
          `Use e.g. decimal(38,${Math.max(0, Math.min(scale, 38))}).`,
      );
    }
    if (scale < 0 || scale > precision) {
      throw new ConfigError(
        `column type '${text}': decimal scale must be between 0 and the precision ${precision}, ` +
          `got ${scale}.`,
      );
    }
    return Object.freeze({ kind: "decimal", precision, scale });
  }
  throw new ConfigError(
    `unsupported column type '${text}'. Supported (case-insensitive): ${SUPPORTED_COLUMN_TYPES}, ` +
      `with 1 <= p <= 76 and 0 <= s <= p.`,
  );
}

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
};
const BYTE_SIZE = /^(\d+(?:\.\d*)?|\.\d+)\s*(b|kb|mb|gb)?$/i;

/**
 * Bytes for a size like `512MB`, `1.5 GB` or `100` (no unit = bytes); units B/KB/MB/GB are
 * 1024-based and case-insensitive. Fractions of a byte are dropped. Throws ConfigError otherwise.
 */
export function parseByteSize(text: string): number {
  const m = BYTE_SIZE.exec(text.trim());
  if (m?.[1] === undefined) {
    throw new ConfigError(
      `'${text}' is not a size. Use a number with an optional unit B, KB, MB or GB ` +
        `(1024-based, case-insensitive), e.g. "512MB", "1.5 GB" or "1048576".`,
    );
  }
  const factor = UNITS[(m[2] ?? "").toLowerCase()] ?? 1;
  return Math.floor(Number(m[1]) * factor);
}
