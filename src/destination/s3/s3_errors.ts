// Turns AWS SDK failures into DestinationErrors that name the object and say what to do (execution layer).
import { DestinationError, redact } from "../../errors.ts";

/** The fields of an AWS SDK v3 service or network error this module looks at. */
interface AwsErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestTimeout",
  "RequestTimeTooSkewed",
  "InternalError",
  "ServiceUnavailable",
]);

const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "TimeoutError",
  "RequestTimeoutError",
  "NetworkingError",
]);

/**
 * A DestinationError for a failed S3 call: `Cannot <action> s3://bucket/key: <reason>` with a hint.
 * Retryable for 5xx, throttling and network failures; `secrets` are removed from the text.
 */
export function s3Error(
  action: string,
  uri: string,
  err: unknown,
  secrets: readonly string[] = [],
): DestinationError {
  if (err instanceof DestinationError) return err;
  const e = (typeof err === "object" && err !== null ? err : {}) as AwsErrorShape;
  const name = e.name ?? "";
  const code = e.code ?? "";
  const status = e.$metadata?.httpStatusCode;
  const detail = e.message ?? String(err);
  let reason = detail;
  let hint = "check destination.bucket, destination.prefix and the credentials";
  let retryable = false;
  if (name === "NoSuchBucket") {
    reason = "the bucket does not exist";
    hint =
      "create the bucket, or fix destination.bucket (and destination.region / endpoint if the bucket lives elsewhere)";
  } else if (name === "InvalidAccessKeyId") {
    reason = "the access key id is not known to the store";
    hint =
      "check the variable named by destination.access_key_env (and the endpoint: keys of one store do not work on another)";
  } else if (name === "SignatureDoesNotMatch") {
    reason = "the request signature does not match";
    hint = "check the secret key in the variable named by destination.secret_key_env";
  } else if (
    name === "ExpiredToken" || name === "InvalidToken" || name === "TokenRefreshRequired"
  ) {
    reason = "the session token is expired or invalid";
    hint = "refresh the STS credentials (destination.session_token_env) or the profile's session";
  } else if (name === "AccessDenied" || name === "Forbidden" || status === 403) {
    reason = `access denied (${name || "403"})`;
    hint =
      "grant the credentials s3:PutObject, s3:GetObject, s3:DeleteObject, s3:ListBucket and s3:AbortMultipartUpload on this bucket/prefix";
  } else if (name === "CredentialsProviderError") {
    reason = `no AWS credentials found (${detail})`;
    hint =
      "set destination.access_key_env/secret_key_env, destination.aws_profile, or configure the default AWS credential chain";
  } else if (name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed") {
    reason = `the bucket is in another region (${name})`;
    hint = "set destination.region to the bucket's region";
  } else if (/region is missing/i.test(detail)) {
    reason = "no AWS region is configured";
    hint = "set destination.region (or AWS_REGION)";
  } else if (
    (status !== undefined && (status >= 500 || status === 429)) ||
    THROTTLING.has(name) || e.$retryable !== undefined
  ) {
    reason = `the store is unavailable or throttling (${name || status}): ${detail}`;
    hint = "retry later; the upload is retried automatically";
    retryable = true;
  } else if (NETWORK.has(code) || NETWORK.has(name) || NETWORK.has(causeCode(err))) {
    reason = `network failure (${code || name || "no response"}): ${detail}`;
    hint =
      "check that the endpoint is reachable from this machine; the upload is retried automatically";
    retryable = true;
  }
  return new DestinationError(redact(`Cannot ${action} ${uri}: ${reason}`, secrets), {
    hint,
    retryable,
    cause: err,
  });
}

function causeCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === "string" ? cause.code : "";
}
