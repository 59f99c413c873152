// Writes a stream of record batches into one or more encoded files, rotating at max_file_size (execution layer).
import type * as arrow from "apache-arrow";
import type { Destination, ObjectUpload } from "../destination/destination.ts";
import type { FileDigest, Format } from "../format/format.ts";
import { PartDigest } from "./part_digest.ts";

/** A fully written part, not yet visible at the destination. */
export interface PendingPart {
  readonly upload: ObjectUpload;
  readonly rows: number;
  readonly bytes: number;
  readonly contentFingerprint: string;
  readonly contentMd5: string;
}

interface OpenPart {
  readonly upload: ObjectUpload;
  readonly writer: WritableStreamDefaultWriter<arrow.RecordBatch>;
  /** Bytes that reached the destination stream so far (for max_file_size). */
  readonly counted: { bytes: number };
  /** The file's digest, valid once the pipe has finished. */
  readonly digest: () => Promise<FileDigest>;
  readonly piped: Promise<void>;
  rows: number;
}

/**
 * Feeds batches to a format encoder whose bytes stream into the destination. A new part starts
 * after a batch that brought the current part to `maxBytes` (a batch is never split). Nothing
 * is opened before the first row, so a zero-row export writes no file. The encoder fingerprints
 * its own bytes where it produces them (`FormatEncoder.digest`); only an encoder without that is
 * hashed here.
 */
export class PartSink {
  readonly pending: PendingPart[] = [];
  #current: OpenPart | null = null;
  #rows = 0;

  constructor(
    private readonly format: Format,
    private readonly destination: Destination,
    private readonly provisionalName: (index: number) => string,
    private readonly maxBytes: number | null,
  ) {}

  get rows(): number {
    return this.#rows;
  }

  async write(batch: arrow.RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    const part = this.#current ?? await this.#open(batch.schema);
    await part.writer.write(batch);
    part.rows += batch.numRows;
    this.#rows += batch.numRows;
    if (this.maxBytes !== null && part.counted.bytes >= this.maxBytes) await this.#close();
  }

  /** Finishes the open part (its footer is written); call once after the last batch. */
  async finish(): Promise<void> {
    if (this.#current) await this.#close();
  }

  /** Discards every part that was written but not committed. */
  async abort(): Promise<void> {
    const open = this.#current;
    this.#current = null;
    if (open) {
      await open.writer.abort().catch(() => {});
      await open.piped.catch(() => {});
      await open.upload.abort().catch(() => {});
    }
    for (const p of this.pending.splice(0)) await p.upload.abort().catch(() => {});
  }

  async #open(schema: arrow.Schema): Promise<OpenPart> {
    const encoder = await this.format.encoder(schema);
    const upload = await this.destination.create(this.provisionalName(this.pending.length));
    const counted = { bytes: 0 };
    let bytes = encoder.stream.readable;
    let digest: () => Promise<FileDigest>;
    if (encoder.digest) {
      digest = encoder.digest;
      bytes = bytes.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            counted.bytes += chunk.byteLength;
            controller.enqueue(chunk);
          },
        }),
      );
    } else {
      const hashed = new PartDigest();
      digest = () => Promise.resolve(hashed.result);
      bytes = bytes.pipeThrough(hashed.stream).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            counted.bytes += chunk.byteLength;
            controller.enqueue(chunk);
          },
        }),
      );
    }
    const piped = bytes.pipeTo(upload.writable);
    piped.catch(() => {}); // observed through the writer and awaited in #close
    const part: OpenPart = {
      upload,
      writer: encoder.stream.writable.getWriter(),
      counted,
      digest,
      piped,
      rows: 0,
    };
    this.#current = part;
    return part;
  }

  async #close(): Promise<void> {
    const part = this.#current!;
    await part.writer.close();
    await part.piped;
    const d = await part.digest();
    this.#current = null;
    if (d.bytes !== part.counted.bytes) {
      throw new Error(
        `part ${this.pending.length}: the encoder fingerprinted ${d.bytes} bytes but ${part.counted.bytes} were written`,
      );
    }
    this.pending.push({
      upload: part.upload,
      rows: part.rows,
      bytes: d.bytes,
      contentFingerprint: d.fingerprint,
      contentMd5: d.md5,
    });
  }
}
