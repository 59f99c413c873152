// Tests of the run report files (observability layer).
import assert from "node:assert/strict";
import * as path from "node:path";
import {
  buildRunReport,
  renderRunReportMarkdown,
  type RunReportInput,
  shellQuote,
  writeRunReport,
} from "./run_report.ts";

function input(over: Partial<RunReportInput> = {}): RunReportInput {
  return {
    run_id: "orders_20260101T120000.000",
    export_name: "orders",
    status: "success",
    started_at: "2026-01-01T12:00:00Z",
    finished_at: "2026-01-01T12:00:02Z",
    duration_ms: 2000,
    source_engine: null,
    destination_kind: "local",
    format: "parquet",
    compression: "zstd",
    tuning_profile: "balanced",
    batch_size: 10000,
    total_rows: 10,
    files_produced: 1,
    files_committed: 1,
    bytes_written: 2048,
    peak_rss_mb: 40,
    retries: 0,
    pg_temp_bytes_delta: null,
    validation: null,
    reconciliation: null,
    schema_changed: false,
    schema_changes: [],
    plan_warnings: [],
    error_message: null,
    config_path: "rivet.yaml",
    ...over,
  };
}

Deno.test("shellQuote leaves safe paths alone and single-quotes the rest", () => {
  assert.equal(shellQuote("conf/rivet-prod_1.yaml"), "conf/rivet-prod_1.yaml");
  assert.equal(shellQuote("my dir/rivet.yaml"), "'my dir/rivet.yaml'");
  assert.equal(shellQuote("it's.yaml"), `'it'\\''s.yaml'`);
  assert.equal(shellQuote(""), "''");
});

Deno.test("a failed run that committed files is resumable with a quoted command", () => {
  const r = buildRunReport(
    input({ status: "failed", error_message: "boom", config_path: "a b/rivet.yaml" }),
  );
  assert.equal(r.resumable, true);
  assert.equal(r.resume_command, "rivet run --config 'a b/rivet.yaml' --resume");
  assert.equal("files_committed" in r, false);
  const md = renderRunReportMarkdown(r);
  assert.match(md, /- \*\*Status:\*\* FAILED/);
  assert.match(md, /## Error\n\n```\nboom\n```/);
  assert.match(md, /## Resume\n\n```sh\nrivet run --config 'a b\/rivet.yaml' --resume/);
});

Deno.test("a failed run without committed files is not resumable", () => {
  const r = buildRunReport(input({ status: "failed", files_committed: 0, error_message: "x" }));
  assert.equal(r.resumable, false);
  assert.equal(r.resume_command, null);
  assert.match(renderRunReportMarkdown(r), /No files were committed/);
});

Deno.test("the markdown report shows verdicts, schema changes and plan warnings", () => {
  const md = renderRunReportMarkdown(buildRunReport(input({
    validation: {
      passed: true,
      manifest: {
        manifest_found: true,
        legacy_run: false,
        parts_verified: 3,
        parts_md5_verified: 1,
        parts_failed: 0,
        success_marker_consistent: true,
        manifest_self_consistent: true,
        passed: true,
        failures: [],
      },
    },
    reconciliation: { source_count: 10, exported_rows: 9, matched: false },
    schema_changed: true,
    schema_changes: [{
      added: ["note (Utf8)"],
      removed: [],
      type_changed: [["a", "Int32", "Int64"]],
    }],
    plan_warnings: [{ rule: "uncapped_unique", message: "unique check holds all keys" }],
  })));
  assert.match(md, /^# Rivet run: `orders_20260101T120000.000`/);
  assert.match(md, /Validation: PASSED/);
  assert.match(md, /3 parts verified \(1 md5, 2 size-only\), 0 failed, _SUCCESS consistent/);
  assert.match(md, /Reconciliation: MISMATCH/);
  assert.match(md, /## Schema changes\n\n- added: note \(Utf8\)/);
  assert.match(md, /## Plan warnings\n\n- \[uncapped_unique\]/);
  assert.doesNotMatch(md, /## Resume/);
});

Deno.test("writeRunReport writes summary.json and summary.md under .rivet/runs/<run_id>", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rivet_report_" });
  const res = await writeRunReport(dir, input());
  assert.ok(res.ok);
  assert.equal(res.jsonPath, path.join(dir, ".rivet/runs/orders_20260101T120000.000/summary.json"));
  const json = JSON.parse(await Deno.readTextFile(res.jsonPath));
  assert.equal(json.status, "success");
  assert.equal(json.resumable, false);
  assert.equal(json.resume_command, null);
  assert.equal(json.source_engine, null);
  assert.ok((await Deno.readTextFile(res.mdPath)).includes("## Throughput"));
});

Deno.test("writeRunReport returns an error instead of throwing when it cannot write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rivet_report_" });
  const blocker = path.join(dir, "not_a_dir");
  await Deno.writeTextFile(blocker, "x");
  const res = await writeRunReport(blocker, input());
  assert.equal(res.ok, false);
  if (!res.ok) assert.match(res.error.message, /Cannot write the run report/);
});
