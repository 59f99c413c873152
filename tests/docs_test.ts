// Checks that generated documentation matches the code it is generated from.
import assert from "node:assert/strict";
import { configReference } from "../scripts/gen_config_reference.ts";

Deno.test("docs/reference/config.md lists exactly the keys the validator accepts", async () => {
  const committed = await Deno.readTextFile(
    new URL("../docs/reference/config.md", import.meta.url),
  );
  assert.equal(
    committed,
    configReference(),
    "docs/reference/config.md is stale: run deno run --allow-read --allow-write scripts/gen_config_reference.ts",
  );
});

Deno.test("docs/reference/cli.md lists exactly the commands and options the CLI has", async () => {
  const { cliReference } = await import("../scripts/gen_cli_reference.ts");
  const committed = await Deno.readTextFile(new URL("../docs/reference/cli.md", import.meta.url));
  assert.equal(
    committed,
    cliReference(),
    "docs/reference/cli.md is stale: run deno run -A scripts/gen_cli_reference.ts",
  );
});
