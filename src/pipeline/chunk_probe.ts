// Source probes of chunked exports: the chunk column, the boundary probes, the fingerprint hasher (execution layer).
import { createXXHash3 } from "hash-wasm";
import { ConfigError, describeError } from "../errors.ts";
import { chunkProbes, type Hash64, type ProbeResults } from "../plan/chunk_plan.ts";
import type { ExportPlan } from "../plan/plan_types.ts";
import { quoteLiteral } from "../plan/sql_shapes.ts";
import type { Source } from "../source/source.ts";
import { log } from "../observe/log.ts";

type ChunkedStrategy = Extract<ExportPlan["strategy"], { kind: "chunked" }>;

/**
 * The chunk column: configured, or the table's single-column integer primary key.
 */
export async function resolveChunkColumn(
  plan: ExportPlan,
  s: ChunkedStrategy,
  source: Source,
): Promise<string> {
  if (s.column !== null) return s.column;
  if (s.table === null) {
    throw new ConfigError(
      `export '${plan.name}': chunk_column is not set and there is no table: to resolve it from`,
      { hint: "set chunk_column" },
    );
  }
  const [schema, table] = s.table.includes(".")
    ? s.table.split(".", 2) as [string, string]
    : [null, s.table];
  const sql = plan.engine === "postgres"
    ? `SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',')
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = ${quoteLiteral("postgres", s.table)}::regclass AND i.indisprimary`
    : `SELECT GROUP_CONCAT(CONCAT(COLUMN_NAME, ':', DATA_TYPE))
         FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ${schema === null ? "DATABASE()" : quoteLiteral("mysql", schema)}
          AND TABLE_NAME = ${quoteLiteral("mysql", table)} AND COLUMN_KEY = 'PRI'`;
  const cols = ((await source.scalar(sql)) ?? "").split(",").filter((c) => c !== "");
  const integer = /^(smallint|integer|bigint|int|tinyint|mediumint)/i;
  if (cols.length !== 1 || !integer.test(cols[0]!.split(":")[1] ?? "")) {
    throw new ConfigError(
      `export '${plan.name}': found no safe chunk column: ${s.table} has ${
        cols.length === 0 ? "no primary key" : `primary key (${cols.join(", ")})`
      }, not a single integer column`,
      { hint: "set chunk_column to an integer or date column (or chunk_dense: true)" },
    );
  }
  return cols[0]!.split(":")[0]!;
}

/**
 * Runs the boundary probes of a chunked export (spec 4.7.1), shared by the chunked runner, reconcile and repair: min and
 * max must succeed, a failed count probe is planned without (and logged).
 */
export async function probeChunks(
  plan: ExportPlan,
  column: string,
  s: ChunkedStrategy,
  source: Source,
): Promise<ProbeResults> {
  let min: string | null = null;
  let max: string | null = null;
  let rowCount: bigint | null = null;
  let nullCount: bigint | null = null;
  for (const p of chunkProbes(plan.engine, plan.baseQuery, column, s.shape)) {
    try {
      const v = await source.scalar(p.sql);
      if (p.name === "min") min = v;
      else if (p.name === "max") max = v;
      else if (p.name === "rowCount") rowCount = v === null ? null : BigInt(v);
      else nullCount = v === null ? null : BigInt(v);
    } catch (err) {
      if (p.name === "min" || p.name === "max") throw err;
      log.warn(
        `export '${plan.name}': ${p.name} probe failed (${
          describeError(err)
        }); planning without it`,
      );
    }
  }
  return { min, max, rowCount, nullCount };
}

/** A synchronous xxh3-64 hasher (hex) for chunk and config fingerprints. */
export async function xxh3Hasher(): Promise<Hash64> {
  const h = await createXXHash3();
  return (text: string) => {
    h.init();
    h.update(text);
    return h.digest("hex");
  };
}
