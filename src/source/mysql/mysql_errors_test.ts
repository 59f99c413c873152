// Table-driven tests of the spec 4.11 MySQL error classification and message wording (execution layer, tests).
import assert from "node:assert/strict";
import { SourceError } from "../../errors.ts";
import { classifyMysqlError, type MysqlErrorLike, mysqlSourceError } from "./mysql_errors.ts";

// [error, retryable, reconnect, extra delay ms]
const CASES: ReadonlyArray<[MysqlErrorLike, boolean, boolean, number]> = [
  [{ errno: 1213, message: "Deadlock found" }, true, false, 1_000],
  [{ errno: 1205, message: "Lock wait timeout exceeded" }, true, false, 0],
  [{ errno: 1040, message: "Too many connections" }, true, true, 15_000],
  [{ errno: 1053, message: "Server shutdown in progress" }, true, true, 15_000],
  [
    { errno: 1969, message: "Query execution was interrupted (max_statement_time exceeded)" },
    true,
    false,
    0,
  ],
  [{ errno: 3024, message: "maximum statement execution time exceeded" }, true, false, 0],
  [{ errno: 1045, message: "Access denied for user 'root'@'localhost'" }, false, false, 0],
  [{ errno: 1044, message: "Access denied for user to database 'x'" }, false, false, 0],
  [{ errno: 1049, message: "Unknown database 'x'" }, false, false, 0],
  [{ errno: 1146, message: "Table 'test.t' doesn't exist" }, false, false, 0],
  [{ errno: 1064, message: "You have an error in your SQL syntax" }, false, false, 0],
  [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:3399" }, true, true, 0],
  [{ code: "ECONNRESET", message: "read ECONNRESET" }, true, true, 0],
  [
    {
      code: "PROTOCOL_CONNECTION_LOST",
      message: "Connection lost: The server closed the connection.",
    },
    true,
    true,
    0,
  ],
  [{ message: "Can't connect to MySQL server on 'db' (111)" }, true, true, 0],
  [{ message: "MySQL server has gone away" }, true, true, 0],
  [{ message: "Lost connection to MySQL server during query" }, true, true, 0],
  [{ message: "something timed out" }, true, false, 0],
  [{ message: "Permission denied on credential file" }, false, false, 0],
  [{ errno: 1292, message: "Incorrect datetime value" }, false, false, 0],
  [{ message: "totally unknown failure" }, false, false, 0],
  [{ message: "socket hung up", fatal: true }, true, true, 0],
];

Deno.test("classifyMysqlError follows spec 4.11 by errno, then I/O code, then message", () => {
  for (const [err, retryable, reconnect, extra] of CASES) {
    const c = classifyMysqlError(err);
    assert.deepEqual(
      [c.retryable, c.reconnect, c.extraDelayMs],
      [retryable, reconnect, extra],
      `${err.errno ?? err.code ?? ""} ${err.message}`,
    );
  }
});

Deno.test("mysqlSourceError says what failed, where, and what to do, without secrets", () => {
  const refused = mysqlSourceError(
    { code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:3399" },
    "cannot connect to MySQL",
    "127.0.0.1:3399",
    ["pw"],
  );
  assert.ok(refused instanceof SourceError);
  assert.match(
    refused.message,
    /^cannot connect to MySQL at 127\.0\.0\.1:3399: connection refused — check that the server is running/,
  );
  assert.equal(refused.retryable, true);

  const denied = mysqlSourceError(
    { errno: 1045, message: "Access denied for mysql://u:hunter2@db:3306/x" },
    "cannot connect to MySQL",
    "db:3306",
    ["hunter2"],
  );
  assert.ok(!denied.message.includes("hunter2"));
  assert.match(denied.message, /\(errno 1045\) — check the user and password/);
  assert.equal(denied.retryable, false);
});
