import assert from "node:assert/strict";
import {
  parseDateText,
  parseDecimalText,
  parseHex,
  parseTimestampText,
  parseTimeText,
} from "./text_values.ts";

Deno.test("parseDateText counts days from 1970-01-01 including BC and far-future dates", () => {
  assert.equal(parseDateText("1970-01-01"), 0);
  assert.equal(parseDateText("1969-12-31"), -1);
  assert.equal(parseDateText("2000-03-01"), 11017);
  assert.equal(parseDateText("9999-12-31"), 2932896);
  assert.equal(parseDateText("0001-01-01 BC"), parseDateText("0000-01-01"));
  assert.throws(() => parseDateText("2020-1-1"), /not a date/);
});

Deno.test("parseTimestampText keeps microseconds before 1970 and applies offsets", () => {
  assert.equal(parseTimestampText("1970-01-01 00:00:00"), 0n);
  assert.equal(parseTimestampText("1969-12-31 23:59:59.999999"), -1n);
  assert.equal(parseTimestampText("1900-01-01 00:00:00.000001"), -2208988799999999n);
  assert.equal(parseTimestampText("2024-02-29 12:00:00.5+00"), 1709208000500000n);
  assert.equal(parseTimestampText("2024-02-29 12:00:00.5+01:30"), 1709202600500000n);
  assert.equal(parseTimestampText("2024-02-29T12:00:00Z"), 1709208000000000n);
  assert.equal(parseTimestampText("9999-12-31 23:59:59.999999"), 253402300799999999n);
});

Deno.test("parseTimeText reads microseconds and MySQL hours beyond a day", () => {
  assert.equal(parseTimeText("00:00:00"), 0n);
  assert.equal(parseTimeText("23:59:59.999999"), 86399999999n);
  assert.equal(parseTimeText("-838:59:59"), -3020399000000n);
  assert.equal(parseTimeText("01:02:03.5"), 3723500000n);
});

Deno.test("parseDecimalText is exact and refuses values that would be truncated", () => {
  assert.equal(parseDecimalText("123.45", 12, 2), 12345n);
  assert.equal(parseDecimalText("-0.05", 12, 2), -5n);
  assert.equal(parseDecimalText("7", 5, 2), 700n);
  assert.equal(parseDecimalText("1.500", 5, 2), 150n);
  assert.equal(
    parseDecimalText("99999999999999999999999999999.999999999", 38, 9),
    99999999999999999999999999999999999999n,
  );
  assert.throws(() => parseDecimalText("1.234", 5, 2), /more than 2 fraction digits/);
  assert.throws(() => parseDecimalText("1234.5", 5, 2), /does not fit decimal\(5,2\)/);
  assert.throws(() => parseDecimalText("NaN", 5, 2), /not a decimal/);
});

Deno.test("parseHex decodes PostgreSQL bytea hex with zero bytes", () => {
  assert.deepEqual(parseHex("\\x00ff10"), new Uint8Array([0, 255, 16]));
  assert.deepEqual(parseHex(""), new Uint8Array([]));
  assert.throws(() => parseHex("\\xzz"), /invalid hex/);
});
