// Table-driven tests of the pure parts of `rivet validate`: --date parsing, exit code and the pretty report (coordinator, tests).
import assert from "node:assert/strict";
import type { Verification } from "../manifest.ts";
import { UsageError } from "../errors.ts";
import {
  parseDateFlag,
  renderValidatePretty,
  validateExitCode,
  type ValidateReport,
} from "./validate_cli.ts";

const base: Verification = {
  manifest_found: true,
  legacy_run: false,
  parts_verified: 2,
  parts_md5_verified: 1,
  parts_failed: 0,
  success_marker_consistent: true,
  manifest_self_consistent: true,
  passed: true,
  failures: [],
};

const report = (
  v: Partial<Verification>,
  errors: ValidateReport["errors"] = [],
): ValidateReport => ({
  exports: [{
    export_name: "orders",
    resolved_prefix: "s3://b/p",
    verification: { ...base, ...v },
  }],
  errors,
  skipped: [],
});

Deno.test("parseDateFlag accepts calendar days and rejects anything else as a usage error", async () => {
  assert.equal((await parseDateFlag("2026-02-28")).toISOString(), "2026-02-28T00:00:00.000Z");
  for (const bad of ["2026-02-30", "2026-2-3", "20260203", "yesterday", ""]) {
    await assert.rejects(() => parseDateFlag(bad), UsageError, bad);
  }
});

Deno.test("validateExitCode fails only for a manifest that did not pass or an unreadable destination", () => {
  const cases: [string, ValidateReport, number][] = [
    ["passed", report({}), 0],
    ["legacy prefix", report({ manifest_found: false, legacy_run: true, passed: false }), 0],
    ["failed manifest", report({ passed: false }), 1],
    ["manifest read error", report({ manifest_found: false, passed: false }), 1],
    ["destination error", report({}, [{ export_name: "x", error: "cannot open" }]), 1],
  ];
  for (const [name, r, code] of cases) assert.equal(validateExitCode(r), code, name);
});

Deno.test("renderValidatePretty prints the spec 2.9 block with md5 and size-only counts", () => {
  const lines = renderValidatePretty(report({
    passed: false,
    parts_failed: 1,
    success_marker_consistent: false,
    failures: [
      { kind: "part_missing", path: "a.parquet" },
      {
        kind: "success_marker_stale",
        marker_fingerprint: "xxh3:1",
        manifest_fingerprint: "xxh3:2",
      },
    ],
  }));
  assert.deepEqual(lines, [
    "── orders ──",
    "  prefix:    s3://b/p",
    "  status:    FAILED",
    "  parts:     2 verified (1 md5, 1 size-only), 1 failed",
    "  _SUCCESS:  INCONSISTENT (see failures)",
    "  manifest:  self-consistent",
    "  failure:   part_missing: a.parquet",
    "  failure:   success_marker_stale: _SUCCESS names xxh3:1, manifest.json is xxh3:2",
  ]);
});

Deno.test("renderValidatePretty says absent (no signal) when there is no _SUCCESS", () => {
  const lines = renderValidatePretty(report({ success_marker_consistent: false }));
  assert.ok(lines.includes("  _SUCCESS:  absent (no signal)"), lines.join("\n"));
});
