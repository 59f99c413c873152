// Layer: dev tooling (not shipped in the CLI): the rivet.yaml that `deno task demo` runs.

/** Tables exported to Parquet (zstd), one directory each. */
export const PARQUET_TABLES = ["customers", "products", "orders", "order_items", "events"] as const;
/** Tables also exported to CSV: the ones whose text has commas, quotes and newlines. */
export const CSV_TABLES = ["customers", "orders"] as const;

export interface DemoConfigInput {
  /** Source URL of the demo server. */
  readonly url: string;
  /** Absolute directory receiving one sub-directory per Parquet export. */
  readonly parquetDir: string;
  /** Absolute directory receiving one sub-directory per CSV export. */
  readonly csvDir: string;
}

/** YAML text of the demo config. Paths are absolute so they do not depend on any working dir. */
export function demoConfigYaml(input: DemoConfigInput): string {
  const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
  const join = (dir: string, name: string) => `${dir.replace(/[\\/]+$/, "")}/${name}`;
  const lines = [
    "# Written by `deno task demo` (scripts/demo.ts); regenerated on every run.",
    "# The source is an in-memory PostgreSQL (PGlite) that only lives while the demo runs.",
    "source:",
    "  type: postgres",
    `  url: ${q(input.url)}`,
    "  tls: { mode: disable } # local loopback server without TLS",
    "  tuning:",
    "    profile: fast",
    "    batch_size: 2000 # several FETCHes per table",
    "",
    "exports:",
  ];
  for (const table of PARQUET_TABLES) {
    lines.push(
      `  - name: ${table}`,
      `    table: ${table}`,
      "    format: parquet",
      "    compression: zstd",
      "    destination:",
      "      type: local",
      `      path: ${q(join(input.parquetDir, table))}`,
    );
  }
  for (const table of CSV_TABLES) {
    lines.push(
      `  - name: ${table}_csv`,
      `    table: ${table}`,
      "    format: csv",
      "    destination:",
      "      type: local",
      `      path: ${q(join(input.csvDir, table))}`,
    );
  }
  return lines.join("\n") + "\n";
}
