// Exact parsers from database text renderings to Arrow cell values (execution layer, shared by sources).
// The drivers' own Date conversion drops microseconds; these never go through Date.

const MICROS_PER_DAY = 86_400_000_000n;

/** Thrown for a value that does not fit its declared type; sources wrap it with the column name. */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValueError";
  }
}

/** Days since 1970-01-01 of a proleptic Gregorian civil date (handles years <= 0). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Parses `YYYY-MM-DD` (optionally followed by ` BC`, PostgreSQL style) into days since epoch. */
export function parseDateText(text: string): number {
  const m = /^(-?\d{4,})-(\d{2})-(\d{2})( BC)?$/.exec(text);
  if (!m) throw new ValueError(`not a date: '${text}'`);
  let y = Number(m[1]);
  if (m[4]) y = 1 - y; // 1 BC is year 0
  return daysFromCivil(y, Number(m[2]), Number(m[3]));
}

/** Parses `HH:MM:SS[.ffffff]` (hours may exceed 24 and carry a sign, MySQL TIME) into microseconds. */
export function parseTimeText(text: string): bigint {
  const m = /^(-)?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6})\d*)?$/.exec(text);
  if (!m) throw new ValueError(`not a time: '${text}'`);
  const micros = (BigInt(m[2]!) * 3600n + BigInt(m[3]!) * 60n + BigInt(m[4]!)) * 1_000_000n +
    BigInt((m[5] ?? "").padEnd(6, "0") || "0");
  return m[1] ? -micros : micros;
}

const TS_RE =
  /^(-?\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::(\d{2}))?|Z)?( BC)?$/;

/**
 * Parses a timestamp rendering into microseconds since the epoch. A trailing offset (`+00`,
 * `-05:30`, `Z`) is applied so the result is UTC; without one the wall clock is taken as is.
 * Digits beyond microseconds are truncated.
 */
export function parseTimestampText(text: string): bigint {
  const m = TS_RE.exec(text);
  if (!m) throw new ValueError(`not a timestamp: '${text}'`);
  let y = Number(m[1]);
  if (m[12]) y = 1 - y;
  const days = BigInt(daysFromCivil(y, Number(m[2]), Number(m[3])));
  let micros = days * MICROS_PER_DAY +
    (BigInt(m[4]!) * 3600n + BigInt(m[5]!) * 60n + BigInt(m[6]!)) * 1_000_000n +
    BigInt((m[7] ?? "").slice(0, 6).padEnd(6, "0"));
  if (m[8]) {
    const off = (BigInt(m[9]!) * 3600n + BigInt(m[10] ?? "0") * 60n + BigInt(m[11] ?? "0")) *
      1_000_000n;
    micros = m[8] === "+" ? micros - off : micros + off;
  }
  return micros;
}

/**
 * Parses exact decimal text (`-123.4500`, `1e5` is not accepted) into the unscaled integer at
 * `scale`. Throws when the value has more fraction digits than `scale` (unless they are zeros)
 * or more than `precision` digits in total: nothing is truncated silently.
 */
export function parseDecimalText(text: string, precision: number, scale: number): bigint {
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) {
    throw new ValueError(`not a decimal: '${text}'`);
  }
  const intPart = m[2] || "0";
  let frac = m[3] ?? "";
  if (frac.length > scale) {
    const extra = frac.slice(scale);
    if (!/^0*$/.test(extra)) {
      throw new ValueError(
        `decimal ${text} has more than ${scale} fraction digits for decimal(${precision},${scale})`,
      );
    }
    frac = frac.slice(0, scale);
  }
  const digits = (intPart + frac.padEnd(scale, "0")).replace(/^0+(?=\d)/, "");
  if (digits.replace(/^0+/, "").length > precision) {
    throw new ValueError(`decimal ${text} does not fit decimal(${precision},${scale})`);
  }
  const v = BigInt(digits);
  return m[1] === "-" ? -v : v;
}

const HEX = new Map<number, number>();
for (let i = 0; i < 16; i++) {
  HEX.set("0123456789abcdef".charCodeAt(i), i);
  HEX.set("0123456789ABCDEF".charCodeAt(i), i);
}

/** Decodes hex text (optionally prefixed `\x`, PostgreSQL bytea) into bytes. */
export function parseHex(text: string): Uint8Array {
  const start = text.startsWith("\\x") ? 2 : 0;
  const n = (text.length - start) >> 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const hi = HEX.get(text.charCodeAt(start + 2 * i));
    const lo = HEX.get(text.charCodeAt(start + 2 * i + 1));
    if (hi === undefined || lo === undefined) throw new ValueError("invalid hex in binary value");
    out[i] = (hi << 4) | lo;
  }
  return out;
}
