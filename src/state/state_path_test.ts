// Tests of where the state file of a config lives (persistence layer).
import assert from "node:assert/strict";
import { stateDbPath } from "./state_path.ts";

Deno.test("stateDbPath puts .rivet_state.db next to the config unless --state or RIVET_STATE_PATH says otherwise", () => {
  assert.equal(stateDbPath({ configPath: "conf/rivet.yaml" }), "conf/.rivet_state.db");
  assert.equal(stateDbPath({ configPath: "rivet.yaml" }), ".rivet_state.db");
  const env = { RIVET_STATE_PATH: "/var/rivet/state.db" };
  assert.equal(stateDbPath({ configPath: "rivet.yaml", env }), "/var/rivet/state.db");
  assert.equal(
    stateDbPath({ configPath: "rivet.yaml", env, stateFlag: "/tmp/s.db" }),
    "/tmp/s.db",
  );
});
