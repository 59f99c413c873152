// Tests of the pure parts of the process runner: child arguments, how this program restarts itself, the stderr dump (execution layer tests).
import assert from "node:assert/strict";
import * as path from "node:path";
import { childArgs, type ChildResult, selfArgvPrefix, stderrDump } from "./process_runner.ts";

Deno.test("childArgs passes an absolute config, the export and only the flags that are set", () => {
  assert.deepEqual(childArgs("orders", { configPath: "conf/rivet.yaml" }), [
    "run",
    "--config",
    path.resolve("conf/rivet.yaml"),
    "--export",
    "orders",
  ]);
  assert.deepEqual(
    childArgs("orders", {
      configPath: "/etc/rivet.yaml",
      validate: true,
      reconcile: true,
      resume: false,
      force: true,
      params: { A: "1=2", B: "" },
      statePath: "state.db",
    }),
    [
      "run",
      "--config",
      "/etc/rivet.yaml",
      "--export",
      "orders",
      "--validate",
      "--reconcile",
      "--force",
      "--param",
      "A=1=2",
      "--param",
      "B=",
      "--state",
      path.resolve("state.db"),
    ],
  );
});

Deno.test("selfArgvPrefix is the binary alone when compiled", () => {
  assert.deepEqual(
    selfArgvPrefix({
      standalone: true,
      execPath: "/usr/local/bin/rivet",
      mainModule: "file:///tmp/deno-compile-rivet/src/main.ts",
      granted: () => true,
    }),
    ["/usr/local/bin/rivet"],
  );
});

Deno.test("selfArgvPrefix from source repeats deno run with the granted permissions and main.ts", () => {
  const granted = new Set(["net", "read", "env"]);
  assert.deepEqual(
    selfArgvPrefix({
      standalone: false,
      execPath: "/usr/bin/deno",
      mainModule: "file:///work/main/src/main.ts",
      granted: (p) => granted.has(p),
    }),
    [
      "/usr/bin/deno",
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "/work/main/src/main.ts",
    ],
  );
});

Deno.test("selfArgvPrefix of this test process names deno and this test module", () => {
  const prefix = selfArgvPrefix();
  assert.equal(prefix[0], Deno.execPath());
  assert.equal(prefix[1], "run");
  assert.ok(prefix.includes("--allow-run"), `missing --allow-run in ${prefix}`);
  assert.match(prefix.at(-1)!, /process_runner_test\.ts$/);
});

Deno.test("stderrDump skips children that wrote nothing to stderr", () => {
  const quiet = { name: "quiet", stderr: [], stderrDropped: 0 } as unknown as ChildResult;
  const loud = { name: "loud", stderr: ["a", "b"], stderrDropped: 0 } as unknown as ChildResult;
  assert.deepEqual(stderrDump([quiet]), []);
  assert.deepEqual(stderrDump([quiet, loud]), [
    "",
    "── stderr of export 'loud' (2 lines) ───────────────────────",
    "a",
    "b",
  ]);
});
