// Checks that generated documentation matches the code it is generated from.
import assert from "node:assert/strict";
import { configReference } from "../scripts/gen_config_reference.ts";

Deno.test("docs/configuration.md lists exactly the keys the validator accepts", async () => {
  const committed = await Deno.readTextFile(new URL("../docs/configuration.md", import.meta.url));
  assert.equal(
    committed,
    configReference(),
    "docs/configuration.md is stale: run deno run --allow-read --allow-write scripts/gen_config_reference.ts",
  );
});
