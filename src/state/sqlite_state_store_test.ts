// Runs the StateStore contract against SqliteStateStore on a temporary file (persistence layer, tests).
import * as path from "node:path";
import { SqliteStateStore } from "./sqlite_state_store.ts";
import { stateStoreContract } from "./state_store_contract.ts";

stateStoreContract("SqliteStateStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rivet_state_" });
  return await SqliteStateStore.open(path.join(dir, ".rivet_state.db"));
});
