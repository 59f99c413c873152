// Opens the state store a command should use: PostgreSQL for a postgres RIVET_STATE_URL, else SQLite next to the config, --state, or RIVET_STATE_PATH (persistence layer).
import { log } from "../observe/log.ts";
import { SqliteStateStore } from "./sqlite_state_store.ts";
import { stateDbPath } from "./state_path.ts";
import type { StateStore } from "./state_store.ts";

/**
 * The state store for a config file. `--state <path>` always means that SQLite file. Otherwise a
 * `stateUrl` option or `RIVET_STATE_URL` starting with `postgres` selects the PostgreSQL backend
 * (tables in `RIVET_STATE_SCHEMA` when set, else the URL's search_path); anything else keeps
 * the SQLite file beside the config (or `RIVET_STATE_PATH`).
 */
export async function openStateStore(opts: {
  readonly configPath: string;
  readonly stateFlag?: string | undefined;
  readonly stateUrl?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
}): Promise<StateStore> {
  const env = opts.env ?? Deno.env.toObject();
  const url = opts.stateUrl ?? env.RIVET_STATE_URL;
  if (url !== undefined && url.startsWith("postgres") && opts.stateFlag === undefined) {
    const { PostgresStateStore } = await import("./postgres_state_store.ts");
    return await PostgresStateStore.open(url, {
      schema: env.RIVET_STATE_SCHEMA,
      warn: (m) => log.warnOnce(m, m),
    });
  }
  const file = stateDbPath({ configPath: opts.configPath, stateFlag: opts.stateFlag, env });
  return await SqliteStateStore.open(file, { warn: (m) => log.warn(m) });
}
