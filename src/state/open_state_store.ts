// Opens the state store a command should use: SQLite next to the config, --state, or RIVET_STATE_PATH (persistence layer).
import { log } from "../observe/log.ts";
import { SqliteStateStore } from "./sqlite_state_store.ts";
import { stateDbPath } from "./state_path.ts";
import { StateError, type StateStore } from "./state_store.ts";

/**
 * The state store for a config file. `RIVET_STATE_URL=postgres…` selects the PostgreSQL backend,
 * which this version does not have yet: that is an error rather than a silent fallback, so two
 * machines never believe they share state when they do not.
 */
export async function openStateStore(opts: {
  readonly configPath: string;
  readonly stateFlag?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
}): Promise<StateStore> {
  const env = opts.env ?? Deno.env.toObject();
  const url = env.RIVET_STATE_URL;
  if (url !== undefined && url.startsWith("postgres") && opts.stateFlag === undefined) {
    throw new StateError(
      "RIVET_STATE_URL selects the PostgreSQL state backend, which is not available yet",
      {
        exitClass: "config",
        hint: "unset RIVET_STATE_URL to use the SQLite state file, or pass --state <path>",
      },
    );
  }
  const file = stateDbPath({ configPath: opts.configPath, stateFlag: opts.stateFlag, env });
  return await SqliteStateStore.open(file, { warn: (m) => log.warn(m) });
}
