// Tests of tuning profiles and per-field merge, spec 3.4 and 7.5 (planning layer, pure).
import assert from "node:assert/strict";
import {
  batchRowsForMemory,
  defaultChunkMaxAttempts,
  resolveTuning,
  TUNING_PROFILES,
} from "./tuning.ts";

Deno.test("TUNING_PROFILES holds the numbers of spec 7.5", () => {
  const row = (
    k: keyof typeof TUNING_PROFILES.fast,
  ) => [TUNING_PROFILES.fast[k], TUNING_PROFILES.balanced[k], TUNING_PROFILES.safe[k]];
  assert.deepStrictEqual(
    {
      batchSize: row("batchSize"),
      throttleMs: row("throttleMs"),
      statementTimeoutS: row("statementTimeoutS"),
      maxRetries: row("maxRetries"),
      retryBackoffMs: row("retryBackoffMs"),
      lockTimeoutS: row("lockTimeoutS"),
      memoryThresholdMb: row("memoryThresholdMb"),
      maxValueMb: row("maxValueMb"),
      maxBatchMemoryMb: row("maxBatchMemoryMb"),
      onBatchMemoryExceeded: row("onBatchMemoryExceeded"),
      adaptive: row("adaptive"),
    },
    {
      batchSize: [50_000, 10_000, 2_000],
      throttleMs: [0, 50, 500],
      statementTimeoutS: [0, 300, 120],
      maxRetries: [1, 3, 5],
      retryBackoffMs: [1_000, 2_000, 5_000],
      lockTimeoutS: [0, 30, 10],
      memoryThresholdMb: [0, 4_096, 2_048],
      maxValueMb: [256, 256, 256],
      maxBatchMemoryMb: [null, null, null],
      onBatchMemoryExceeded: ["warn", "warn", "warn"],
      adaptive: [false, false, false],
    },
  );
});

Deno.test("resolveTuning defaults to balanced with the label 'balanced (default)'", () => {
  assert.deepStrictEqual(resolveTuning(), {
    profile: "balanced",
    label: "balanced (default)",
    batchSize: 10_000,
    throttleMs: 50,
    statementTimeoutS: 300,
    maxRetries: 3,
    retryBackoffMs: 2_000,
    lockTimeoutS: 30,
    memoryThresholdMb: 4_096,
    maxValueMb: 256,
    maxBatchMemoryMb: null,
    onBatchMemoryExceeded: "warn",
    adaptive: false,
    batchSizeMemoryMb: null,
    minParallel: null,
  });
});

const labels: readonly [string, Parameters<typeof resolveTuning>, string, string, number][] = [
  ["no environment", [undefined, undefined, undefined], "balanced", "balanced (default)", 10_000],
  [
    "environment local",
    [undefined, undefined, "local"],
    "fast",
    "fast (default for environment: local)",
    50_000,
  ],
  [
    "environment replica",
    [undefined, undefined, "replica"],
    "balanced",
    "balanced (default for environment: replica)",
    10_000,
  ],
  [
    "environment production",
    [undefined, undefined, "production"],
    "balanced",
    "balanced (default for environment: production)",
    10_000,
  ],
  [
    "source profile safe over environment",
    [{ profile: "safe" }, undefined, "local"],
    "safe",
    "safe",
    2_000,
  ],
  [
    "export profile over source profile",
    [{ profile: "safe" }, { profile: "fast" }, undefined],
    "fast",
    "fast",
    50_000,
  ],
];
for (const [name, args, profile, label, batchSize] of labels) {
  Deno.test(`resolveTuning picks ${profile} for ${name}`, () => {
    const t = resolveTuning(...args);
    assert.deepStrictEqual([t.profile, t.label, t.batchSize], [profile, label, batchSize]);
  });
}

Deno.test("resolveTuning merges per field: export wins, source fills the rest, explicit beats profile", () => {
  const t = resolveTuning(
    { profile: "safe", batch_size: 5_000, throttle_ms: 7, max_batch_memory_mb: 128 },
    { batch_size: 800, adaptive: true, min_parallel: 2, on_batch_memory_exceeded: "auto_shrink" },
  );
  assert.deepStrictEqual(
    [
      t.profile,
      t.batchSize,
      t.throttleMs,
      t.maxRetries,
      t.maxBatchMemoryMb,
      t.adaptive,
      t.minParallel,
      t.onBatchMemoryExceeded,
    ],
    ["safe", 800, 7, 5, 128, true, 2, "auto_shrink"],
  );
});

Deno.test("resolveTuning keeps an explicit zero instead of the profile value", () => {
  const t = resolveTuning({ throttle_ms: 0, max_value_mb: 0 }, { statement_timeout_s: 0 });
  assert.deepStrictEqual([t.throttleMs, t.maxValueMb, t.statementTimeoutS], [0, 0, 0]);
});

Deno.test("resolveTuning carries batch_size_memory_mb through", () => {
  assert.equal(resolveTuning(undefined, { batch_size_memory_mb: 64 }).batchSizeMemoryMb, 64);
});

Deno.test("resolveTuning returns a frozen object", () => {
  assert.equal(Object.isFrozen(resolveTuning()), true);
});

Deno.test("defaultChunkMaxAttempts is max_retries + 1 per profile", () => {
  assert.deepStrictEqual(
    (["fast", "balanced", "safe"] as const).map((p) =>
      defaultChunkMaxAttempts(resolveTuning({ profile: p }))
    ),
    [2, 4, 6],
  );
});

Deno.test("batchRowsForMemory clamps rows to [1 000, 500 000]", () => {
  assert.deepStrictEqual(
    [batchRowsForMemory(64, 1024), batchRowsForMemory(1, 100_000), batchRowsForMemory(1024, 8)],
    [65_536, 1_000, 500_000],
  );
});
