// Table-driven tests of PostgreSQL error classification and messages (execution layer).
import assert from "node:assert/strict";
import { SourceError } from "../../errors.ts";
import { classifyPgError, toSourceError } from "./postgres_errors.ts";

const CASES: readonly [string, object, boolean, boolean, number][] = [
  // label, error, retryable, reconnect, extra delay
  ["connection refused", { code: "ECONNREFUSED", message: "connect ECONNREFUSED" }, true, true, 0],
  ["DNS failure", { code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND x" }, true, true, 0],
  ["connection exception 08006", { code: "08006", message: "x" }, true, true, 0],
  ["admin shutdown 57P01", { code: "57P01", message: "x" }, true, true, 15_000],
  ["too many connections 53300", { code: "53300", message: "x" }, true, true, 15_000],
  ["out of memory 53200", { code: "53200", message: "x" }, true, false, 5_000],
  ["serialization failure 40001", { code: "40001", message: "x" }, true, false, 1_000],
  ["deadlock 40P01", { code: "40P01", message: "x" }, true, false, 1_000],
  ["query canceled 57014", { code: "57014", message: "x" }, true, false, 0],
  ["lock timeout 55P03", { code: "55P03", message: "x" }, true, false, 1_000],
  ["wrong password 28P01", { code: "28P01", message: "x" }, false, false, 0],
  ["missing table 42P01", { code: "42P01", message: "x" }, false, false, 0],
  ["syntax error 42601", { code: "42601", message: "x" }, false, false, 0],
  ["division by zero 22012", { code: "22012", message: "x" }, false, false, 0],
  ["terminated connection", { message: "Connection terminated unexpectedly" }, true, true, 0],
  [
    "server without TLS",
    { message: "The server does not support SSL connections" },
    false,
    false,
    0,
  ],
  ["unknown driver error", { message: "something odd" }, false, false, 0],
];

for (const [label, err, retryable, reconnect, delay] of CASES) {
  Deno.test(`classifyPgError treats ${label} as ${retryable ? "transient" : "permanent"}`, () => {
    assert.deepEqual(classifyPgError(err), { retryable, reconnect, extraDelayMs: delay });
  });
}

Deno.test("classifyPgError treats 57014 under Rivet's statement_timeout as permanent", () => {
  assert.equal(classifyPgError({ code: "57014", message: "x" }, 30).retryable, false);
});

const ctx = {
  target: "127.0.0.1:5999/test",
  doing: "connecting",
  user: "app",
  secrets: ["hunter2"],
};

Deno.test("toSourceError says where a refused connection went and what to check", () => {
  const e = toSourceError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED" }, ctx);
  assert.ok(e instanceof SourceError);
  assert.equal(e.retryable, true);
  assert.equal(
    e.message,
    "cannot connect to PostgreSQL at 127.0.0.1:5999/test: connection refused — is the server running and the port right?",
  );
});

Deno.test("toSourceError reports a wrong password as permanent with a hint and no secret", () => {
  const e = toSourceError(
    { code: "28P01", message: 'password authentication failed for user "app" (hunter2)' },
    ctx,
  );
  assert.equal(e.retryable, false);
  assert.match(e.message, /password authentication failed for user 'app' \(28P01\)/);
  assert.match(e.hint ?? "", /password/);
  assert.doesNotMatch(e.message + (e.hint ?? ""), /hunter2/);
});

Deno.test("toSourceError keeps the server's message for a missing table", () => {
  const e = toSourceError(
    { code: "42P01", message: 'relation "nope" does not exist' },
    { ...ctx, doing: "running the export query" },
  );
  assert.equal(e.retryable, false);
  assert.equal(
    e.message,
    'PostgreSQL at 127.0.0.1:5999/test: running the export query failed: relation "nope" does not exist (42P01)',
  );
});

Deno.test("toSourceError explains a statement timeout", () => {
  const e = toSourceError(
    { code: "57014", message: "canceling statement due to statement timeout" },
    { ...ctx, doing: "running the export query", statementTimeoutS: 1 },
  );
  assert.equal(e.retryable, false);
  assert.match(e.message, /statement timeout of 1s/);
  assert.match(e.hint ?? "", /statement_timeout_s/);
});
