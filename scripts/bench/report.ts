// Benchmark report: medians per case, Rivet/baseline ratios against targets, as text and markdown.
import { type BenchCase, isSingleStream, type RunOutcome } from "./cases.ts";
import type { FixtureName, ReadyFixture } from "./fixtures.ts";

/** The repetitions of one case folded into one row. */
export interface CaseSummary {
  readonly case: BenchCase;
  readonly rows: number;
  readonly csvBytes: number;
  readonly status: "ok" | "not_implemented" | "failed" | "skipped";
  readonly reps: number;
  readonly medianWallS: number | null;
  /** Largest peak over the repetitions. */
  readonly peakRssBytes: number | null;
  /** Longest over the repetitions (Rivet on PostgreSQL only). */
  readonly longestStatementS: number | null;
  readonly outputBytes: number | null;
  readonly message: string | null;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarise(
  c: BenchCase,
  fx: ReadyFixture,
  outcomes: readonly RunOutcome[],
): CaseSummary {
  const base = { case: c, rows: fx.rows, csvBytes: fx.csvBytes, reps: outcomes.length };
  const oks = outcomes.flatMap((o) => o.kind === "ok" ? [o] : []);
  const bad = outcomes.find((o): o is Exclude<RunOutcome, { kind: "ok" }> => o.kind !== "ok");
  if (bad) {
    return {
      ...base,
      status: bad.kind,
      medianWallS: null,
      peakRssBytes: null,
      longestStatementS: null,
      outputBytes: null,
      message: bad.message,
    };
  }
  if (oks.length === 0) {
    return {
      ...base,
      status: "skipped",
      medianWallS: null,
      peakRssBytes: null,
      longestStatementS: null,
      outputBytes: null,
      message: null,
    };
  }
  const stmts = oks.flatMap((o) => o.longestStatementS === null ? [] : [o.longestStatementS]);
  const outs = oks.flatMap((o) => o.outputBytes === null ? [] : [o.outputBytes]);
  const warnings = [...new Set(oks.flatMap((o) => o.warning === null ? [] : [o.warning]))];
  return {
    ...base,
    status: "ok",
    medianWallS: median(oks.map((o) => o.wallS)),
    peakRssBytes: Math.max(...oks.map((o) => o.peakRssBytes)),
    longestStatementS: stmts.length > 0 ? Math.max(...stmts) : null,
    outputBytes: outs.length > 0 ? median(outs) : null,
    message: warnings.length > 0 ? warnings.join("; ") : null,
  };
}

const MB = 1_000_000;
const MIB = 1024 * 1024;

function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

function statusText(s: CaseSummary): string {
  switch (s.status) {
    case "not_implemented":
      return "n/a (not implemented)";
    case "failed":
      return "FAILED (see errors)";
    case "skipped":
      return "skipped";
    case "ok":
      return "";
  }
}

export type Table = {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
};

/** Per-case table of one fixture. */
export function caseTable(summaries: readonly CaseSummary[]): Table {
  const headers = [
    "run",
    "median s",
    "rows/s",
    "MB/s",
    "peak RSS MiB",
    "longest stmt",
    "output MB",
    "note",
  ];
  const rows = summaries.map((s) => {
    if (s.status !== "ok" || s.medianWallS === null) {
      return [s.case.label, "", "", "", "", "", "", statusText(s)];
    }
    const w = s.medianWallS;
    return [
      s.case.label,
      w.toFixed(2),
      fmtRate(s.rows / w),
      (s.csvBytes / MB / w).toFixed(1),
      s.peakRssBytes === null ? "" : (s.peakRssBytes / MIB).toFixed(0),
      s.longestStatementS === null
        ? (s.case.role === "rivet" && s.case.db === "pg" ? "<20 ms" : "")
        : `${(s.longestStatementS * 1000).toFixed(0)} ms`,
      s.outputBytes === null ? "" : (s.outputBytes / MB).toFixed(1),
      s.message ?? "",
    ];
  });
  return { headers, rows };
}

interface RatioSpec {
  readonly title: string;
  readonly rivet: string;
  readonly baseline: string;
  readonly target: number;
  readonly strict: boolean;
}

const RATIOS: readonly RatioSpec[] = [
  {
    title: "PG -> Parquet zstd vs psql \\copy binary",
    rivet: "pg/rivet-parquet",
    baseline: "pg/psql-copy-binary",
    target: 0.5,
    strict: false,
  },
  {
    title: "PG -> Parquet zstd vs psql | DuckDB",
    rivet: "pg/rivet-parquet",
    baseline: "pg/psql-duckdb-parquet",
    target: 1,
    strict: true,
  },
  {
    title: "PG -> CSV vs psql \\copy csv",
    rivet: "pg/rivet-csv",
    baseline: "pg/psql-copy-csv",
    target: 0.8,
    strict: false,
  },
  {
    title: "MySQL -> Parquet zstd vs mariadb --quick",
    rivet: "my/rivet-parquet",
    baseline: "my/mariadb-quick",
    target: 0.5,
    strict: false,
  },
];

function verdict(s: CaseSummary | undefined): string {
  if (!s) return "n/a (not run)";
  if (s.status === "not_implemented") return "n/a (not implemented)";
  if (s.status === "failed") return "n/a (run failed)";
  return "n/a";
}

/** Ratios Rivet/baseline (throughput, i.e. baseline time / Rivet time) and the two absolute targets. */
export function targetTable(
  byId: ReadonlyMap<string, CaseSummary>,
  fixtures: readonly FixtureName[],
): Table {
  const headers = ["target", "fixture", "Rivet", "baseline", "value", "goal", "verdict"];
  const rows: string[][] = [];
  for (const r of RATIOS) {
    for (const f of fixtures) {
      const rv = byId.get(`${f}/${r.rivet}`);
      const bl = byId.get(`${f}/${r.baseline}`);
      if (!rv && !bl) continue;
      const goal = `${r.strict ? ">" : ">="} ${r.target}`;
      if (rv?.medianWallS == null || bl?.medianWallS == null) {
        const why = rv?.medianWallS == null ? verdict(rv) : verdict(bl);
        rows.push([r.title, f, rv ? fmtS(rv) : "", bl ? fmtS(bl) : "", "", goal, why]);
        continue;
      }
      const ratio = bl.medianWallS / rv.medianWallS;
      const met = r.strict ? ratio > r.target : ratio >= r.target;
      rows.push([r.title, f, fmtS(rv), fmtS(bl), ratio.toFixed(2), goal, met ? "MET" : "MISSED"]);
    }
  }
  const all = [...byId.values()];
  const single = all.filter((s) => isSingleStream(s.case));
  const rss = single.filter((s) => s.peakRssBytes !== null);
  if (single.length > 0) {
    const worst = rss.reduce<CaseSummary | null>(
      (a, s) => a === null || s.peakRssBytes! > a.peakRssBytes! ? s : a,
      null,
    );
    rows.push([
      "Peak RSS of any single-stream Rivet export",
      worst ? worst.case.fixture : "all",
      worst ? worst.case.label : "",
      "",
      worst ? `${(worst.peakRssBytes! / MIB).toFixed(0)} MiB` : "",
      "< 150 MiB",
      worst ? (worst.peakRssBytes! < 150 * MIB ? "MET" : "MISSED") : "n/a (no Rivet run succeeded)",
    ]);
  }
  const pgRivet = all.filter((s) => s.case.role === "rivet" && s.case.db === "pg");
  const pgOk = pgRivet.filter((s) => s.status === "ok");
  if (pgRivet.length > 0) {
    const worst = pgOk.reduce<CaseSummary | null>(
      (a, s) => a === null || (s.longestStatementS ?? 0) > (a.longestStatementS ?? 0) ? s : a,
      null,
    );
    const secs = worst?.longestStatementS ?? 0;
    rows.push([
      "Longest single PG statement Rivet ran",
      worst ? worst.case.fixture : "all",
      worst ? worst.case.label : "",
      "",
      worst ? `${(secs * 1000).toFixed(0)} ms` : "",
      "< 250 ms",
      worst ? (secs < 0.25 ? "MET" : "MISSED") : "n/a (no Rivet run succeeded)",
    ]);
  }
  return { headers, rows };
}

function fmtS(s: CaseSummary): string {
  return s.medianWallS == null ? verdict(s) : `${s.medianWallS.toFixed(2)} s`;
}

/** Distinct Rivet errors with the runs that hit them. */
export function errorList(summaries: readonly CaseSummary[]): { message: string; ids: string[] }[] {
  const out = new Map<string, string[]>();
  for (const s of summaries) {
    if ((s.status === "failed" || s.status === "not_implemented") && s.message) {
      out.set(s.message, [...(out.get(s.message) ?? []), s.case.id]);
    }
  }
  return [...out].map(([message, ids]) => ({ message, ids }));
}

export function renderText(t: Table): string {
  const widths = t.headers.map((h, i) =>
    Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(t.headers), line(widths.map((w) => "-".repeat(w))), ...t.rows.map(line)].join("\n");
}

export function renderMarkdown(t: Table): string {
  const esc = (c: string) => c.replaceAll("|", "\\|");
  return [
    `| ${t.headers.map(esc).join(" | ")} |`,
    `| ${t.headers.map(() => "---").join(" | ")} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}
