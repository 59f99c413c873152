// A pass-through stage that counts and fingerprints the bytes of one data file (execution layer).
import { createHash } from "node:crypto";
import { createXXHash3 } from "hash-wasm";

/** Counts bytes and computes xxh3-64 and MD5 of everything that flows through `stream`. */
export class PartDigest {
  readonly stream: TransformStream<Uint8Array, Uint8Array>;
  #bytes = 0;
  #md5 = createHash("md5");
  #xxh: Awaited<ReturnType<typeof createXXHash3>> | null = null;
  #fingerprint: string | null = null;
  #md5b64: string | null = null;

  constructor() {
    this.stream = new TransformStream<Uint8Array, Uint8Array>({
      start: async () => {
        this.#xxh = await createXXHash3();
        this.#xxh.init();
      },
      transform: (chunk, controller) => {
        this.#bytes += chunk.byteLength;
        this.#md5.update(chunk);
        this.#xxh!.update(chunk);
        controller.enqueue(chunk);
      },
      flush: () => {
        this.#fingerprint = `xxh3:${this.#xxh!.digest("hex")}`;
        this.#md5b64 = this.#md5.digest("base64");
      },
    });
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `xxh3:<16 hex>`; available once the stream has closed. */
  get fingerprint(): string {
    if (this.#fingerprint === null) throw new Error("PartDigest read before the stream closed");
    return this.#fingerprint;
  }

  /** Base64 MD5; available once the stream has closed. */
  get md5(): string {
    if (this.#md5b64 === null) throw new Error("PartDigest read before the stream closed");
    return this.#md5b64;
  }
}
