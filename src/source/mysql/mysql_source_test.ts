// MysqlSource behaviour against the real server: batching, backpressure, cancel, timeouts and error messages (execution layer, tests).
import assert from "node:assert/strict";
import { SourceError } from "../../errors.ts";
import { MysqlSource, parseMysqlUrl } from "./mysql_source.ts";
import {
  MYSQL_URL,
  RawMysql,
  readBatches,
  readRequest,
} from "../../../tests/helpers/mysql_fixture.ts";

/** 10^digits generated rows `n` (0-based) without any table, portable to MySQL and MariaDB. */
function generated(digits: number, marker: string): string {
  const d = "(SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL " +
    "SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 " +
    "UNION ALL SELECT 9)";
  const from = Array.from({ length: digits }, (_, i) => `${d} d${i}`).join(", ");
  const n = Array.from({ length: digits }, (_, i) => `d${i}.n * ${10 ** i}`).join(" + ");
  return `SELECT /* ${marker} */ ${n} AS n, CONCAT('row-', ${n}) AS label FROM ${from}`;
}

async function withSource(fn: (s: MysqlSource) => Promise<void>): Promise<void> {
  const s = await MysqlSource.connect({ type: "mysql", url: MYSQL_URL });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

Deno.test("MysqlSource splits a result into batches of batchSize rows and keeps every row", async () => {
  await withSource(async (s) => {
    const batches = await readBatches(
      await s.query(
        readRequest(`${generated(3, "rivet_my_batches")} ORDER BY n`, { batchSize: 300 }),
      ),
    );
    assert.deepEqual(batches.map((b) => b.numRows), [300, 300, 300, 100]);
    const ns = batches.flatMap((b) => Array.from(b.getChild("n")!.toArray() as BigInt64Array));
    assert.deepEqual(ns, Array.from({ length: 1000 }, (_, i) => BigInt(i)));
    const one = await readBatches(await s.query(readRequest(`${generated(3, "x")} ORDER BY n`)));
    assert.equal(one.length, 1);
    assert.deepEqual(
      one[0]!.getChild("label")!.toArray(),
      batches.flatMap((b) => b.getChild("label")!.toArray()),
    );
  });
});

Deno.test("MysqlSource describes the columns of a result with no rows", async () => {
  const raw = await RawMysql.open();
  try {
    await raw.exec("DROP TABLE IF EXISTS rivet_my_empty");
    await raw.exec("CREATE TABLE rivet_my_empty (u BIGINT UNSIGNED, t VARCHAR(5))");
    await withSource(async (s) => {
      const r = await s.query(readRequest("SELECT u, t FROM rivet_my_empty"));
      assert.deepEqual(r.columns.map((c) => [c.name, c.type.kind]), [["u", "uint64"], [
        "t",
        "string",
      ]]);
      assert.deepEqual(await readBatches(r), []);
    });
  } finally {
    await raw.exec("DROP TABLE IF EXISTS rivet_my_empty").catch(() => {});
    await raw.close();
  }
});

Deno.test("MysqlSource pauses the socket while the consumer holds a batch and cancel frees the server", async () => {
  const raw = await RawMysql.open();
  try {
    await withSource(async (s) => {
      const marker = `rivet_my_bp_${crypto.randomUUID().slice(0, 8)}`;
      const r = await s.query(readRequest(generated(6, marker), { batchSize: 1000 }));
      const reader = r.batches.getReader();
      const first = await reader.read();
      assert.equal(first.value?.numRows, 1000);
      await new Promise((res) => setTimeout(res, 1500));
      // ~20 MB of rows cannot fit in socket buffers: the query is still running only if we paused.
      const running = await raw.exec(
        `SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%${marker}%' AND ID <> CONNECTION_ID()`,
      );
      assert.equal(
        running.length,
        1,
        "the server is still sending: the client applied backpressure",
      );
      await reader.cancel();
      let left = running.length;
      for (let i = 0; i < 30 && left > 0; i++) {
        await new Promise((res) => setTimeout(res, 100));
        left = (await raw.exec(
          `SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%${marker}%' AND ID <> CONNECTION_ID()`,
        )).length;
      }
      assert.equal(left, 0, "cancel ended the query on the server");
      assert.equal(await s.scalar("SELECT 40 + 2"), "42", "the source reconnects after a cancel");
    });
  } finally {
    await raw.close();
  }
});

Deno.test("MysqlSource streams 1M rows with bounded memory", async () => {
  await withSource(async (s) => {
    const r = await s.query(readRequest(generated(6, "rivet_my_1m"), { batchSize: 10_000 }));
    const before = Deno.memoryUsage().rss;
    let peak = before;
    let rows = 0;
    let maxBatch = 0;
    for await (const b of r.batches) {
      rows += b.numRows;
      maxBatch = Math.max(maxBatch, b.numRows);
      if (rows % 100_000 === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
    }
    assert.equal(rows, 1_000_000);
    assert.equal(maxBatch, 10_000);
    const grownMb = (peak - before) / 2 ** 20;
    assert.ok(grownMb < 200, `RSS grew by ${grownMb.toFixed(0)} MB while streaming`);
  });
});

Deno.test("MysqlSource applies the statement timeout and restores the session afterwards", async () => {
  await withSource(async (s) => {
    const variable = s.flavour === "mariadb" ? "max_statement_time" : "max_execution_time";
    const before = await s.scalar(`SELECT @@SESSION.${variable}`);
    const started = Date.now();
    await assert.rejects(
      async () =>
        await readBatches(await s.query(readRequest("SELECT SLEEP(5)", { statementTimeoutS: 1 }))),
      (err: unknown) => {
        assert.ok(err instanceof SourceError);
        assert.match(err.message, /max_statement_time|maximum statement execution time/);
        assert.match(err.message, /127\.0\.0\.1:3306\/test|MySQL/);
        assert.equal(err.retryable, true);
        return true;
      },
    );
    assert.ok(Date.now() - started < 4000, "the server stopped the query at the timeout");
    assert.equal(await s.scalar(`SELECT @@SESSION.${variable}`), before);
    assert.equal(await s.scalar("SELECT @@SESSION.time_zone"), "+00:00");
  });
});

Deno.test("MysqlSource names the host and no password when the port is unreachable", async () => {
  const err = await MysqlSource.connect({
    type: "mysql",
    url: "mysql://root:s3cret-pw@127.0.0.1:3399/test",
  })
    .then(() => null, (e) => e);
  assert.ok(err instanceof SourceError);
  assert.match(err.message, /^cannot connect to MySQL at 127\.0\.0\.1:3399: connection refused — /);
  assert.equal(err.retryable, true);
  assert.ok(!err.message.includes("s3cret-pw"));
});

Deno.test("MysqlSource reports a wrong password as permanent without printing it", async () => {
  const u = new URL(MYSQL_URL);
  u.password = "wrong-pw-123";
  const err = await MysqlSource.connect({ type: "mysql", url: u.toString() }).then(
    () => null,
    (e) => e,
  );
  assert.ok(err instanceof SourceError);
  assert.match(err.message, /^cannot connect to MySQL at 127\.0\.0\.1:\d+: Access denied/);
  assert.match(err.message, /errno 1045\) — check the user and password/);
  assert.equal(err.retryable, false);
  assert.ok(!err.message.includes("wrong-pw-123"));
});

Deno.test("MysqlSource reports a missing table as permanent with the server message", async () => {
  await withSource(async (s) => {
    const err = await s.query(readRequest("SELECT * FROM rivet_my_no_such_table")).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof SourceError);
    assert.match(
      err.message,
      /^query failed on MySQL at 127\.0\.0\.1:\d+\/test: Table 'test\.rivet_my_no_such_table' doesn't exist \(errno 1146\)/,
    );
    assert.equal(err.retryable, false);
    assert.equal(await s.scalar("SELECT 1"), "1", "the connection stays usable");
  });
});

Deno.test("MysqlSource fails a cell above maxValueBytes with RIVET_VALUE_TOO_LARGE", async () => {
  await withSource(async (s) => {
    const r = await s.query(
      readRequest("SELECT 1 AS id, REPEAT('x', 3 * 1024 * 1024) AS big", {
        maxValueBytes: 1024 * 1024,
      }),
    );
    await assert.rejects(() => readBatches(r), (err: unknown) => {
      assert.ok(err instanceof SourceError);
      assert.match(
        err.message,
        /^RIVET_VALUE_TOO_LARGE: column 'big' has a single value of 3\.0 MB/,
      );
      assert.equal(err.retryable, false);
      return true;
    });
    assert.equal(await s.scalar("SELECT 2"), "2");
  });
});

Deno.test("MysqlSource lets a column override win and fails values that do not fit it", async () => {
  await withSource(async (s) => {
    const ok = await readBatches(
      await s.query(readRequest("SELECT '12.50' AS amount", {
        columnOverrides: { amount: { kind: "decimal", precision: 10, scale: 2 } },
      })),
    );
    assert.equal(String(ok[0]!.schema.fields[0]!.type), "Decimal[10e+2]");
    assert.equal((ok[0]!.getChild("amount")!.data[0]!.values as Uint32Array)[0], 1250);
    const r = await s.query(
      readRequest("SELECT 70000 AS n", { columnOverrides: { n: { kind: "int16" } } }),
    );
    await assert.rejects(() => readBatches(r), /column 'n' .*out of range for int16/);
  });
});

Deno.test("parseMysqlUrl decodes credentials and defaults the port", () => {
  assert.deepEqual(parseMysqlUrl("mysql://a%40b:p%2Fw@db.example:3307/sales"), {
    host: "db.example",
    port: 3307,
    user: "a@b",
    password: "p/w",
    database: "sales",
  });
  assert.equal(parseMysqlUrl("mysql://root@127.0.0.1/test").port, 3306);
  assert.throws(() => parseMysqlUrl("postgres://x@y/z"), SourceError);
});
