// Counts and fingerprints the bytes of one data file where they are produced: xxh3-64 and MD5 (execution layer).
import { createHash } from "node:crypto";
import { createXXHash3 } from "hash-wasm";

/** The identity of one finished data file. */
export interface FileDigest {
  /** `xxh3:<16 hex>` (the manifest's content fingerprint). */
  readonly fingerprint: string;
  /** Base64 MD5 (what S3/GCS check an upload against). */
  readonly md5: string;
  readonly bytes: number;
}

type Xxh3 = Awaited<ReturnType<typeof createXXHash3>>;

/** Running xxh3 + MD5 of a byte stream; `create()` once, `update()` per chunk, `finish()` once. */
export class ContentDigest {
  #bytes = 0;
  readonly #md5 = createHash("md5");
  readonly #xxh: Xxh3;

  private constructor(xxh: Xxh3) {
    this.#xxh = xxh;
    xxh.init();
  }

  static async create(): Promise<ContentDigest> {
    return new ContentDigest(await createXXHash3());
  }

  get bytes(): number {
    return this.#bytes;
  }

  update(chunk: Uint8Array): void {
    this.#bytes += chunk.byteLength;
    this.#md5.update(chunk);
    this.#xxh.update(chunk);
  }

  finish(): FileDigest {
    return {
      fingerprint: `xxh3:${this.#xxh.digest("hex")}`,
      md5: this.#md5.digest("base64"),
      bytes: this.#bytes,
    };
  }
}
