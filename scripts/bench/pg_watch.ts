// Benchmark helper: polls pg_stat_activity to find the longest single statement a run executed.
import pg from "pg";

const POLL_SQL = `
  SELECT client_port AS port,
         extract(epoch FROM max(clock_timestamp() - query_start))::float8 AS secs
  FROM pg_stat_activity
  WHERE state = 'active' AND datname = $1 AND pid <> pg_backend_pid()
    AND query NOT ILIKE '%pg_stat_activity%'
  GROUP BY client_port`;

/**
 * Longest running time seen per client port while watching. The caller attributes ports to
 * the process it measures (Rivet sets no application_name), so other sessions on a shared
 * server do not count.
 */
export class PgStatementWatch {
  readonly #client: pg.Client;
  readonly #datname: string;
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  #byPort = new Map<number, number>();
  #error: unknown = null;

  private constructor(client: pg.Client, datname: string) {
    this.#client = client;
    this.#datname = datname;
  }

  static async open(url: string, datname: string): Promise<PgStatementWatch> {
    const client = new pg.Client({ connectionString: url, application_name: "rivet-bench-watch" });
    await client.connect();
    return new PgStatementWatch(client, datname);
  }

  start(intervalMs = 20): void {
    this.#byPort = new Map();
    this.#error = null;
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        const t0 = performance.now();
        try {
          const res = await this.#client.query<{ port: number | null; secs: number | null }>(
            POLL_SQL,
            [this.#datname],
          );
          for (const r of res.rows) {
            const port = r.port ?? -1;
            this.#byPort.set(port, Math.max(this.#byPort.get(port) ?? 0, r.secs ?? 0));
          }
        } catch (err) {
          this.#error = err;
          this.#running = false;
        }
        const wait = intervalMs - (performance.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  /** Stops polling; returns the longest statement (seconds) among the given client ports. */
  async stop(ports: ReadonlySet<number>): Promise<number | null> {
    this.#running = false;
    await this.#loop;
    if (this.#error) throw this.#error;
    let longest: number | null = null;
    for (const [port, secs] of this.#byPort) {
      if (ports.has(port)) longest = Math.max(longest ?? 0, secs);
    }
    return longest;
  }

  async close(): Promise<void> {
    await this.#client.end();
  }
}
