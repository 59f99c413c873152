import assert from "node:assert/strict";
import { createXXHash3 } from "hash-wasm";
import { ConfigError, SourceError } from "../errors.ts";
import {
  boundaryProbeSql,
  buildChunkPlan,
  chunkCountSize,
  type ChunkPlan,
  type ChunkPlanInput,
  chunkProbes,
  chunkSql,
  chunkSqlFromKeys,
  dayText,
  denseRanges,
  fingerprintInput,
  generateRanges,
  type KeyRange,
  nullCountSql,
  parseProbeDay,
  parseProbeInteger,
  type ProbeResults,
  type ProbeValue,
  rangeCount,
  sparseRangeWidth,
  tableFastPath,
} from "./chunk_plan.ts";

const hasher = await createXXHash3();
const xxh3 = (text: string) => hasher.init().update(text).digest("hex");

const INT64_MAX = 9_223_372_036_854_775_807n;
const UINT64_MAX = 18_446_744_073_709_551_615n;

const pairs = (rs: readonly KeyRange[]) => rs.map((r) => [r.start, r.end]);

Deno.test("the xxh3 hasher used by the tests is seed-0 xxh3-64 (known empty-input vector)", () => {
  assert.equal(xxh3(""), "2d06800538d394c2");
});

Deno.test("tableFastPath recognizes exactly SELECT * FROM <ident> and nothing else", () => {
  const cases: Array<[string, string | null]> = [
    ["SELECT * FROM orders", "orders"],
    ["SELECT * FROM public.orders", "public.orders"],
    ["  select *  from Orders_2 ", "Orders_2"],
    ["SELECT * FROM orders WHERE id > 5", null],
    ["SELECT * FROM a.b.c", null],
    ["SELECT id FROM orders", null],
    ['SELECT * FROM "Orders"', null],
    ["SELECT * FROM orders;", null],
    ["SELECT * FROM 1orders", null],
  ];
  for (const [query, want] of cases) assert.equal(tableFastPath(query), want, query);
});

Deno.test("boundaryProbeSql targets the table directly on the fast path and wraps any other query", () => {
  const cases: Array<[Parameters<typeof boundaryProbeSql>, string]> = [
    [["postgres", "SELECT * FROM orders", "id", "min"], 'SELECT min("id") FROM orders'],
    [["postgres", "SELECT * FROM s.orders", "id", "max"], 'SELECT max("id") FROM s.orders'],
    [["mysql", "SELECT * FROM orders", "id", "count"], "SELECT COUNT(*) FROM orders"],
    [
      ["mysql", "SELECT id FROM orders WHERE x = 1", "id", "max"],
      "SELECT max(`id`) FROM (SELECT id FROM orders WHERE x = 1) AS _rivet",
    ],
    [
      ["postgres", "SELECT id FROM t", "id", "count"],
      "SELECT COUNT(*) FROM (SELECT id FROM t) AS _rivet_rowcnt",
    ],
  ];
  for (const [args, want] of cases) assert.equal(boundaryProbeSql(...args), want);
});

Deno.test("nullCountSql counts the rows whose chunk column is NULL", () => {
  assert.equal(
    nullCountSql("postgres", "SELECT * FROM orders", "id"),
    'SELECT count(*) FROM orders WHERE "id" IS NULL',
  );
  assert.equal(
    nullCountSql("mysql", "SELECT a FROM t", "a"),
    "SELECT count(*) FROM (SELECT a FROM t) AS _rivet_nc WHERE `a` IS NULL",
  );
});

Deno.test("chunkProbes asks each shape only for the probes it uses", () => {
  const cases: Array<[ChunkPlanInput["shape"], string[]]> = [
    [{ kind: "range", chunkSize: 10, chunkCount: null }, ["min", "max", "rowCount", "nullCount"]],
    [{ kind: "by_days", days: 7 }, ["min", "max", "nullCount"]],
    [{ kind: "dense", chunkSize: 10 }, ["rowCount"]],
  ];
  for (const [shape, names] of cases) {
    assert.deepEqual(
      chunkProbes("postgres", "SELECT * FROM t", "id", shape).map((p) => p.name),
      names,
    );
  }
});

Deno.test("generateRanges cuts inclusive contiguous ranges and ends exactly at max", () => {
  const cases: Array<[bigint, bigint, bigint, Array<[bigint, bigint]>]> = [
    [1n, 100n, 30n, [[1n, 30n], [31n, 60n], [61n, 90n], [91n, 100n]]],
    [5n, 5n, 10n, [[5n, 5n]]],
    [0n, 0n, 1n, [[0n, 0n]]],
    [-10n, -1n, 4n, [[-10n, -7n], [-6n, -3n], [-2n, -1n]]],
    [1n, 10n, 5n, [[1n, 5n], [6n, 10n]]],
    [10n, 1n, 5n, []],
    [1n, 10n, 0n, []],
    [1n, 10n, -3n, []],
    [INT64_MAX - 5n, INT64_MAX, 4n, [[INT64_MAX - 5n, INT64_MAX - 2n], [
      INT64_MAX - 1n,
      INT64_MAX,
    ]]],
    [UINT64_MAX - 1n, UINT64_MAX, INT64_MAX, [[UINT64_MAX - 1n, UINT64_MAX]]],
  ];
  for (const [min, max, size, want] of cases) {
    assert.deepEqual(pairs(generateRanges(min, max, size)), want, `${min}..${max} by ${size}`);
    assert.equal(
      rangeCount(min, max, size),
      BigInt(want.length),
      `count ${min}..${max} by ${size}`,
    );
  }
});

Deno.test("generateRanges covers every key once for many sizes", () => {
  for (const [min, max] of [[1n, 97n], [-50n, 50n], [7n, 7n]] as const) {
    for (let size = 1n; size <= 40n; size += 3n) {
      const rs = generateRanges(min, max, size);
      assert.equal(rs[0]?.start, min);
      assert.equal(rs.at(-1)?.end, max);
      for (let i = 1; i < rs.length; i++) assert.equal(rs[i]!.start, rs[i - 1]!.end + 1n);
      for (const r of rs) assert.ok(r.end - r.start + 1n <= size && r.end >= r.start);
    }
  }
});

Deno.test("chunkCountSize splits the key span into the requested number of ranges", () => {
  const cases: Array<[bigint, bigint, bigint, bigint]> = [
    [1n, 100n, 4n, 25n],
    [1n, 101n, 4n, 26n],
    [0n, 0n, 8n, 1n],
    [1n, 3n, 10n, 1n],
    [10n, 1n, 3n, 1n],
  ];
  for (const [min, max, count, want] of cases) {
    assert.equal(chunkCountSize(min, max, count), want, `${min}..${max} / ${count}`);
  }
  assert.throws(() => chunkCountSize(1n, 10n, 0n), RangeError);
});

Deno.test("denseRanges windows row numbers from 1 and plans nothing for an empty result", () => {
  assert.deepEqual(pairs(denseRanges(25n, 10n)), [[1n, 10n], [11n, 20n], [21n, 25n]]);
  assert.deepEqual(pairs(denseRanges(0n, 10n)), []);
});

Deno.test("sparseRangeWidth widens ranges only when fewer than half the keys hold rows", () => {
  const M = 1_000_000n;
  const cases: Array<[string, bigint, bigint, bigint | null, bigint, bigint, boolean]> = [
    // name, min, max, keyed rows, chunk size, expected width, expects a note
    ["a dense key keeps chunk_size", 1n, 10n * M, 10n * M, 100_000n, 100_000n, false],
    ["density exactly 0.5 keeps chunk_size", 1n, 2n * M, 1n * M, 100_000n, 100_000n, false],
    ["density just below 0.5 widens", 1n, 1000n, 499n, 10n, 21n, true],
    ["density 0.4 widens to chunk_size / density", 1n, 1000n, 400n, 10n, 25n, true],
    ["density 0.02 widens to chunk_size / density", 1n, 10n * M, 200_000n, 10_000n, 500_000n, true],
    [
      "a lone outlier id widens to size * span / rows",
      1n,
      INT64_MAX,
      M,
      100_000n,
      922_337_203_685_477_581n,
      true,
    ],
    ["fewer rows than chunk_size gives one chunk", 1n, 10n * M, 50_000n, 100_000n, 10n * M, true],
    ["no keyed rows gives one chunk", 1n, 1000n, 0n, 10n, 1000n, true],
    ["an unknown row count keeps chunk_size", 1n, 10n * M, null, 100n, 100n, true],
    ["a span narrower than chunk_size is left alone", 1n, 50n, 1n, 100n, 100n, false],
    ["an empty key space is left alone", 10n, 1n, 0n, 100n, 100n, false],
  ];
  for (const [name, min, max, rows, size, width, noted] of cases) {
    const got = sparseRangeWidth(min, max, rows, size);
    assert.equal(got.width, width, name);
    assert.equal(got.note !== null, noted, name);
  }
  const doc = sparseRangeWidth(1n, 10n * M, 200_000n, 10_000n);
  assert.match(
    doc.note ?? "",
    /density 0\.0200\).*from 10000 to 500000 keys.*20 chunks instead of 1000/,
  );
});

Deno.test("sparseRangeWidth never expects more than 2x chunk_size rows per range on uniform data", () => {
  for (const span of [1_000n, 123_457n, 10_000_019n]) {
    for (const rows of [1n, 7n, 999n, span / 3n, span / 2n - 1n]) {
      for (const size of [1n, 10n, 1000n, 65_536n]) {
        const { width } = sparseRangeWidth(1n, span, rows, size);
        assert.ok(width >= size, `width ${width} below chunk_size ${size}`);
        assert.ok(width <= span || width === size, `width ${width} beyond span ${span}`);
        // expected rows per range = width * rows / span <= 2 * size
        assert.ok(width * rows <= 2n * size * span, `span ${span} rows ${rows} size ${size}`);
      }
    }
  }
});

Deno.test("parseProbeDay reads dates flexibly and as written", () => {
  const cases: Array<[ProbeValue, string | null]> = [
    ["2024-03-05", "2024-03-05"],
    ["2024-03-05 23:59:59", "2024-03-05"],
    ["2024-03-05T23:59:59.123456+05:30", "2024-03-05"],
    ["2024-03-05T01:00:00Z", "2024-03-05"],
    ["2024-02-29", "2024-02-29"],
    ["1969-12-31", "1969-12-31"],
    ["0001-01-01", "0001-01-01"],
    [new Date(Date.UTC(2024, 0, 31, 23, 0)), "2024-01-31"],
    [null, null],
  ];
  for (const [value, want] of cases) {
    const day = parseProbeDay(value, "d", "min");
    assert.equal(day === null ? null : dayText(day), want, String(value));
  }
  assert.equal(parseProbeDay("1970-01-02", "d", "min"), 1);
  for (const bad of ["2023-02-29", "2024-13-01", "2024-00-10", "hello", "24-01-01", 20240101]) {
    assert.throws(() => parseProbeDay(bad, "d", "max"), ConfigError, String(bad));
  }
});

Deno.test("parseProbeInteger reads integer keys, maps NULL to 0 and refuses anything else", () => {
  const cases: Array<[ProbeValue, bigint]> = [
    [null, 0n],
    ["42", 42n],
    [" -7 ", -7n],
    [42, 42n],
    ["9223372036854775807", INT64_MAX],
    [18446744073709551615n, UINT64_MAX],
  ];
  for (const [value, want] of cases) assert.equal(parseProbeInteger(value, "id", "min"), want);
  for (const bad of ["12.5", 1.5, "abc", "", new Date(0)]) {
    assert.throws(() => parseProbeInteger(bad, "id", "max"), ConfigError, String(bad));
  }
});

Deno.test("chunkSql writes each chunk shape of spec 4.7.2 and the NULL chunk", () => {
  const r = { start: -5n, end: 10n };
  const days = { start: 19_723n, end: 19_729n }; // 2024-01-01 .. 2024-01-07
  const cases: Array<[Parameters<typeof chunkSql>, string]> = [
    [
      ["postgres", "SELECT * FROM orders", "id", "range", r],
      'SELECT * FROM orders WHERE "id" BETWEEN -5 AND 10',
    ],
    [
      ["mysql", "SELECT id FROM orders", "id", "range", r],
      "SELECT * FROM (SELECT id FROM orders) AS _rivet WHERE `id` BETWEEN -5 AND 10",
    ],
    [
      ["postgres", "SELECT * FROM ev", "at", "by_days", days],
      `SELECT * FROM ev WHERE "at" >= '2024-01-01' AND "at" < '2024-01-08'`,
    ],
    [
      ["mysql", "SELECT * FROM ev WHERE k = 1", "at", "by_days", days],
      "SELECT * FROM (SELECT * FROM ev WHERE k = 1) AS _rivet WHERE `at` >= '2024-01-01' AND `at` < '2024-01-08'",
    ],
    [
      ["postgres", "SELECT * FROM t", "id", "dense", { start: 1n, end: 10n }],
      'SELECT * FROM (SELECT _rivet_i.*, ROW_NUMBER() OVER (ORDER BY _rivet_i."id") AS _rivet_chunk_rn ' +
      "FROM (SELECT * FROM t) AS _rivet_i) AS _rivet_w WHERE _rivet_w._rivet_chunk_rn BETWEEN 1 AND 10",
    ],
    [
      ["postgres", "SELECT * FROM orders", "id", "range", "null"],
      'SELECT * FROM orders WHERE "id" IS NULL',
    ],
    [
      ["mysql", "SELECT a, at FROM ev", "at", "by_days", "null"],
      "SELECT * FROM (SELECT a, at FROM ev) AS _rivet WHERE `at` IS NULL",
    ],
  ];
  for (const [args, want] of cases) assert.equal(chunkSql(...args), want);
  assert.throws(() => chunkSql("postgres", "SELECT * FROM t", "id", "dense", "null"), RangeError);
});

Deno.test("fingerprintInput joins base query, column and shape with the unit separator", () => {
  const cases: Array<[ChunkPlanInput["shape"], string]> = [
    [{ kind: "range", chunkSize: 5000, chunkCount: null }, "Q\x1fid\x1f5000\x1frange"],
    [{ kind: "range", chunkSize: 5000, chunkCount: 8 }, "Q\x1fid\x1fcount_8"],
    [{ kind: "by_days", days: 7 }, "Q\x1fid\x1fdate_7d"],
    [{ kind: "dense", chunkSize: 5000 }, "Q\x1fid\x1fdense_rn"],
  ];
  for (const [shape, want] of cases) assert.equal(fingerprintInput("Q", "id", shape), want);
});

const range = (chunkSize: number, chunkCount: number | null = null): ChunkPlanInput => ({
  dialect: "postgres",
  baseQuery: "SELECT * FROM orders",
  column: "id",
  shape: { kind: "range", chunkSize, chunkCount },
});

const probes = (p: Partial<ProbeResults>): ProbeResults => ({
  min: null,
  max: null,
  rowCount: null,
  nullCount: 0n,
  ...p,
});

const keys = (plan: ChunkPlan) => plan.chunks.map((c) => [c.startKey, c.endKey, c.isNullChunk]);

Deno.test("buildChunkPlan on range keys appends a NULL chunk only when NULL keys exist", () => {
  const cases: Array<[string, ProbeResults, Array<[string, string, boolean]>]> = [
    [
      "no NULL keys",
      probes({ min: "1", max: "100", rowCount: 100n, nullCount: 0n }),
      [["1", "30", false], ["31", "60", false], ["61", "90", false], ["91", "100", false]],
    ],
    [
      "three NULL keys",
      probes({ min: 1, max: 100, rowCount: 103n, nullCount: 3n }),
      [["1", "30", false], ["31", "60", false], ["61", "90", false], ["91", "100", false], [
        "NULL",
        "NULL",
        true,
      ]],
    ],
    [
      "NULL count unknown",
      probes({ min: 1n, max: 30n, rowCount: 30n, nullCount: null }),
      [["1", "30", false], ["NULL", "NULL", true]],
    ],
    ["an empty table (one chunk [0,0], spec 4.7.1)", probes({ rowCount: 0n }), [["0", "0", false]]],
  ];
  for (const [name, p, want] of cases) {
    const plan = buildChunkPlan(range(30), p, xxh3);
    assert.deepEqual(keys(plan), want, name);
    assert.deepEqual(plan.chunks.map((c) => c.index), want.map((_, i) => i), name);
  }
  const withNulls = buildChunkPlan(
    range(30),
    probes({ min: 1, max: 100, rowCount: 103n, nullCount: 3n }),
    xxh3,
  );
  assert.equal(withNulls.chunks.at(-1)?.sql, 'SELECT * FROM orders WHERE "id" IS NULL');
  assert.match(
    withNulls.notes.join("\n"),
    /3 rows with a NULL 'id': exported by a trailing NULL chunk/,
  );
});

Deno.test("buildChunkPlan honours chunk_count exactly and never widens it", () => {
  const plan = buildChunkPlan(
    range(10, 4),
    probes({ min: 1, max: 1_000_000, rowCount: 10n }),
    xxh3,
  );
  assert.deepEqual(keys(plan), [
    ["1", "250000", false],
    ["250001", "500000", false],
    ["500001", "750000", false],
    ["750001", "1000000", false],
  ]);
  assert.deepEqual(plan.notes, []);
});

Deno.test("buildChunkPlan widens a sparse key space and says so", () => {
  // ids 1..10 000 000 holding 200 000 rows, 100 of them with a NULL id: density 0.02
  const p = probes({ min: "1", max: "10000000", rowCount: 200_100n, nullCount: 100n });
  const plan = buildChunkPlan(range(10_000), p, xxh3);
  assert.equal(plan.chunks.length, 21);
  assert.deepEqual(keys(plan).slice(0, 2), [["1", "500000", false], ["500001", "1000000", false]]);
  assert.deepEqual(keys(plan).at(-2), ["9500001", "10000000", false]);
  assert.match(plan.notes[0] ?? "", /sparse key space: 200000 rows over 10000000 keys/);
  // the fingerprint follows the configured chunk_size, not the widened width
  assert.equal(plan.fingerprintInput, "SELECT * FROM orders\x1fid\x1f10000\x1frange");
});

Deno.test("buildChunkPlan refuses a shape that would plan more than a million chunks", () => {
  const p = probes({ min: 1, max: INT64_MAX.toString(), rowCount: null });
  assert.throws(() => buildChunkPlan(range(100), p, xxh3), ConfigError);
});

Deno.test("buildChunkPlan cuts day windows with a half-open upper bound", () => {
  const input: ChunkPlanInput = {
    dialect: "mysql",
    baseQuery: "SELECT * FROM ev",
    column: "at",
    shape: { kind: "by_days", days: 7 },
  };
  const plan = buildChunkPlan(
    input,
    probes({ min: "2024-01-01 08:00:00", max: "2024-01-10T12:00:00Z", nullCount: 0n }),
    xxh3,
  );
  assert.deepEqual(
    plan.chunks.map((c) => c.sql),
    [
      "SELECT * FROM ev WHERE `at` >= '2024-01-01' AND `at` < '2024-01-08'",
      // the last window ends at the max day, as generate() does
      "SELECT * FROM ev WHERE `at` >= '2024-01-08' AND `at` < '2024-01-11'",
    ],
  );
  assert.deepEqual(keys(plan), [["19723", "19729", false], ["19730", "19732", false]]);
  const allNull = buildChunkPlan(input, probes({ nullCount: 5n }), xxh3);
  assert.deepEqual(keys(allNull), [["NULL", "NULL", true]]);
  assert.throws(
    () => buildChunkPlan(input, probes({ nullCount: 0n }), xxh3),
    (e: unknown) =>
      e instanceof SourceError && /min\(at\) returned NULL — table may be empty/.test(e.message),
  );
});

Deno.test("buildChunkPlan windows dense row numbers, adds no NULL chunk and strips the helper column", () => {
  const input: ChunkPlanInput = {
    dialect: "postgres",
    baseQuery: "SELECT * FROM t",
    column: "id",
    shape: { kind: "dense", chunkSize: 10 },
  };
  const plan = buildChunkPlan(input, probes({ rowCount: 25n, nullCount: 4n }), xxh3);
  assert.deepEqual(keys(plan), [["1", "10", false], ["11", "20", false], ["21", "25", false]]);
  assert.deepEqual(plan.helperColumns, ["_rivet_chunk_rn"]);
  assert.equal(buildChunkPlan(input, probes({ rowCount: 0n }), xxh3).chunks.length, 0);
  assert.throws(() => buildChunkPlan(input, probes({ rowCount: null }), xxh3), SourceError);
});

Deno.test("a chunk plan is frozen, survives JSON and rebuilds every chunk's SQL from its stored keys", () => {
  const shapes: ChunkPlanInput[] = [
    range(30),
    { ...range(30), shape: { kind: "by_days", days: 3 } },
    { ...range(30), shape: { kind: "dense", chunkSize: 30 } },
  ];
  const results: ProbeResults[] = [
    probes({ min: 1, max: 100, rowCount: 101n, nullCount: 1n }),
    probes({ min: "2024-01-01", max: "2024-01-08", nullCount: 2n }),
    probes({ rowCount: 70n }),
  ];
  shapes.forEach((input, i) => {
    const plan = buildChunkPlan(input, results[i]!, xxh3);
    assert.ok(
      Object.isFrozen(plan) && Object.isFrozen(plan.chunks) && Object.isFrozen(plan.chunks[0]),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
    for (const c of plan.chunks) {
      assert.equal(
        chunkSqlFromKeys(
          input.dialect,
          input.baseQuery,
          input.column,
          plan.kind,
          c.startKey,
          c.endKey,
        ),
        c.sql,
      );
    }
  });
  assert.throws(
    () => chunkSqlFromKeys("postgres", "SELECT * FROM t", "id", "range", "1; DROP", "2"),
    RangeError,
  );
});

Deno.test("the plan fingerprint is xxh3-64 of the spec 4.7.5 text", () => {
  const plan = buildChunkPlan(range(5000), probes({ min: 1, max: 10, rowCount: 10n }), xxh3);
  assert.equal(plan.fingerprint, xxh3("SELECT * FROM orders\x1fid\x1f5000\x1frange"));
  assert.match(plan.fingerprint, /^[0-9a-f]{16}$/);
  const other = buildChunkPlan(range(5001), probes({ min: 1, max: 10, rowCount: 10n }), xxh3);
  assert.notEqual(other.fingerprint, plan.fingerprint);
});
