// Ctrl-C and SIGTERM handling for long commands: the first signal stops cleanly, a second one quits (coordinator).
import { writeStderr } from "../observe/log.ts";

let controller: AbortController | null = null;

/**
 * An AbortSignal that fires on the first SIGINT/SIGTERM. Work in flight is abandoned (nothing
 * half-written is published, chunk tasks stay resumable); a second signal exits at once.
 */
export function interruptSignal(): AbortSignal {
  if (controller) return controller.signal;
  const c = new AbortController();
  controller = c;
  const onSignal = () => {
    if (!c.signal.aborted) {
      writeStderr(
        "interrupted: stopping after abandoning in-flight parts (press Ctrl-C again to quit now)",
      );
      c.abort();
    } else {
      Deno.kill(Deno.pid, "SIGKILL");
    }
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(sig, onSignal);
    } catch { /* not supported on this platform (SIGTERM on Windows) */ }
  }
  return c.signal;
}
