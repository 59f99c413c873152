// Layer: dev tooling (not shipped in the CLI): the in-memory PostgreSQL behind `deno task demo`.
//
// PGlite (PostgreSQL compiled to WASM) holds the seeded demo data in memory; pglite-socket
// serves it over the normal PostgreSQL wire protocol on 127.0.0.1, so the CLI reads it with its
// ordinary `pg` code path. Behaviour worth knowing (checked by scripts/demo/probe_server.ts):
// - PGlite is one backend session: pglite-socket multiplexes client connections onto it and
//   runs one protocol message at a time. Session state (SET, prepared statement names) is
//   shared by all connections.
// - While one connection is inside a transaction, every other connection's statements wait
//   until it commits or rolls back. Code that holds a transaction open on one connection and
//   awaits a query on another deadlocks here (never on a real server).
// - With maxConnections = 1 (the library default) a second simultaneous connection is refused
//   with a non-protocol "Too many connections" line (pg: "Connection terminated
//   unexpectedly"), so the demo allows several.

import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/** Tables created by seed.sql and how many rows each has. */
export const DEMO_TABLES: Readonly<Record<string, number>> = Object.freeze({
  customers: 2_000,
  products: 250,
  orders: 6_000,
  order_items: 18_000,
  events: 12_000,
});

export interface DemoDatabase {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (no password: PGlite trusts everyone). */
  readonly url: string;
  readonly port: number;
  /** Stops the socket server and closes the database. Safe to call twice. */
  stop(): Promise<void>;
}

export interface DemoDatabaseOptions {
  /** Simultaneous client connections accepted (default 8). */
  readonly maxConnections?: number;
  /** Port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number;
}

/** Starts an in-memory PostgreSQL seeded with the demo dataset, listening on 127.0.0.1. */
export async function startDemoDatabase(options: DemoDatabaseOptions = {}): Promise<DemoDatabase> {
  const db = await PGlite.create();
  try {
    await db.exec(await Deno.readTextFile(new URL("./seed.sql", import.meta.url)));
  } catch (error) {
    await db.close();
    throw new Error(`Cannot seed the demo database from scripts/demo/seed.sql`, { cause: error });
  }
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 8,
  });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw new Error(`Cannot start the demo PostgreSQL server on 127.0.0.1`, { cause: error });
  }
  const port = Number(server.getServerConn().split(":").pop());
  let stopped = false;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
    },
  };
}
