// Google Cloud Storage destination: objects stream as resumable uploads to a hidden temp name and are copied to their final name on commit (execution layer).
import { createHash } from "node:crypto";
import { stagedUpload } from "../staged_upload.ts";
import { cleanObjectName, randomHex } from "../object_names.ts";
import { type Bucket, type File, Storage, type StorageOptions } from "@google-cloud/storage";
import { PassThroughClient } from "google-auth-library";
import { DestinationError } from "../../errors.ts";
import type { Destination, ObjectUpload, StoredObject } from "../destination.ts";
import { gcsError, isNotFound } from "./gcs_errors.ts";

export interface GcsDestinationOptions {
  readonly bucket: string;
  /** Object name prefix; names are `prefix + name` (plain concatenation, spec 3.6). */
  readonly prefix?: string;
  /** Custom JSON API endpoint (emulator). Without it STORAGE_EMULATOR_HOST is honoured. */
  readonly endpoint?: string;
  /** Service-account JSON key file; without it Application Default Credentials are used. */
  readonly credentialsFile?: string;
  /** Sends no credentials at all (public buckets, emulators). */
  readonly allowAnonymous?: boolean;
  /** Resumable upload chunk size (default 8 MiB, a multiple of 256 KiB); also the largest single-request object. */
  readonly chunkSize?: number;
  /** Retries per request after the first (library default 3). */
  readonly maxRetries?: number;
}

/** Where uncommitted objects live, relative to the prefix; `list` hides it. */
export const GCS_TEMP_DIR = "_rivet_tmp/";

const MIB = 1024 * 1024;
const QUANTUM = 256 * 1024;

export class GcsDestination implements Destination {
  readonly kind = "gcs";
  readonly uri: string;
  readonly streaming = false;
  readonly #bucket: Bucket;
  readonly #bucketName: string;
  readonly #prefix: string;
  readonly #chunkSize: number;
  #checked: Promise<void> | null = null;

  constructor(opts: GcsDestinationOptions) {
    if (!opts.bucket) {
      throw new DestinationError("The GCS destination has no bucket", {
        hint: "set destination.bucket",
      });
    }
    if (opts.allowAnonymous && opts.credentialsFile !== undefined) {
      throw new DestinationError(
        "The GCS destination sets both allow_anonymous and credentials_file",
        { hint: "remove one of them" },
      );
    }
    this.#bucketName = opts.bucket;
    this.#prefix = opts.prefix ?? "";
    this.uri = `gs://${this.#bucketName}/${this.#prefix}`;
    const chunk = opts.chunkSize ?? 8 * MIB;
    this.#chunkSize = Math.max(QUANTUM, Math.ceil(chunk / QUANTUM) * QUANTUM);
    const config: StorageOptions = {};
    if (opts.endpoint !== undefined) {
      config.apiEndpoint = opts.endpoint.replace(/\/+$/, "");
      // A custom endpoint with a key file (private endpoint) still authenticates.
      if (opts.credentialsFile !== undefined) config.useAuthWithCustomEndpoint = true;
    }
    if (opts.credentialsFile !== undefined) config.keyFilename = opts.credentialsFile;
    if (opts.allowAnonymous) config.authClient = new PassThroughClient();
    if (opts.maxRetries !== undefined) config.retryOptions = { maxRetries: opts.maxRetries };
    this.#bucket = new Storage(config).bucket(this.#bucketName);
  }

  async create(name: string): Promise<ObjectUpload> {
    const clean = cleanObjectName(name);
    await this.#checkBucket();
    const temp = this.#bucket.file(`${this.#prefix}${GCS_TEMP_DIR}${randomHex()}/${clean}`);
    const writer = new ResumableWriter(this, temp, this.#chunkSize);
    return stagedUpload(
      clean,
      writer,
      (target) => writer.commitTo(target, this.#bucket.file(this.#key(target))),
      (target) => this.#uriOf(this.#key(target)),
    );
  }

  async put(name: string, bytes: Uint8Array): Promise<StoredObject> {
    const clean = cleanObjectName(name);
    await this.#checkBucket();
    return await this.saveObject(clean, this.#bucket.file(this.#key(clean)), bytes);
  }

  /** One single-request upload, MD5-validated by the library; all-or-nothing. */
  async saveObject(name: string, file: File, bytes: Uint8Array): Promise<StoredObject> {
    const md5 = createHash("md5").update(bytes).digest("base64");
    try {
      await file.save(bytes, {
        resumable: false,
        validation: "md5",
        metadata: { contentType: "application/octet-stream", md5Hash: md5 },
      });
    } catch (err) {
      throw gcsError("write", this.#uriOf(file.name), err);
    }
    return await this.describe(name, file, bytes.length, md5);
  }

  /** Size and MD5 of a just-written object, checked against what was written. */
  async describe(name: string, file: File, size: number, md5: string): Promise<StoredObject> {
    let meta: { size?: string | number; md5Hash?: string };
    try {
      [meta] = await file.getMetadata();
    } catch (err) {
      throw gcsError("check the committed object", this.#uriOf(file.name), err);
    }
    if (Number(meta.size) !== size || (meta.md5Hash !== undefined && meta.md5Hash !== md5)) {
      throw new DestinationError(
        `Cannot commit ${
          this.#uriOf(file.name)
        }: the store holds ${meta.size} bytes (MD5 ${meta.md5Hash}), ${size} bytes (MD5 ${md5}) were written`,
        {
          retryable: true,
          hint: "retry the export; the object was corrupted or changed in transit",
        },
      );
    }
    return stored(name, size, meta.md5Hash);
  }

  async head(name: string): Promise<StoredObject | null> {
    const clean = cleanObjectName(name);
    const file = this.#bucket.file(this.#key(clean));
    try {
      const [meta] = await file.getMetadata();
      return stored(clean, Number(meta.size ?? 0), meta.md5Hash);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw gcsError("read the metadata of", this.#uriOf(file.name), err);
    }
  }

  async read(name: string): Promise<Uint8Array | null> {
    const file = this.#bucket.file(this.#key(cleanObjectName(name)));
    try {
      const [buf] = await file.download();
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw gcsError("read", this.#uriOf(file.name), err);
    }
  }

  /** Every committed object under the prefix (all pages), temp objects hidden. */
  async list(): Promise<StoredObject[]> {
    await this.#checkBucket();
    let files: File[];
    try {
      [files] = await this.#bucket.getFiles({ prefix: this.#prefix, autoPaginate: true });
    } catch (err) {
      throw gcsError("list", this.#uriOf(this.#prefix), err);
    }
    const out: StoredObject[] = [];
    for (const f of files) {
      if (!f.name.startsWith(this.#prefix)) continue;
      const name = f.name.slice(this.#prefix.length);
      if (name === "" || name.startsWith(GCS_TEMP_DIR)) continue;
      out.push(stored(name, Number(f.metadata.size ?? 0), f.metadata.md5Hash));
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<void> {
    const file = this.#bucket.file(this.#key(cleanObjectName(name)));
    try {
      await file.delete({ ignoreNotFound: true });
    } catch (err) {
      throw gcsError("delete", this.#uriOf(file.name), err);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  uriOf(file: File): string {
    return this.#uriOf(file.name);
  }

  /**
   * Fails early and clearly when the bucket does not exist (404). Other answers (403: the
   * credentials may write objects without storage.buckets.get) let the real call decide.
   */
  #checkBucket(): Promise<void> {
    this.#checked ??= this.#bucket.getMetadata().then(
      () => {},
      (err) => {
        if (isNotFound(err)) {
          this.#checked = null;
          throw new DestinationError(
            `Cannot use gs://${this.#bucketName}: the bucket does not exist`,
            {
              hint:
                "create the bucket, or fix destination.bucket (and destination.endpoint / STORAGE_EMULATOR_HOST)",
              cause: err,
            },
          );
        }
        const code = (err as { code?: unknown } | null)?.code;
        if (typeof code !== "number") {
          this.#checked = null; // network failure: let the next call try again
          throw gcsError("reach", `gs://${this.#bucketName}`, err);
        }
      },
    );
    return this.#checked;
  }

  #key(name: string): string {
    return `${this.#prefix}${name}`;
  }

  #uriOf(key: string): string {
    return `gs://${this.#bucketName}/${key}`;
  }
}

/** The node Writable returned by `File.createWriteStream`, as far as this module uses it. */
interface NodeWritable {
  write(chunk: Uint8Array): boolean;
  end(): void;
  destroy(err?: Error): void;
  once(event: string, fn: (...args: unknown[]) => void): unknown;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  off(event: string, fn: (...args: unknown[]) => void): unknown;
}

/**
 * Buffers up to one chunk; a larger object goes through a resumable upload (chunked, so memory
 * stays at about one chunk) to the temp name, which becomes an object only when the upload
 * finishes. An object of at most one chunk is never uploaded before commit: it is saved straight
 * under its final name then, which needs no copy.
 */
class ResumableWriter {
  readonly #dest: GcsDestination;
  readonly #temp: File;
  readonly #chunkSize: number;
  readonly #md5 = createHash("md5");
  #size = 0;
  #chunks: Uint8Array[] = [];
  #stream: NodeWritable | null = null;
  #failure: unknown = null;
  #small: Uint8Array | null = null;
  #digest = "";
  #tempComplete = false;
  #discarded = false;

  constructor(dest: GcsDestination, temp: File, chunkSize: number) {
    this.#dest = dest;
    this.#temp = temp;
    this.#chunkSize = chunkSize;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    this.#md5.update(chunk);
    this.#size += chunk.length;
    if (this.#stream === null) {
      this.#chunks.push(chunk);
      if (this.#size <= this.#chunkSize) return;
      this.#stream = this.#open();
      const pending = this.#chunks;
      this.#chunks = [];
      for (const c of pending) await this.#push(c);
      return;
    }
    await this.#push(chunk);
  }

  async finish(): Promise<void> {
    this.#throwIfFailed();
    this.#digest = this.#md5.digest("base64");
    const stream = this.#stream;
    if (stream === null) {
      this.#small = concat(this.#chunks, this.#size);
      this.#chunks = [];
      return;
    }
    await this.#until(stream, "finish", () => stream.end());
    this.#tempComplete = true;
  }

  async commitTo(name: string, file: File): Promise<StoredObject> {
    if (this.#small !== null) return await this.#dest.saveObject(name, file, this.#small);
    try {
      await this.#temp.copy(file);
    } catch (err) {
      throw gcsError("copy the uploaded temp object to", this.#dest.uriOf(file), err);
    }
    const out = await this.#dest.describe(name, file, this.#size, this.#digest);
    await this.discard();
    return out;
  }

  /** Cancels the upload and deletes the temp object; never throws (best effort). */
  async discard(): Promise<void> {
    if (this.#discarded) return;
    this.#discarded = true;
    this.#failure ??= new DestinationError("the upload was aborted");
    this.#chunks = [];
    this.#small = null;
    if (this.#stream !== null && !this.#tempComplete) {
      this.#stream.destroy(new Error("upload aborted"));
    }
    if (this.#tempComplete) {
      await this.#temp.delete({ ignoreNotFound: true }).catch(() => {});
    }
  }

  #open(): NodeWritable {
    const stream = this.#temp.createWriteStream({
      resumable: true,
      chunkSize: this.#chunkSize,
      validation: "md5",
      metadata: { contentType: "application/octet-stream" },
    }) as unknown as NodeWritable;
    stream.on("error", (err) => {
      this.#failure ??= gcsError("upload", this.#dest.uriOf(this.#temp), err);
    });
    return stream;
  }

  async #push(chunk: Uint8Array): Promise<void> {
    const stream = this.#stream!;
    if (!stream.write(chunk)) await this.#until(stream, "drain");
    this.#throwIfFailed();
  }

  /** Resolves on `event`, rejects on an upload error (also one that happened before). */
  #until(stream: NodeWritable, event: string, start?: () => void): Promise<void> {
    this.#throwIfFailed();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        stream.off("error", failed);
        resolve();
      };
      const failed = (): void => {
        stream.off(event, done);
        reject(this.#failure);
      };
      stream.once(event, done);
      stream.once("error", failed);
      start?.();
    });
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}

function stored(name: string, size: number, md5: string | undefined): StoredObject {
  return md5 === undefined || md5 === "" ? { name, size } : { name, size, md5 };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
