// Picks the source, format and destination implementations for a plan, loading each lazily (execution layer).
import type * as arrow from "apache-arrow";
import type { Destination } from "../destination/destination.ts";
import type { Format } from "../format/format.ts";
import type { DestinationPlan, FormatPlan } from "../plan/plan_types.ts";
import type { Source, SourceConnection } from "../source/source.ts";

export async function openSource(conn: SourceConnection): Promise<Source> {
  if (conn.type === "postgres") {
    const { PostgresSource } = await import("../source/postgres/postgres_source.ts");
    return await PostgresSource.connect(conn);
  }
  const { MysqlSource } = await import("../source/mysql/mysql_source.ts");
  return await MysqlSource.connect(conn);
}

/** The format for a plan; Parquet row groups are sized from the schema (spec 3.7). */
export async function formatFor(plan: FormatPlan, schema: arrow.Schema): Promise<Format> {
  if (plan.kind === "csv") {
    const { CsvFormat } = await import("../format/csv/csv_format.ts");
    return new CsvFormat();
  }
  const { ParquetFormat, rowGroupRowsFor } = await import("../format/parquet/parquet_format.ts");
  const rowGroupRows = rowGroupRowsFor(schema, plan.parquet ?? undefined);
  return new ParquetFormat({
    codec: plan.codec,
    ...(plan.level === null ? {} : { level: plan.level }),
    ...(rowGroupRows === null || rowGroupRows === undefined ? {} : { rowGroupRows }),
  });
}

export async function openDestination(plan: DestinationPlan): Promise<Destination> {
  switch (plan.type) {
    case "stdout": {
      const { StdoutDestination } = await import("../destination/stdout/stdout_destination.ts");
      return new StdoutDestination();
    }
    case "local": {
      const { LocalDestination } = await import("../destination/local/local_destination.ts");
      return new LocalDestination(plan.resolvedPath);
    }
    default:
      throw new Error(`destination type '${plan.type}' is not available in this version`);
  }
}
