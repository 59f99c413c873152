// Run ids, file names and destination path templates (planning layer, pure).

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `YYYYMMDD_HHMMSS` in UTC, the timestamp part of data file names. */
export function fileTimestamp(at: Date): string {
  return `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}_` +
    `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
}

/** `<export>_<YYYYMMDD>T<HHMMSS>.<mmm>` in UTC (spec 6.1). */
export function makeRunId(exportName: string, at: Date): string {
  return `${exportName}_${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${
    pad(at.getUTCDate())
  }T` +
    `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}.` +
    pad(at.getUTCMilliseconds(), 3);
}

/** `YYYY-MM-DD` in UTC. */
export function isoDate(at: Date): string {
  return `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`;
}

/**
 * The name of a data file (spec 6.1): `<export>_<ts>.<ext>` for a single part,
 * `<export>_<ts>_part<N>.<ext>` when a run produced two or more parts.
 */
export function dataFileName(
  exportName: string,
  at: Date,
  extension: string,
  part: { index: number; count: number },
): string {
  const base = `${exportName}_${fileTimestamp(at)}`;
  return part.count > 1 ? `${base}_part${part.index}.${extension}` : `${base}.${extension}`;
}

/**
 * Expands `{date}`, `{export}`, `{table}` and `{run_id}` in a destination path or prefix.
 * Unknown `{tokens}` are left as written.
 */
export function expandPathTemplate(
  template: string,
  values: { exportName: string; runId: string; at: Date },
): string {
  return template.replace(/\{(date|export|table|run_id)\}/g, (_m, key: string) => {
    switch (key) {
      case "date":
        return isoDate(values.at);
      case "run_id":
        return values.runId;
      default:
        return values.exportName;
    }
  });
}
