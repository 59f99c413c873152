// Runs the StateStore contract and the concurrency, migration, TLS and error checks against PostgresStateStore (persistence layer, tests).
import assert from "node:assert/strict";
import * as path from "node:path";
import pg from "pg";
import { PG_URL } from "../../tests/helpers/db.ts";
import { describeError } from "../errors.ts";
import { POSTGRES_TABLES } from "./postgres_migrations.ts";
import {
  parseStateUrl,
  PostgresStateStore,
  type PostgresStateStoreOptions,
  sslOptionsFor,
} from "./postgres_state_store.ts";
import { stateStoreContract } from "./state_store_contract.ts";
import { StateError, type StateStore } from "./state_store.ts";
import { openStateStore } from "./open_state_store.ts";

/*
 * Every store lives in its own schema `rivet_st_<run>_<n>`, created by the store itself and
 * dropped when the test closes it, so parallel test runs never see each other's rows.
 */
const RUN = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
let counter = 0;
const freshSchema = () => `rivet_st_${RUN}_${++counter}`;

async function adminQuery(sql: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows;
  } finally {
    await client.end();
  }
}

const dropSchema = (schema: string) => adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);

/** The store, whose close() also drops its schema (the real store, every other call forwarded). */
function droppingSchemaOnClose(store: PostgresStateStore, schema: string): StateStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === "close") {
        return async () => {
          await target.close();
          await dropSchema(schema);
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

async function openFresh(opts: PostgresStateStoreOptions = {}): Promise<StateStore> {
  const schema = freshSchema();
  const store = await PostgresStateStore.open(PG_URL, { ...opts, schema });
  return droppingSchemaOnClose(store, schema);
}

stateStoreContract("PostgresStateStore", () => openFresh());

const T = "2026-01-01T12:00:00.000Z";

Deno.test("PostgresStateStore creates every table and records schema version 8 on first open", async () => {
  const schema = freshSchema();
  const store = await PostgresStateStore.open(PG_URL, { schema });
  try {
    assert.equal(await store.schemaVersion(), 8);
    const tables = await adminQuery(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
      [schema],
    );
    assert.deepEqual(tables.map((t) => t.table_name).sort(), [...POSTGRES_TABLES].sort());
    const versions = await adminQuery(`SELECT version FROM "${schema}".rivet_schema_version`);
    assert.deepEqual(versions.map((v) => Number(v.version)), [8]);
    const types = await adminQuery(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'export_metrics'
         AND column_name IN ('id', 'validated', 'run_at')`,
      [schema],
    );
    assert.deepEqual(
      Object.fromEntries(types.map((t) => [t.column_name, t.data_type])),
      { id: "bigint", validated: "boolean", run_at: "text" },
    );
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

Deno.test("PostgresStateStore upgrades a schema left at version 3 and keeps its rows", async () => {
  const schema = freshSchema();
  const { POSTGRES_MIGRATIONS } = await import("./postgres_migrations.ts");
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
    await client.query("CREATE TABLE rivet_schema_version (version BIGINT NOT NULL)");
    for (const [v, sql] of POSTGRES_MIGRATIONS.filter(([v]) => v <= 3)) {
      await client.query(sql);
      await client.query("INSERT INTO rivet_schema_version VALUES ($1)", [v]);
    }
    await client.query(
      `INSERT INTO file_manifest (run_id, export_name, file_name, row_count, bytes, format,
         compression, created_at) VALUES ('r0', 'orders', 'old.parquet', 1, 2, 'parquet', 'zstd', $1)`,
      [T],
    );
  } finally {
    await client.end();
  }
  const store = await PostgresStateStore.open(PG_URL, { schema });
  try {
    assert.equal(await store.schemaVersion(), 8);
    const files = await store.listFiles({ limit: 10 });
    assert.deepEqual(files.map((f) => f.file_name), ["old.parquet"]);
    const versions = await adminQuery(`SELECT version FROM "${schema}".rivet_schema_version`);
    assert.deepEqual(versions.map((v) => Number(v.version)), [8]);
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

Deno.test("PostgresStateStore refuses a schema written by a newer Rivet", async () => {
  const schema = freshSchema();
  await adminQuery(
    `CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".rivet_schema_version (version BIGINT NOT NULL);
     INSERT INTO "${schema}".rivet_schema_version VALUES (9)`,
  );
  try {
    await assert.rejects(
      () => PostgresStateStore.open(PG_URL, { schema }),
      (err: unknown) => err instanceof StateError && /schema v9, newer/.test(err.message),
    );
  } finally {
    await dropSchema(schema);
  }
});

Deno.test("PostgresStateStore uses the schema named by options=-csearch_path in the URL", async () => {
  const schema = freshSchema();
  await adminQuery(`CREATE SCHEMA "${schema}"`);
  const u = new URL(PG_URL);
  u.searchParams.set("options", `-csearch_path=${schema}`);
  try {
    const store = await PostgresStateStore.open(u.toString());
    try {
      await store.setCursor("orders", "7", T);
    } finally {
      await store.close();
    }
    const rows = await adminQuery(`SELECT last_cursor_value FROM "${schema}".export_state`);
    assert.deepEqual(rows, [{ last_cursor_value: "7" }]);
  } finally {
    await dropSchema(schema);
  }
});

Deno.test("four concurrent claimers on separate connections never get one chunk task twice", async () => {
  const schema = freshSchema();
  const stores = await Promise.all(
    [1, 2, 3, 4].map(() => PostgresStateStore.open(PG_URL, { schema, maxConnections: 1 })),
  );
  try {
    const tasks = Array.from({ length: 200 }, (_, i) => ({
      start_key: String(i * 10),
      end_key: String(i * 10 + 9),
    }));
    const created = await stores[0]!.createChunkRun({
      run_id: "c1",
      export_name: "orders",
      plan_hash: "h",
      max_chunk_attempts: 3,
      tasks,
    }, T);
    assert.deepEqual(created, { created: true });
    const claimed = await Promise.all(stores.map(async (s, w) => {
      const mine: number[] = [];
      for (
        let t = await s.claimChunkTask("c1", T);
        t !== null;
        t = await s.claimChunkTask("c1", T)
      ) {
        mine.push(t.chunk_index);
        assert.equal(
          await s.completeChunkTask(
            "c1",
            t.chunk_index,
            { rows_written: 1, file_name: `w${w}` },
            T,
          ),
          true,
        );
      }
      return mine;
    }));
    const all = claimed.flat().sort((a, b) => a - b);
    assert.equal(all.length, 200, `claimed ${all.length} tasks in total`);
    assert.deepEqual(all, Array.from({ length: 200 }, (_, i) => i));
    assert.ok(
      claimed.filter((c) => c.length > 0).length >= 2,
      `work spread over claimers: ${claimed.map((c) => c.length)}`,
    );
    const rows = await stores[1]!.listChunkTasks("c1");
    assert.ok(rows.every((t) => t.status === "completed" && t.attempts === 1));
    assert.deepEqual(await stores[2]!.finishChunkRun("c1", T), {
      completed: true,
      finished_now: true,
    });
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await dropSchema(schema);
  }
});

Deno.test("concurrent chunk run creation for one export lets exactly one run start", async () => {
  const schema = freshSchema();
  const stores = await Promise.all(
    [1, 2, 3, 4].map(() => PostgresStateStore.open(PG_URL, { schema, maxConnections: 1 })),
  );
  try {
    const results = await Promise.all(stores.map((s, i) =>
      s.createChunkRun({
        run_id: `c${i}`,
        export_name: "orders",
        plan_hash: "h",
        max_chunk_attempts: 3,
        tasks: [{ start_key: "0", end_key: "9" }],
      }, T)
    ));
    const winners = results.filter((r) => r.created);
    assert.equal(winners.length, 1, JSON.stringify(results));
    const runId = (await stores[0]!.findInProgressChunkRun("orders"))?.run_id;
    for (const r of results) if (!r.created) assert.equal(r.in_progress_run_id, runId);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await dropSchema(schema);
  }
});

const MIGRATE_WORKER = `
import { PostgresStateStore } from ${
  JSON.stringify(new URL("./postgres_state_store.ts", import.meta.url).href)
};
const [url, schema] = Deno.args;
const store = await PostgresStateStore.open(url, { schema });
await store.recordMetric({
  export_name: "orders", run_at: new Date().toISOString(), duration_ms: 1, total_rows: 1,
  peak_rss_mb: null, status: "success", error_message: null, tuning_profile: null,
  format: "csv", mode: "full", files_produced: 0, bytes_written: 0, retries: 0,
  validated: null, schema_changed: null, run_id: "w",
});
console.log(await store.schemaVersion());
await store.close();
`;

Deno.test("three processes migrating one fresh state schema at once all succeed", async () => {
  const schema = freshSchema();
  const dir = await Deno.makeTempDir({ prefix: "rivet_pg_state_" });
  const script = path.join(dir, "migrate_worker.ts");
  await Deno.writeTextFile(script, MIGRATE_WORKER);
  const denoJson = new URL("../../deno.json", import.meta.url).pathname;
  try {
    const outputs = await Promise.all([1, 2, 3].map(() =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", denoJson, script, PG_URL, schema],
        env: { DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output()
    ));
    const dec = new TextDecoder();
    for (const o of outputs) {
      assert.equal(o.code, 0, dec.decode(o.stderr));
      assert.equal(dec.decode(o.stdout).trim(), "8");
    }
    const versions = await adminQuery(`SELECT version FROM "${schema}".rivet_schema_version`);
    assert.deepEqual(versions.map((v) => Number(v.version)), [8]);
    const metrics = await adminQuery(`SELECT count(*)::int AS n FROM "${schema}".export_metrics`);
    assert.equal(metrics[0]?.n, 3);
  } finally {
    await dropSchema(schema);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unreachable state database gives a clean StateError without the password", async () => {
  const url = "postgres://rivet:Sup3rS3cretPw@127.0.0.1:1/state?sslmode=disable";
  const err = await PostgresStateStore.open(url, { schema: "x" }).then(
    () => assert.fail("opened an unreachable database"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StateError, String(err));
  const text = describeError(err) + " " + (err.hint ?? "");
  assert.ok(!text.includes("Sup3rS3cretPw"), text);
  assert.match(text, /127\.0\.0\.1:1/);
  assert.match(text, /Cannot connect to the PostgreSQL state database/);
  assert.match(text, /RIVET_STATE_URL/);
  assert.equal(err.retryable, true);
});

Deno.test("a wrong state database password is reported without the password", async () => {
  const { startRejectingPgServer } = await import("../../tests/helpers/pg_fake_auth_server.ts");
  const server = startRejectingPgServer();
  try {
    const url = `postgres://rivet:WrongPw%21x@127.0.0.1:${server.port}/state?sslmode=disable`;
    const err = await PostgresStateStore.open(url).then(
      () => assert.fail("opened with a rejected password"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StateError);
    const text = describeError(err);
    assert.ok(!text.includes("WrongPw"), text);
    assert.match(text, /postgres:\/\/(rivet:\*\*\*|REDACTED)@127\.0\.0\.1/);
    assert.equal(err.exitClass, "config");
  } finally {
    await server.stop();
  }
});

Deno.test("parseStateUrl hides the password and follows libpq sslmode defaults", () => {
  const t = parseStateUrl("postgresql://app:p%40ss@db.example:6432/state?sslmode=verify-full");
  assert.equal(t.redacted, "postgresql://app:***@db.example:6432/state");
  assert.equal(t.sslMode, "verify-full");
  assert.equal(t.password, "p@ss");
  assert.ok(!t.connectionString.includes("sslmode"));
  assert.equal(parseStateUrl("postgres://h/db").sslMode, "prefer");
  assert.throws(() => parseStateUrl("postgres://h/db?sslmode=bogus"), StateError);
});

Deno.test("sslOptionsFor encrypts without verifying for require and verifies for verify-full", async () => {
  const opts = (url: string) => sslOptionsFor(parseStateUrl(url), () => Promise.resolve("PEM"));
  assert.equal(await opts("postgres://h/db?sslmode=disable"), false);
  const req = await opts("postgres://h/db?sslmode=require");
  assert.equal(req && req.rejectUnauthorized, false);
  const full = await opts("postgres://h/db?sslmode=verify-full&sslrootcert=/ca.pem");
  assert.equal(full && full.rejectUnauthorized, true);
  assert.equal(full && full.ca, "PEM");
  assert.equal(full && full.checkServerIdentity, undefined);
  const ca = await opts("postgres://h/db?sslmode=verify-ca&sslrootcert=/ca.pem");
  assert.equal(ca && typeof ca.checkServerIdentity, "function");
});

Deno.test("sslmode=require refuses a server without TLS instead of falling back to plaintext", async () => {
  const u = new URL(PG_URL);
  const ssl = (await adminQuery("SHOW ssl"))[0]?.ssl;
  u.searchParams.set("sslmode", "require");
  if (ssl === "on") {
    const store = await PostgresStateStore.open(u.toString(), { schema: freshSchema() });
    await store.close();
    assert.equal(store.tls, true);
    return;
  }
  await assert.rejects(
    () => PostgresStateStore.open(u.toString(), { schema: freshSchema() }),
    StateError,
  );
});

Deno.test("openStateStore selects the PostgreSQL backend for a postgres RIVET_STATE_URL", async () => {
  const schema = freshSchema();
  const store = await openStateStore({
    configPath: "/nonexistent/rivet.yaml",
    env: { RIVET_STATE_URL: PG_URL, RIVET_STATE_SCHEMA: schema },
  });
  try {
    assert.ok(store instanceof PostgresStateStore);
    assert.ok(!store.location.includes("@") || !/:[^*@/]+@/.test(store.location));
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

/*
 * TLS against a real TLS server: set RIVET_TEST_PG_TLS_URL (a server with ssl=on) and
 * RIVET_TEST_PG_TLS_CA (the CA that signed its certificate, for verify-full).
 */
const TLS_URL = Deno.env.get("RIVET_TEST_PG_TLS_URL");
const TLS_CA = Deno.env.get("RIVET_TEST_PG_TLS_CA");

Deno.test({
  name: "sslmode=require really encrypts the state connection",
  ignore: TLS_URL === undefined,
  fn: async () => {
    const u = new URL(TLS_URL!);
    u.searchParams.set("sslmode", "require");
    const schema = freshSchema();
    const store = await PostgresStateStore.open(u.toString(), { schema });
    try {
      assert.equal(store.tls, true);
      const c = new pg.Client({ connectionString: TLS_URL!, ssl: { rejectUnauthorized: false } });
      await c.connect();
      try {
        const r = await c.query(
          `SELECT count(*)::int AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
           WHERE a.application_name = 'rivet-state' AND s.ssl`,
        );
        assert.ok(Number(r.rows[0]?.n) >= 1, "no encrypted rivet-state connection on the server");
        const plainRows = await c.query(
          `SELECT count(*)::int AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
           WHERE a.application_name = 'rivet-state' AND NOT s.ssl`,
        );
        assert.equal(Number(plainRows.rows[0]?.n), 0);
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name:
    "sslmode=verify-full rejects a certificate not signed by the given CA and accepts the right CA",
  ignore: TLS_URL === undefined || TLS_CA === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rivet_tls_" });
    const wrongCa = path.join(dir, "wrong_ca.pem");
    const gen = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        path.join(dir, "k.pem"),
        "-out",
        wrongCa,
        "-days",
        "1",
        "-subj",
        "/CN=wrong-ca",
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(gen.code, 0);
    const u = new URL(TLS_URL!);
    u.searchParams.set("sslmode", "verify-full");
    u.searchParams.set("sslrootcert", wrongCa);
    await assert.rejects(
      () => PostgresStateStore.open(u.toString(), { schema: freshSchema() }),
      StateError,
    );
    u.searchParams.set("sslrootcert", TLS_CA!);
    const schema = freshSchema();
    const store = await PostgresStateStore.open(u.toString(), { schema });
    try {
      assert.equal(store.tls, true);
      await store.setCursor("orders", "1", T);
      assert.equal((await store.getCursor("orders"))?.last_cursor_value, "1");
    } finally {
      await store.close();
      const c = new pg.Client({
        connectionString: TLS_URL!,
        ssl: { rejectUnauthorized: false },
      });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("without sslmode the state connection falls back to plaintext when the server has no TLS", async () => {
  const ssl = (await adminQuery("SHOW ssl"))[0]?.ssl;
  const u = new URL(PG_URL);
  u.searchParams.delete("sslmode");
  const schema = freshSchema();
  const store = await PostgresStateStore.open(u.toString(), { schema });
  try {
    assert.equal(store.tls, ssl === "on");
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

Deno.test({
  name: "without sslmode the state connection uses TLS when the server offers it",
  ignore: TLS_URL === undefined,
  fn: async () => {
    const schema = freshSchema();
    const store = await PostgresStateStore.open(TLS_URL!, { schema });
    try {
      assert.equal(store.tls, true);
    } finally {
      await store.close();
      const c = new pg.Client({ connectionString: TLS_URL!, ssl: { rejectUnauthorized: false } });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  },
});
