// The `created_by` string of every Parquet file Rivet writes, whichever writer wrote it (execution layer).
import { RIVET_VERSION } from "../../version.ts";

/**
 * In the `<application> version <x.y.z>` form that readers parse: parquet-mr (Spark, Hive) ignores
 * the statistics of string columns when `created_by` does not parse.
 */
export const CREATED_BY = `rivet version ${RIVET_VERSION}`;
