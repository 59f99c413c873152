// S3 destination: objects stream as multipart uploads to a hidden temp key and are copied to their final key on commit (execution layer).
import { createHash } from "node:crypto";
import { stagedUpload } from "../staged_upload.ts";
import { cleanObjectName, randomHex } from "../object_names.ts";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { DestinationError } from "../../errors.ts";
import type { Destination, ObjectUpload, StoredObject } from "../destination.ts";
import { s3Error } from "./s3_errors.ts";

export interface S3DestinationOptions {
  readonly bucket: string;
  /** Key prefix; keys are `prefix + name` (plain concatenation, spec 3.6). */
  readonly prefix?: string;
  readonly region?: string;
  /** Custom endpoint (MinIO, R2, s3rver); implies path-style addressing. */
  readonly endpoint?: string;
  /** Static keys, read by the caller from access_key_env / secret_key_env / session_token_env. */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** Named profile (aws_profile); without it and without keys the default AWS chain is used. */
  readonly profile?: string;
  /** First part size of multipart uploads (default 8 MiB, at least 5 MiB); it doubles every 1000 parts. */
  readonly partSize?: number;
  /** Parts uploaded at once per object (default 4); memory per object is about (this + 1) parts. */
  readonly concurrency?: number;
  /** Attempts per request including the first (SDK retries; default 3). */
  readonly maxAttempts?: number;
  /** Keys per ListObjectsV2 page (default: the store's, 1000 on AWS). */
  readonly listPageSize?: number;
}

/** Where uncommitted objects live, relative to the prefix; `list` hides it. */
export const S3_TEMP_DIR = "_rivet_tmp/";

const MIB = 1024 * 1024;
const MIN_PART = 5 * MIB;
const MAX_PART = 5 * 1024 * MIB;
/** Largest object a single CopyObject may copy; larger ones are copied part by part. */
const MAX_SINGLE_COPY = 5 * 1024 * MIB;
const MAX_PARTS = 10_000;

/**
 * Size of part `n` (1-based): `first` for parts 1-1000, then doubling every 1000 parts, so that
 * 10,000 parts reach past S3's 5 TiB object limit while small files keep small parts.
 */
export function partSizeFor(n: number, first = 8 * MIB): number {
  return Math.min(MAX_PART, first * 2 ** Math.floor((n - 1) / 1000));
}

export class S3Destination implements Destination {
  readonly kind = "s3";
  readonly uri: string;
  readonly streaming = false;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #concurrency: number;
  readonly #secrets: string[];
  readonly #listPageSize: number | undefined;

  constructor(opts: S3DestinationOptions) {
    if (!opts.bucket) {
      throw new DestinationError("The S3 destination has no bucket", {
        hint: "set destination.bucket",
      });
    }
    this.#bucket = opts.bucket;
    this.#prefix = opts.prefix ?? "";
    this.uri = `s3://${this.#bucket}/${this.#prefix}`;
    this.#partSize = Math.max(MIN_PART, opts.partSize ?? 8 * MIB);
    this.#concurrency = Math.max(1, opts.concurrency ?? 4);
    this.#listPageSize = opts.listPageSize;
    this.#secrets = [opts.credentials?.secretAccessKey ?? "", opts.credentials?.sessionToken ?? ""];
    const config: S3ClientConfig = {
      // Stream bodies are never sent as aws-chunked: stores that predate it (s3rver, some
      // S3-compatible servers) would keep the framing. Parts carry Content-MD5 instead.
      requestChecksumCalculation: "WHEN_REQUIRED",
      maxAttempts: opts.maxAttempts ?? 3,
    };
    if (opts.region !== undefined) config.region = opts.region;
    else if (opts.endpoint !== undefined) config.region = "us-east-1"; // R2/MinIO ignore it
    if (opts.endpoint !== undefined) {
      config.endpoint = opts.endpoint;
      config.forcePathStyle = true;
    }
    if (opts.credentials !== undefined) {
      const c = opts.credentials;
      config.credentials = {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }),
      };
    } else if (opts.profile !== undefined) {
      config.profile = opts.profile;
    }
    this.#client = new S3Client(config);
  }

  create(name: string): Promise<ObjectUpload> {
    const clean = cleanObjectName(name);
    const temp = `${this.#prefix}${S3_TEMP_DIR}${randomHex()}/${clean}`;
    const writer = new MultipartWriter(this, temp, this.#partSize, this.#concurrency);
    return Promise.resolve(stagedUpload(
      clean,
      writer,
      (target) => writer.commitTo(target, this.#key(target)),
      (target) => this.#uriOf(this.#key(target)),
    ));
  }

  async put(name: string, bytes: Uint8Array): Promise<StoredObject> {
    const clean = cleanObjectName(name);
    return await this.putObject(clean, this.#key(clean), bytes, md5Of(bytes));
  }

  /** One PutObject with Content-MD5 (the store rejects a body that changed in transit). */
  async putObject(
    name: string,
    key: string,
    bytes: Uint8Array,
    md5: Uint8Array,
  ): Promise<StoredObject> {
    const res = await this.send("write", key, () =>
      this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.length,
          ContentMD5: toBase64(md5),
        }),
      ));
    return stored(name, bytes.length, confirmedMd5(res.ETag, res.ServerSideEncryption, md5));
  }

  async head(name: string): Promise<StoredObject | null> {
    const clean = cleanObjectName(name);
    const key = this.#key(clean);
    try {
      const res = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: key }),
      );
      return stored(clean, res.ContentLength ?? 0, etagMd5(res.ETag, res.ServerSideEncryption));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw s3Error("read the metadata of", this.#uriOf(key), err, this.#secrets);
    }
  }

  async read(name: string): Promise<Uint8Array | null> {
    const key = this.#key(cleanObjectName(name));
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      if (res.Body === undefined) return new Uint8Array(0);
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (isNotFound(err)) return null;
      throw s3Error("read", this.#uriOf(key), err, this.#secrets);
    }
  }

  /** Every committed object under the prefix (ListObjectsV2, all pages), temp objects hidden. */
  async list(): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const res = await this.send("list", this.#prefix, () =>
        this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#prefix,
            ...(this.#listPageSize === undefined ? {} : { MaxKeys: this.#listPageSize }),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        ));
      for (const o of res.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.#prefix)) continue;
        const name = o.Key.slice(this.#prefix.length);
        if (name === "" || name.startsWith(S3_TEMP_DIR)) continue;
        out.push(stored(name, o.Size ?? 0, etagMd5(o.ETag, undefined)));
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<void> {
    const key = this.#key(cleanObjectName(name));
    await this.send(
      "delete",
      key,
      () => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key })),
    );
  }

  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  // ---- used by MultipartWriter ---------------------------------------------------------------

  get bucket(): string {
    return this.#bucket;
  }

  get client(): S3Client {
    return this.#client;
  }

  /** Runs one SDK call and wraps its failure as `Cannot <action> s3://bucket/key`. */
  async send<T>(action: string, key: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw s3Error(action, this.#uriOf(key), err, this.#secrets);
    }
  }

  #key(name: string): string {
    return `${this.#prefix}${name}`;
  }

  #uriOf(key: string): string {
    return `s3://${this.#bucket}/${key}`;
  }
}

/**
 * Buffers the stream into parts and uploads them (at most `concurrency` at once, so `write`
 * waits: backpressure) to a temp key. An object smaller than one part is never uploaded before
 * commit: it is PUT straight to its final key then, which needs no copy.
 */
class MultipartWriter {
  readonly #dest: S3Destination;
  readonly #temp: string;
  readonly #firstPart: number;
  readonly #concurrency: number;
  readonly #md5 = createHash("md5");
  #size = 0;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #uploadId: string | null = null;
  #parts: { PartNumber: number; ETag: string }[] = [];
  #nextPart = 1;
  #inFlight = new Set<Promise<void>>();
  #failure: unknown = null;
  /** Set when the stream closed: the whole body (small object) or null (multipart, completed). */
  #small: Uint8Array | null = null;
  #tempComplete = false;
  #digest: Uint8Array | null = null;
  #discarded = false;

  constructor(dest: S3Destination, temp: string, firstPart: number, concurrency: number) {
    this.#dest = dest;
    this.#temp = temp;
    this.#firstPart = firstPart;
    this.#concurrency = concurrency;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    this.#md5.update(chunk);
    this.#size += chunk.length;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= this.#currentPartSize()) {
      await this.#startPart(this.#take(this.#currentPartSize()));
    }
  }

  /** The stream closed: uploads the rest and completes the multipart upload at the temp key. */
  async finish(): Promise<void> {
    this.#throwIfFailed();
    this.#digest = new Uint8Array(this.#md5.digest());
    if (this.#uploadId === null) {
      this.#small = this.#take(this.#buffered);
      return;
    }
    if (this.#buffered > 0) await this.#startPart(this.#take(this.#buffered));
    await Promise.allSettled([...this.#inFlight]);
    this.#throwIfFailed();
    const uploadId = this.#uploadId;
    const parts = [...this.#parts].sort((a, b) => a.PartNumber - b.PartNumber);
    await this.#dest.send(
      "complete the multipart upload of",
      this.#temp,
      () =>
        this.#dest.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.#dest.bucket,
            Key: this.#temp,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
    );
    this.#tempComplete = true;
  }

  /** Makes the object visible under `key`: one PUT (small) or a server-side copy of the temp key. */
  async commitTo(name: string, key: string): Promise<StoredObject> {
    const digest = this.#digest!;
    if (this.#small !== null) return await this.#dest.putObject(name, key, this.#small, digest);
    const { bucket, client } = this.#dest;
    if (this.#size <= MAX_SINGLE_COPY) {
      await this.#dest.send("copy the uploaded temp object to", key, () =>
        client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: key,
            CopySource: copySource(bucket, this.#temp),
          }),
        ));
    } else {
      await this.#multipartCopy(key);
    }
    const head = await this.#dest.send(
      "check the committed object",
      key,
      () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
    );
    if (head.ContentLength !== this.#size) {
      throw new DestinationError(
        `Cannot commit s3://${bucket}/${key}: the store holds ${head.ContentLength} bytes, ${this.#size} were written`,
        { retryable: true, hint: "retry the export; the object was changed while it was copied" },
      );
    }
    await this.discard(); // the temp object
    return stored(name, this.#size, confirmedMd5(head.ETag, head.ServerSideEncryption, digest));
  }

  /** Aborts the multipart upload and deletes the temp object; never throws (best effort). */
  async discard(): Promise<void> {
    if (this.#discarded) return;
    this.#discarded = true;
    this.#failure ??= new DestinationError("the upload was aborted");
    this.#chunks = [];
    this.#small = null;
    await Promise.allSettled([...this.#inFlight]);
    const { bucket, client } = this.#dest;
    try {
      if (this.#tempComplete) {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: this.#temp }));
      } else if (this.#uploadId !== null) {
        await client.send(
          new AbortMultipartUploadCommand({
            Bucket: bucket,
            Key: this.#temp,
            UploadId: this.#uploadId,
          }),
        );
      }
    } catch {
      /* unreachable store: an incomplete upload expires with the bucket's lifecycle rule */
    }
  }

  #currentPartSize(): number {
    return partSizeFor(this.#nextPart, this.#firstPart);
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }

  /** Removes the first `n` buffered bytes as one array. */
  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const head = this.#chunks[0]!;
      const k = Math.min(head.length, n - off);
      out.set(head.subarray(0, k), off);
      off += k;
      if (k === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(k);
    }
    this.#buffered -= n;
    return out;
  }

  async #startPart(body: Uint8Array): Promise<void> {
    const { bucket, client } = this.#dest;
    if (this.#uploadId === null) {
      const res = await this.#dest.send(
        "start a multipart upload to",
        this.#temp,
        () => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: this.#temp })),
      );
      if (res.UploadId === undefined) {
        throw new DestinationError(`The store returned no upload id for ${this.#temp}`);
      }
      this.#uploadId = res.UploadId;
    }
    while (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
    const partNumber = this.#nextPart++;
    if (partNumber > MAX_PARTS) {
      throw new DestinationError(`Cannot upload ${this.#temp}: more than ${MAX_PARTS} parts`);
    }
    const uploadId = this.#uploadId;
    const task = this.#dest.send(`upload part ${partNumber} of`, this.#temp, () =>
      client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: this.#temp,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
          ContentMD5: toBase64(md5Of(body)),
        }),
      )).then(
        (res) => {
          this.#parts.push({ PartNumber: partNumber, ETag: res.ETag ?? "" });
        },
        (err) => {
          this.#failure ??= err;
        },
      ).finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  /** Copies an object above 5 GiB with UploadPartCopy ranges into a multipart upload at `key`. */
  async #multipartCopy(key: string): Promise<void> {
    const { bucket, client } = this.#dest;
    const created = await this.#dest.send(
      "start a multipart copy to",
      key,
      () => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })),
    );
    const uploadId = created.UploadId!;
    const partSize = Math.max(512 * MIB, Math.ceil(this.#size / MAX_PARTS));
    const count = Math.ceil(this.#size / partSize);
    const parts: { PartNumber: number; ETag: string }[] = [];
    try {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const i = next++;
          const start = i * partSize;
          const end = Math.min(this.#size, start + partSize) - 1;
          const res = await this.#dest.send(`copy part ${i + 1} to`, key, () =>
            client.send(
              new UploadPartCopyCommand({
                Bucket: bucket,
                Key: key,
                UploadId: uploadId,
                PartNumber: i + 1,
                CopySource: copySource(bucket, this.#temp),
                CopySourceRange: `bytes=${start}-${end}`,
              }),
            ));
          parts.push({ PartNumber: i + 1, ETag: res.CopyPartResult?.ETag ?? "" });
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#concurrency, count) }, worker));
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.#dest.send("complete the multipart copy to", key, () =>
        client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ));
    } catch (err) {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      ).catch(() => {});
      throw err;
    }
  }
}

function stored(name: string, size: number, md5: string | undefined): StoredObject {
  return md5 === undefined ? { name, size } : { name, size, md5 };
}

/** `x-amz-copy-source`: bucket/key with the key URL-encoded (slashes kept). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, "/")}`;
}

/**
 * The base64 MD5 an ETag stands for, or undefined: multipart ETags (`<hex>-<n>`) and ETags of
 * SSE-KMS / SSE-C objects are not MD5s of the content.
 */
export function etagMd5(etag: string | undefined, sse: string | undefined): string | undefined {
  if (etag === undefined || (sse !== undefined && sse !== "AES256")) return undefined;
  const hex = etag.replace(/^"|"$/g, "");
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
  return toBase64(Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16)));
}

/** The MD5 we computed, reported only when the store's ETag confirms it. */
function confirmedMd5(
  etag: string | undefined,
  sse: string | undefined,
  digest: Uint8Array,
): string | undefined {
  const mine = toBase64(digest);
  return etagMd5(etag, sse) === mine ? mine : undefined;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === "NotFound" || e?.name === "NoSuchKey" ||
    (e?.$metadata?.httpStatusCode === 404 && e?.name !== "NoSuchBucket");
}

function md5Of(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("md5").update(bytes).digest());
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
