// Where the state database of a config lives: next to the config, or --state / RIVET_STATE_PATH (persistence layer, pure).
import * as path from "node:path";

export const STATE_DB_NAME = ".rivet_state.db";

/**
 * The SQLite state file for a config: `--state` wins, then `RIVET_STATE_PATH`, else
 * `.rivet_state.db` in the directory holding the config (a bare `rivet.yaml` → cwd).
 */
export function stateDbPath(opts: {
  readonly configPath: string;
  readonly stateFlag?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
}): string {
  if (opts.stateFlag !== undefined && opts.stateFlag !== "") return opts.stateFlag;
  const fromEnv = opts.env?.RIVET_STATE_PATH;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  return path.join(path.dirname(opts.configPath), STATE_DB_NAME);
}
