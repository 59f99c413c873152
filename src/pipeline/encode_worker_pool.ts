// Keeps long-lived encode workers: one per concurrently open file, reused for the next file (execution layer).
//
// A chunked run with `parallel: N` writes at most N files at a time, so it ends up with N workers
// that each encode one file after another; a worker whose file failed or was aborted is
// terminated instead of reused. Idle workers are terminated after IDLE_MS, so a process that
// does not end with `Deno.exit` (tests, library use) is not kept alive for long.
import type { EncoderModule, FromWorker, ToWorker } from "./encode_worker.ts";

const IDLE_MS = 2000;

const idle: Worker[] = [];
let idleTimer: ReturnType<typeof setTimeout> | undefined;

function spawn(): Worker {
  return new Worker(new URL("./encode_worker.ts", import.meta.url).href, { type: "module" });
}

function scheduleIdleStop(): void {
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  const timer = setTimeout(() => {
    idleTimer = undefined;
    for (const w of idle.splice(0)) w.terminate();
  }, IDLE_MS);
  Deno.unrefTimer(timer);
  idleTimer = timer;
}

/** One worker lent to one file. */
export class EncodeWorkerLease {
  #worker: Worker | null;

  constructor(
    worker: Worker,
    onMessage: (msg: FromWorker) => void,
    onError: (message: string) => void,
  ) {
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      onError(e.message);
    };
  }

  send(msg: ToWorker, transfer: Transferable[] = []): void {
    this.#worker?.postMessage(msg, transfer);
  }

  /** Returns the worker to the pool; call only after its file is `done`. */
  release(): void {
    const w = this.#worker;
    this.#worker = null;
    if (!w) return;
    w.onmessage = null;
    w.onerror = null;
    idle.push(w);
    scheduleIdleStop();
  }

  /** Terminates the worker (its file failed or was abandoned). */
  discard(): void {
    this.#worker?.terminate();
    this.#worker = null;
  }
}

/** Lends an idle worker, or starts one. */
export function leaseEncodeWorker(
  onMessage: (msg: FromWorker) => void,
  onError: (message: string) => void,
): EncodeWorkerLease {
  return new EncodeWorkerLease(idle.pop() ?? spawn(), onMessage, onError);
}

/**
 * Starts loading encoder `module` in an idle worker (starting one when none is idle), so
 * the first file of a run does not wait for the module load and wasm instantiation.
 */
export function warmEncodeWorker(module: EncoderModule): void {
  if (idle.length === 0) {
    idle.push(spawn());
    scheduleIdleStop();
  }
  const msg: ToWorker = { kind: "warm", module };
  idle[idle.length - 1]!.postMessage(msg);
}
