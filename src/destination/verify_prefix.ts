// Reads manifest.json, _SUCCESS and the listing of a destination prefix and verifies them (spec 8.1) (execution layer).
import { describeError } from "../errors.ts";
import {
  MANIFEST_NAME,
  type ReadFailure,
  SUCCESS_NAME,
  type Verification,
  verifyPrefix,
} from "../manifest.ts";
import type { Destination, StoredObject } from "./destination.ts";

/** The destination calls verification needs. */
export type VerifiableDestination = Pick<Destination, "read" | "list" | "streaming" | "uri">;

/**
 * Verifies the prefix of a non-streaming destination. A failing read becomes a
 * `*_read_error` / `list_prefix_error` failure in the result, never an exception.
 */
export async function verifyDestinationPrefix(
  dest: VerifiableDestination,
  verify: "size" | "content" = "size",
): Promise<Verification> {
  if (dest.streaming) {
    throw new Error(`verifyDestinationPrefix: ${dest.uri} streams its data and cannot be verified`);
  }
  const attempt = async <T>(read: () => Promise<T>): Promise<T | ReadFailure> => {
    try {
      return await read();
    } catch (err) {
      return { error: describeError(err) };
    }
  };
  const manifest = await attempt(() => dest.read(MANIFEST_NAME));
  const marker = await attempt(() => dest.read(SUCCESS_NAME));
  const listing = await attempt<StoredObject[]>(() => dest.list());
  return await verifyPrefix({ manifest, marker, listing, verify });
}
