// Test-only crash injection: kills the process at a named point, with no cleanup (execution layer).
//
// `RIVET_TEST_PANIC_AT=<point>` names one of: after_source_read, after_file_write,
// after_manifest_update, after_cursor_commit, after_chunk_file:<i>, after_chunk_complete:<i>.
// The process then dies by SIGKILL, exactly like a machine losing power mid-run: no finally
// block, no manifest, no metric, no temp file cleanup. Crash tests rely on it.

import { writeStderr } from "../observe/log.ts";

let target: string | undefined;
try {
  target = Deno.env.get("RIVET_TEST_PANIC_AT") || undefined;
} catch {
  target = undefined;
}

/** Dies here when the crash point `name` is the one requested. */
export function crashPoint(name: string): void {
  if (target !== undefined && target === name) {
    writeStderr(`RIVET_TEST_PANIC_AT: crashing at ${name}`);
    Deno.kill(Deno.pid, "SIGKILL");
  }
}
