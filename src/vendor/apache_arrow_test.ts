// Tests of the Apache Arrow shim: same exports as the package's ES modules, and one library copy.
import assert from "node:assert/strict";
import * as shim from "apache-arrow";
import { emptyBatchOf } from "../format/worker_encoder.ts";

Deno.test("the apache-arrow shim exports exactly the names of the package's ES modules", async () => {
  const esm = await import("apache-arrow-esm");
  assert.deepEqual(Object.keys(shim).sort(), Object.keys(esm).sort());
  for (const name of Object.keys(esm)) {
    assert.deepEqual(
      typeof (shim as Record<string, unknown>)[name],
      typeof esm[name as keyof typeof esm],
      name,
    );
  }
});

Deno.test("batches built through the shim survive an IPC round trip as instances of the shim's classes", () => {
  const schema = new shim.Schema([
    new shim.Field("id", new shim.Int64(), false),
    new shim.Field("name", new shim.Utf8(), true),
  ]);
  const table = shim.tableFromArrays({
    id: BigInt64Array.from([1n, 2n, 3n]),
    name: ["a", null, "c"],
  });
  const back = shim.tableFromIPC(shim.tableToIPC(table, "stream"));
  assert.ok(back instanceof shim.Table);
  assert.ok(back.batches[0] instanceof shim.RecordBatch);
  assert.deepEqual(back.getChild("name")?.toArray(), ["a", null, "c"]);
  assert.deepEqual(emptyBatchOf(schema).numRows, 0);
  assert.ok(emptyBatchOf(schema) instanceof shim.RecordBatch);
});
