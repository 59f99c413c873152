// A pass-through stage that counts and fingerprints the bytes of one data file (execution layer).
//
// Used only for encoders that do not report their own digest (see `FormatEncoder.digest`).
import { ContentDigest, type FileDigest } from "../format/content_digest.ts";

/** Counts bytes and computes xxh3-64 and MD5 of everything that flows through `stream`. */
export class PartDigest {
  readonly stream: TransformStream<Uint8Array, Uint8Array>;
  #digest: ContentDigest | null = null;
  #result: FileDigest | null = null;

  constructor() {
    this.stream = new TransformStream<Uint8Array, Uint8Array>({
      start: async () => {
        this.#digest = await ContentDigest.create();
      },
      transform: (chunk, controller) => {
        this.#digest!.update(chunk);
        controller.enqueue(chunk);
      },
      flush: () => {
        this.#result = this.#digest!.finish();
      },
    });
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#digest?.bytes ?? 0;
  }

  /** The digest; available once the stream has closed. */
  get result(): FileDigest {
    if (this.#result === null) throw new Error("PartDigest read before the stream closed");
    return this.#result;
  }
}
