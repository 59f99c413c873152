// The only way human text and JSON reports reach the terminal (observability layer).
import { redact } from "../errors.ts";

const encoder = new TextEncoder();

/** Human lines on stderr (redacted). */
export function printHuman(lines: readonly string[]): void {
  if (lines.length === 0) return;
  Deno.stderr.writeSync(encoder.encode(lines.map((l) => redact(l)).join("\n") + "\n"));
}

/** Machine output on stdout (JSON reports); never used when data goes to stdout. */
export async function printStdout(text: string): Promise<void> {
  const bytes = encoder.encode(text.endsWith("\n") ? text : text + "\n");
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

/** Whether stderr is an interactive terminal (live progress) or a log. */
export function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}
