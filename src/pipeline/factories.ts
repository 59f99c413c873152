// Picks the source, format and destination implementations for a plan, loading each lazily (execution layer).
import type * as arrow from "apache-arrow";
import type { Destination } from "../destination/destination.ts";
import type { Format } from "../format/format.ts";
import type { DestinationPlan, FormatPlan } from "../plan/plan_types.ts";
import type { Source, SourceConnection } from "../source/source.ts";
import { ConfigError, DestinationError } from "../errors.ts";

/** The value of a credential environment variable named in the config (never logged). */
function envValue(name: string | undefined, key: string): string | undefined {
  if (name === undefined) return undefined;
  const value = Deno.env.get(name);
  if (value === undefined) {
    throw new ConfigError(
      `destination.${key} names the environment variable '${name}', which is not set`,
      { hint: `export ${name}=... before running rivet` },
    );
  }
  return value;
}

export async function openSource(conn: SourceConnection): Promise<Source> {
  if (conn.type === "postgres") {
    const { PostgresSource } = await import("../source/postgres/postgres_source.ts");
    return await PostgresSource.connect(conn);
  }
  const { MysqlSource } = await import("../source/mysql/mysql_source.ts");
  return await MysqlSource.connect(conn);
}

/**
 * The format for a plan; Parquet row groups are sized from the schema (spec 3.7). With
 * `max_file_size`, row groups are also kept small enough that the writer flushes bytes well
 * before the limit (Parquet buffers a whole row group before writing it), so files split near
 * the limit instead of at the end of the export.
 */
export async function formatFor(
  plan: FormatPlan,
  schema: arrow.Schema,
  maxFileSizeBytes: number | null = null,
): Promise<Format> {
  if (plan.kind === "csv") {
    const { CsvFormat } = await import("../format/csv/csv_format.ts");
    return new CsvFormat();
  }
  const { ParquetFormat, rowGroupRowsFor } = await import("../format/parquet/parquet_format.ts");
  const { estimatedRowBytes, MIN_ROW_GROUP_ROWS } = await import(
    "../format/parquet/row_group_rows.ts"
  );
  let rowGroupRows = rowGroupRowsFor(schema, plan.parquet ?? undefined);
  if (maxFileSizeBytes !== null) {
    const fit = Math.floor(maxFileSizeBytes / 2 / estimatedRowBytes(schema));
    rowGroupRows = Math.min(rowGroupRows, Math.max(MIN_ROW_GROUP_ROWS, fit));
  }
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
    case "s3": {
      const { S3Destination } = await import("../destination/s3/s3_destination.ts");
      const key = envValue(plan.access_key_env, "access_key_env");
      const secret = envValue(plan.secret_key_env, "secret_key_env");
      const token = envValue(plan.session_token_env, "session_token_env");
      return new S3Destination({
        bucket: plan.bucket ?? "",
        prefix: plan.resolvedPath,
        ...(plan.region ? { region: plan.region } : {}),
        ...(plan.endpoint ? { endpoint: plan.endpoint } : {}),
        ...(key !== undefined && secret !== undefined
          ? {
            credentials: {
              accessKeyId: key,
              secretAccessKey: secret,
              ...(token !== undefined ? { sessionToken: token } : {}),
            },
          }
          : {}),
        ...(plan.aws_profile ? { profile: plan.aws_profile } : {}),
      });
    }
    case "gcs": {
      const { GcsDestination } = await import("../destination/gcs/gcs_destination.ts");
      return new GcsDestination({
        bucket: plan.bucket ?? "",
        prefix: plan.resolvedPath,
        ...(plan.endpoint ? { endpoint: plan.endpoint } : {}),
        ...(plan.credentialsFilePath ? { credentialsFile: plan.credentialsFilePath } : {}),
        ...(plan.allow_anonymous ? { allowAnonymous: true } : {}),
      });
    }
    default:
      throw new DestinationError(
        `destination type '${plan.type}' is not available in this version`,
      );
  }
}
