// The contract of a destination: named objects written as streams, visible only once committed (execution layer).

/** An object that is durable at the destination. */
export interface StoredObject {
  /** Path relative to the destination prefix. */
  readonly name: string;
  readonly size: number;
  /** Base64 MD5 of the content when the store reports one. */
  readonly md5?: string;
}

/** One object being written. Nothing is visible under its final name until `commit`. */
export interface ObjectUpload {
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Makes the fully written object visible (after the writable closed), under `finalName` when
   * given (names that depend on the whole run, like `_part<N>`, are only known at the end),
   * otherwise under the name passed to `create`.
   */
  commit(finalName?: string): Promise<StoredObject>;
  /** Discards what was written; safe to call at any point, also after a failed write. */
  abort(): Promise<void>;
}

export interface Destination {
  /** `local`, `stdout`, `s3`, `gcs`. */
  readonly kind: string;
  /** A URI for messages and manifests, e.g. `file://./out` or `s3://bucket/prefix`. Never holds secrets. */
  readonly uri: string;
  /** Whether data streams straight out (stdout): no manifest, no listing, no re-reading. */
  readonly streaming: boolean;
  /** Starts writing the object `name` (relative to the prefix). */
  create(name: string): Promise<ObjectUpload>;
  /** Writes a small object in one piece, committed immediately (manifest, markers). */
  put(name: string, bytes: Uint8Array): Promise<StoredObject>;
  /** Size and MD5 of an object, or null when it does not exist. */
  head(name: string): Promise<StoredObject | null>;
  /** The bytes of an object, or null when it does not exist. */
  read(name: string): Promise<Uint8Array | null>;
  /** Every object under the prefix, recursively, with names relative to the prefix. */
  list(): Promise<StoredObject[]>;
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}
