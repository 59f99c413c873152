import assert from "node:assert/strict";
import { incrementalQuery, quoteIdent, quoteLiteral, timeWindowQuery } from "./sql_shapes.ts";

Deno.test("quoteIdent doubles embedded quotes for each dialect", () => {
  assert.equal(quoteIdent("postgres", 'we"ird'), '"we""ird"');
  assert.equal(quoteIdent("mysql", "we`ird"), "`we``ird`");
});

Deno.test("quoteLiteral escapes quotes and backslashes so a cursor value cannot break the SQL", () => {
  assert.equal(quoteLiteral("postgres", "it's \\ here"), "E'it\\'s \\\\ here'");
  assert.equal(quoteLiteral("mysql", "it's \\ \n"), "'it\\'s \\\\ \\n'");
});

Deno.test("incrementalQuery orders by the cursor and reads from the stored value inclusive", () => {
  const shape = {
    cursorColumn: "updated_at",
    fallbackColumn: null,
    mode: "single_column" as const,
  };
  assert.deepEqual(incrementalQuery("postgres", "SELECT * FROM t", shape, null), {
    sql: 'SELECT * FROM (SELECT * FROM t) AS _rivet ORDER BY "updated_at"',
    trackedColumn: "updated_at",
  });
  assert.deepEqual(
    incrementalQuery("mysql", "SELECT * FROM t", shape, "2024-01-01 00:00:00.000000"),
    {
      sql: "SELECT * FROM (SELECT * FROM t) AS _rivet WHERE `updated_at` >= " +
        "'2024-01-01 00:00:00.000000' ORDER BY `updated_at`",
      trackedColumn: "updated_at",
    },
  );
});

Deno.test("incrementalQuery in coalesce mode adds the synthetic cursor column", () => {
  const shape = {
    cursorColumn: "modified_at",
    fallbackColumn: "created_at",
    mode: "coalesce" as const,
  };
  const { sql, trackedColumn } = incrementalQuery("postgres", "SELECT * FROM inv", shape, "5");
  assert.equal(trackedColumn, "_rivet_coalesced_cursor");
  assert.equal(
    sql,
    'SELECT _rivet.*, COALESCE(_rivet."modified_at", _rivet."created_at") AS "_rivet_coalesced_cursor" ' +
      'FROM (SELECT * FROM inv) AS _rivet WHERE COALESCE(_rivet."modified_at", _rivet."created_at") ' +
      '>= E\'5\' ORDER BY COALESCE(_rivet."modified_at", _rivet."created_at"), ' +
      '_rivet."modified_at", _rivet."created_at"',
  );
});

Deno.test("timeWindowQuery cuts at midnight UTC N days back, as a timestamp or epoch seconds", () => {
  const now = new Date(Date.UTC(2026, 10, 25, 17, 30));
  assert.deepEqual(timeWindowQuery("postgres", "SELECT * FROM e", "ts", "timestamp", 7, now), {
    sql: `SELECT * FROM (SELECT * FROM e) AS _rivet WHERE "ts" >= '2026-11-18 00:00:00'`,
    cutoff: "2026-11-18 00:00:00",
  });
  assert.deepEqual(timeWindowQuery("mysql", "SELECT * FROM e", "ts", "unix", 1, now), {
    sql: "SELECT * FROM (SELECT * FROM e) AS _rivet WHERE `ts` >= 1795478400",
    cutoff: "1795478400",
  });
});
