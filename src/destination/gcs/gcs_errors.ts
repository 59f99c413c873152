// Turns @google-cloud/storage failures into DestinationErrors that name the object and say what to do (execution layer).
import { DestinationError, redact } from "../../errors.ts";

/** The fields of a library ApiError / gaxios / network error this module looks at. */
interface GcsErrorShape {
  code?: unknown;
  status?: unknown;
  message?: string;
  errors?: { reason?: string; message?: string }[];
  response?: { status?: number };
}

const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ECONNABORTED",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

function statusOf(err: unknown): number | undefined {
  const e = (typeof err === "object" && err !== null ? err : {}) as GcsErrorShape;
  if (typeof e.code === "number") return e.code;
  if (typeof e.status === "number") return e.status;
  if (typeof e.response?.status === "number") return e.response.status;
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

/** A DestinationError for a failed GCS call: `Cannot <action> gs://bucket/name: <reason>` with a hint. */
export function gcsError(action: string, uri: string, err: unknown): DestinationError {
  if (err instanceof DestinationError) return err;
  const e = (typeof err === "object" && err !== null ? err : {}) as GcsErrorShape;
  const status = statusOf(err);
  const code = typeof e.code === "string" ? e.code : "";
  const detail = e.message ?? String(err);
  let reason = detail;
  let hint = "check destination.bucket, destination.prefix and the credentials";
  let retryable = false;
  if (status === 404 && /bucket/i.test(detail)) {
    reason = "the bucket does not exist";
    hint = "create the bucket, or fix destination.bucket";
  } else if (status === 401 || /Could not load the default credentials/i.test(detail)) {
    reason = `not authenticated (${detail})`;
    hint =
      "set destination.credentials_file to a service-account JSON key, run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS";
  } else if (status === 403) {
    reason = `permission denied (${detail})`;
    hint =
      "grant the account roles/storage.objectAdmin (or objectCreator + objectViewer + storage.objects.delete) on the bucket";
  } else if (status !== undefined && (status >= 500 || status === 429 || status === 408)) {
    reason = `the store is unavailable or throttling (${status}): ${detail}`;
    hint = "retry later; requests are retried automatically";
    retryable = true;
  } else if (
    NETWORK.has(code) || NETWORK.has(causeCode(err)) || /socket hang up|fetch failed/i.test(detail)
  ) {
    reason = `network failure (${code || causeCode(err) || "no response"}): ${detail}`;
    hint = "check that the endpoint is reachable from this machine";
    retryable = true;
  }
  return new DestinationError(redact(`Cannot ${action} ${uri}: ${reason}`), {
    hint,
    retryable,
    cause: err,
  });
}

function causeCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === "string" ? cause.code : "";
}
