// The ObjectUpload of an object streamed to a temporary name and copied to its final name on commit, shared by S3 and GCS (execution layer).
import { DestinationError } from "../errors.ts";
import type { ObjectUpload, StoredObject } from "./destination.ts";
import { cleanObjectName } from "./object_names.ts";

/** What a store's streaming writer offers: bytes in, then finish or discard. */
export interface StagedWriter {
  write(chunk: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * An upload of `name` through `writer`: committing needs the writable closed, happens once, and
 * discards the staged bytes when it fails; aborting discards them at any point.
 * `commitTo(target)` makes the staged object visible as `target`; `uriOf(target)` names it in
 * messages.
 */
export function stagedUpload(
  name: string,
  writer: StagedWriter,
  commitTo: (target: string) => Promise<StoredObject>,
  uriOf: (target: string) => string,
): ObjectUpload {
  let state: "open" | "closed" | "done" = "open";
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => writer.write(chunk),
    close: async () => {
      await writer.finish();
      state = "closed";
    },
    abort: async () => {
      state = "done";
      await writer.discard();
    },
  });
  return {
    writable,
    commit: async (finalName?: string): Promise<StoredObject> => {
      const target = finalName === undefined ? name : cleanObjectName(finalName);
      if (state !== "closed") {
        throw new DestinationError(
          `Cannot commit ${uriOf(target)}: the object's stream was ${
            state === "open" ? "not closed" : "aborted or already committed"
          }`,
        );
      }
      state = "done";
      try {
        return await commitTo(target);
      } catch (err) {
        await writer.discard();
        throw err;
      }
    },
    abort: async (): Promise<void> => {
      state = "done";
      await writer.discard();
    },
  };
}
