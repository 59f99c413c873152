// Minimal assertions for the config and tuning tests, on node:assert (planning layer, test support).
import assert from "node:assert/strict";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}
