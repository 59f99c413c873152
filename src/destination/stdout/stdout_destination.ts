// Stdout destination: part bytes go straight to standard output as they arrive, nothing is stored (execution layer).
//
// Deviation from 0.9.0 (which buffered each part in a temp file, then copied it): bytes stream
// through unbuffered, so `abort` cannot take back what was already written.
import { DestinationError } from "../../errors.ts";
import type { Destination, ObjectUpload, StoredObject } from "../destination.ts";

/** The one thing this destination needs from stdout (`Deno.stdout` fits). */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
}

export class StdoutDestination implements Destination {
  readonly kind = "stdout";
  readonly uri = "stdout://";
  readonly streaming = true;
  readonly #out: ByteSink;
  #busy: string | undefined;

  constructor(out: ByteSink = Deno.stdout) {
    this.#out = out;
  }

  create(name: string): Promise<ObjectUpload> {
    if (this.#busy !== undefined) {
      return Promise.reject(
        new DestinationError(
          `Cannot start '${name}' on stdout while '${this.#busy}' is still being written`,
          {
            hint:
              "stdout takes one part at a time; use a local or cloud destination for parallel exports",
          },
        ),
      );
    }
    this.#busy = name;
    const out = this.#out;
    let size = 0;
    let closed = false;
    const release = (): void => {
      if (this.#busy === name) this.#busy = undefined;
    };
    const writable = new WritableStream<Uint8Array>({
      async write(chunk) {
        let off = 0;
        try {
          while (off < chunk.length) off += await out.write(chunk.subarray(off));
        } catch (err) {
          throw new DestinationError(
            `Cannot write '${name}' to stdout: ${err instanceof Error ? err.message : err}`,
            {
              hint: "the reading end of the pipe may have closed",
              cause: err,
            },
          );
        }
        size += chunk.length;
      },
      close() {
        closed = true;
      },
      abort() {
        release();
      },
    });
    return Promise.resolve({
      writable,
      commit: () => {
        release();
        if (!closed) {
          return Promise.reject(
            new DestinationError(`Cannot commit '${name}' on stdout: its stream was not closed`),
          );
        }
        return Promise.resolve({ name, size });
      },
      abort: () => {
        release();
        return Promise.resolve();
      },
    });
  }

  /** Small objects (manifest, markers) are not written to stdout: they would corrupt the data. */
  put(name: string, bytes: Uint8Array): Promise<StoredObject> {
    return Promise.resolve({ name, size: bytes.length });
  }

  head(_name: string): Promise<StoredObject | null> {
    return Promise.resolve(null);
  }

  read(_name: string): Promise<Uint8Array | null> {
    return Promise.resolve(null);
  }

  list(): Promise<StoredObject[]> {
    return Promise.resolve([]);
  }

  delete(_name: string): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
