// Object names and temporary-name suffixes shared by every destination (execution layer).
import { DestinationError } from "../errors.ts";

/** The object name normalized to `a/b/c`; rejects absolute names, `..` and NUL. */
export function cleanObjectName(name: string): string {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (name.startsWith("/") || parts.length === 0 || parts.includes("..") || name.includes("\0")) {
    throw new DestinationError(`Invalid object name '${name}'`, {
      hint: "object names must be relative paths inside the destination prefix or directory",
    });
  }
  return parts.join("/");
}

/** 16 random lowercase hex characters, for temporary names. */
export function randomHex(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
