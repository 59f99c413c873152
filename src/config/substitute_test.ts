// Tests of ${NAME} substitution, offset mapping and unused --param warnings (planning layer, pure).
import { assertEquals } from "./test_assert.ts";
import { LineIndex, substitutePlaceholders, unusedParamWarnings } from "./substitute.ts";

const noMissing = (m: { name: string }): never => {
  throw new Error(`missing ${m.name}`);
};

const cases: readonly { name: string; raw: string; env: Record<string, string>; want: string }[] = [
  { name: "replaces a placeholder", raw: "a ${X} b", env: { X: "1" }, want: "a 1 b" },
  { name: "expands ${} to empty", raw: "a${}b", env: {}, want: "ab" },
  { name: "keeps an unterminated ${ at the end", raw: "a ${X", env: {}, want: "a ${X" },
  {
    name: "keeps a ${ whose } is only on a later line",
    raw: "a ${X\nb ${Y} }",
    env: { Y: "2" },
    want: "a ${X\nb 2 }",
  },
  { name: "does not re-scan inserted values", raw: "${X}", env: { X: "${Y}" }, want: "${Y}" },
  { name: "accepts an empty value", raw: "[${X}]", env: { X: "" }, want: "[]" },
];
for (const c of cases) {
  Deno.test(`substitutePlaceholders ${c.name}`, () => {
    assertEquals(substitutePlaceholders(c.raw, {}, c.env, noMissing).text, c.want);
  });
}

Deno.test("substitutePlaceholders prefers --param over the environment", () => {
  assertEquals(substitutePlaceholders("${X}", { X: "p" }, { X: "e" }, noMissing).text, "p");
});

Deno.test("substitutePlaceholders ignores inherited object keys as variable names", () => {
  let missing = "";
  try {
    substitutePlaceholders("${constructor}", {}, {}, (m) => {
      missing = m.name;
      throw new Error("stop");
    });
  } catch { /* expected */ }
  assertEquals(missing, "constructor");
});

Deno.test("substitutePlaceholders maps offsets back to the raw text", () => {
  const s = substitutePlaceholders("ab${LONG}cd", {}, { LONG: "X" }, noMissing);
  assertEquals(s.text, "abXcd");
  assertEquals([0, 2, 3, 4].map((o) => s.toRawOffset(o)), [0, 2, 9, 10]);
});

Deno.test("unusedParamWarnings names each unreferenced --param once", () => {
  assertEquals(
    unusedParamWarnings({ a: "1", b: "2" }, ["${a}", "x"], "c.yaml").map((w) => w.message),
    [
      "--param 'b' was not referenced in config file 'c.yaml' (no `${b}` placeholder in it or " +
      "its query files); check the name for a typo.",
    ],
  );
});

Deno.test("LineIndex gives 1-based line and column", () => {
  const idx = new LineIndex("ab\ncd\n\nef");
  assertEquals([0, 1, 3, 6, 7, 8].map((o) => idx.at(o)), [
    { line: 1, column: 1 },
    { line: 1, column: 2 },
    { line: 2, column: 1 },
    { line: 3, column: 1 },
    { line: 4, column: 1 },
    { line: 4, column: 2 },
  ]);
});
