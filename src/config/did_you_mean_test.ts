// Tests of the did-you-mean rule for unknown keys, spec 3.1 step 5 (planning layer, pure).
import { assertEquals } from "./test_assert.ts";
import { didYouMean, levenshtein } from "./did_you_mean.ts";

const KEYS = ["name", "query", "query_file", "table", "mode", "format", "destination", "exports"];

const cases: readonly [string, readonly string[], string | undefined][] = [
  ["destinaton", KEYS, "destination"], // Levenshtein 1
  ["Destination", KEYS, "destination"], // case-insensitive
  ["query_fil", KEYS, "query_file"], // substring of a candidate
  ["tables", KEYS, "table"], // candidate is a substring of the key
  ["query_files", KEYS, "query_file"], // longest substring match wins over `query`
  ["paralel_exports", ["parallel_exports", "exports"], "exports"], // substring beats distance
  ["ca", ["mode", "ca_file"], "ca_file"], // key inside a >=3-char candidate
  ["fromat", KEYS, "format"], // transposition = distance 2 <= max(2, 6/3)
  ["zzzzqqq", KEYS, undefined],
  ["xy", ["ab"], "ab"], // distance 2 is always allowed
  ["abcdefghi", ["abcxyzghi"], "abcxyzghi"], // 3 <= max(2, 9/3)
  ["abcdefgh", ["abxyzfgh"], undefined], // 3 > max(2, 8/3 = 2)
];
for (const [key, candidates, want] of cases) {
  Deno.test(`didYouMean suggests ${want === undefined ? "nothing" : `\`${want}\``} for \`${key}\``, () => {
    assertEquals(didYouMean(key, candidates), want);
  });
}

Deno.test("levenshtein counts inserts, deletes and substitutions", () => {
  assertEquals(
    [levenshtein("", "abc"), levenshtein("kitten", "sitting"), levenshtein("same", "same")],
    [3, 3, 0],
  );
});
