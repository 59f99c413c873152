// Tests of KeySet against a reference JS Set, through growth and with wide keys (execution layer tests).
import assert from "node:assert/strict";
import { KeySet } from "./key_set.ts";

Deno.test("KeySet agrees with a JS Set on which keys are new, through many resizes", () => {
  for (const words of [1, 2, 4]) {
    const set = new KeySet(words);
    const seen = new Set<string>();
    const key = new Uint32Array(words);
    let x = 12345;
    for (let i = 0; i < 50_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      for (let k = 0; k < words; k++) key[k] = k === 0 ? x % 30_000 : (x >>> 3) % 3;
      const id = key.join(",");
      assert.equal(set.add(key, 0), !seen.has(id), `words=${words} i=${i}`);
      seen.add(id);
    }
    assert.equal(set.size, seen.size);
  }
});

Deno.test("KeySet reads keys at an offset inside a larger array", () => {
  const set = new KeySet(2);
  const src = new Uint32Array([9, 1, 2, 1, 2, 3, 4]);
  assert.equal(set.add(src, 1), true);
  assert.equal(set.add(src, 3), false);
  assert.equal(set.add(src, 5), true);
  assert.equal(set.add(src, 2), true); // [2, 1] differs from [1, 2]
  assert.equal(set.size, 3);
});
