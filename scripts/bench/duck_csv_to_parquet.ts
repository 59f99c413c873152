// Benchmark child: the "psql | duckdb" alternative; DuckDB reads CSV from a fifo and writes Parquet zstd.
// Usage: deno run --allow-all duck_csv_to_parquet.ts <csv fifo> <out.parquet> <columns json>
import { DuckDBInstance } from "@duckdb/node-api";

const [fifo, out, columnsJson] = Deno.args;
if (!fifo || !out || !columnsJson) {
  console.error("usage: duck_csv_to_parquet.ts <csv fifo> <out.parquet> <columns json>");
  Deno.exit(2);
}
const columns = JSON.parse(columnsJson) as [string, string][];
const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
const struct = columns.map(([name, type]) => `${quote(name)}: ${quote(type)}`).join(", ");

const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
const result = await con.runAndReadAll(
  `COPY (SELECT * FROM read_csv(${quote(fifo)}, header = false, columns = {${struct}}))
   TO ${quote(out)} (FORMAT parquet, COMPRESSION zstd)`,
);
const rows = Number(result.getRows()[0]?.[0] ?? -1);
con.closeSync();
db.closeSync();
console.log(JSON.stringify({ rows }));
