import assert from "node:assert/strict";
import { DataIntegrityError } from "../errors.ts";
import {
  chunkFileName,
  keysetFileName,
  keysetFirstPageSql,
  keysetHasNextPage,
  keysetKeyLiteral,
  type KeysetKeyType,
  keysetNextPageSql,
  nonceHex,
  type SplitPart,
} from "./keyset_plan.ts";
import type { Dialect } from "./sql_shapes.ts";

const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 67));
const nonce = "00ff10a0b1c2d3e4";

Deno.test("keyset pages read in key order, the first from the start and the next after the last key", () => {
  assert.equal(
    keysetFirstPageSql("postgres", "SELECT * FROM users", "id", 1000),
    'SELECT * FROM (SELECT * FROM users) AS _rivet ORDER BY "id" LIMIT 1000',
  );
  assert.equal(
    keysetNextPageSql("mysql", "SELECT * FROM users", "email", 500, "'a@b.c'"),
    "SELECT * FROM (SELECT * FROM users) AS _rivet WHERE `email` > 'a@b.c' ORDER BY `email` LIMIT 500",
  );
  assert.throws(() => keysetFirstPageSql("postgres", "SELECT 1", "id", 0), RangeError);
});

Deno.test("keysetKeyLiteral writes integers bare and quotes text and uuids", () => {
  const cases: Array<[Dialect, KeysetKeyType, string, string]> = [
    ["mysql", "integer", "9007199254740993", "9007199254740993"],
    ["postgres", "integer", "-9223372036854775808", "-9223372036854775808"],
    ["postgres", "integer", "0042", "42"],
    ["postgres", "text", "O'Brien \\ co", "E'O\\'Brien \\\\ co'"],
    ["mysql", "text", "O'Brien", "'O\\'Brien'"],
    [
      "postgres",
      "uuid",
      "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
      "E'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
    ],
  ];
  for (const [dialect, type, value, want] of cases) {
    assert.equal(keysetKeyLiteral(dialect, "k", type, value), want, `${type} ${value}`);
  }
});

Deno.test("keysetKeyLiteral refuses a missing or malformed last key instead of guessing", () => {
  const cases: Array<[KeysetKeyType, string | null]> = [
    ["integer", null],
    ["integer", "12.5"],
    ["integer", "1 OR 1=1"],
    ["uuid", "not-a-uuid"],
    ["text", null],
  ];
  for (const [type, value] of cases) {
    assert.throws(
      () => keysetKeyLiteral("postgres", "id", type, value),
      (e: unknown) =>
        e instanceof DataIntegrityError &&
        e.message.startsWith("keyset could not read the 'id' value from the last row"),
      `${type} ${value}`,
    );
  }
});

Deno.test("keysetHasNextPage continues only after a full page", () => {
  const cases: Array<[number, number, boolean]> = [[1000, 1000, true], [999, 1000, false], [
    0,
    1000,
    false,
  ]];
  for (const [rows, size, want] of cases) assert.equal(keysetHasNextPage(rows, size), want);
});

Deno.test("chunkFileName names a chunk with its nonce and keeps every split part", () => {
  const cases: Array<[number, SplitPart | undefined, string]> = [
    [0, undefined, "orders_20260102_030405_chunk0_00ff10a0b1c2d3e4.parquet"],
    [12, { index: 0, count: 1 }, "orders_20260102_030405_chunk12_00ff10a0b1c2d3e4.parquet"],
    [3, { index: 0, count: 3 }, "orders_20260102_030405_chunk3_00ff10a0b1c2d3e4_part0.parquet"],
    [3, { index: 2, count: 3 }, "orders_20260102_030405_chunk3_00ff10a0b1c2d3e4_part2.parquet"],
  ];
  for (const [i, part, want] of cases) {
    assert.equal(chunkFileName("orders", at, i, nonce, "parquet", part), want);
  }
  assert.throws(() => chunkFileName("orders", at, 0, "00FF10A0B1C2D3E4", "csv"), RangeError);
  assert.throws(() => chunkFileName("orders", at, 0, "abc", "csv"), RangeError);
  assert.throws(() => chunkFileName("orders", at, -1, nonce, "csv"), RangeError);
  assert.throws(
    () => chunkFileName("orders", at, 0, nonce, "csv", { index: 3, count: 3 }),
    RangeError,
  );
});

Deno.test("keysetFileName names a page and each of its split parts", () => {
  assert.equal(keysetFileName("users", at, 4, "csv"), "users_20260102_030405_keyset4.csv");
  assert.equal(
    keysetFileName("users", at, 4, "csv", { index: 1, count: 2 }),
    "users_20260102_030405_keyset4_part1.csv",
  );
});

Deno.test("nonceHex renders 8 random bytes as 16 lowercase hex characters", () => {
  assert.equal(nonceHex(new Uint8Array([0, 255, 16, 160, 177, 194, 211, 228])), nonce);
  assert.throws(() => nonceHex(new Uint8Array(4)), RangeError);
});
