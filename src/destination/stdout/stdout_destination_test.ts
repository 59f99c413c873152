// Tests of the stdout destination: bytes pass straight through as they arrive (execution layer tests).
import assert from "node:assert/strict";
import { DestinationError } from "../../errors.ts";
import { type ByteSink, StdoutDestination } from "./stdout_destination.ts";

/** A stdout stand-in that accepts at most 3 bytes per write, like a short pipe write. */
class FakeStdout implements ByteSink {
  chunks: Uint8Array[] = [];
  write(bytes: Uint8Array): Promise<number> {
    const n = Math.min(3, bytes.length);
    this.chunks.push(bytes.slice(0, n));
    return Promise.resolve(n);
  }
  text(): string {
    return new TextDecoder().decode(new Uint8Array(this.chunks.flatMap((c) => [...c])));
  }
}

Deno.test("StdoutDestination writes each chunk through before the part is finished", async () => {
  const out = new FakeStdout();
  const dest = new StdoutDestination(out);
  assert.equal(dest.streaming, true);
  const upload = await dest.create("orders_20260101_000000.csv");
  const w = upload.writable.getWriter();
  await w.write(new TextEncoder().encode("id,name\n"));
  assert.equal(out.text(), "id,name\n"); // already out, not buffered until commit
  await w.write(new TextEncoder().encode("1,a\n"));
  await w.close();
  assert.deepEqual(await upload.commit(), { name: "orders_20260101_000000.csv", size: 12 });
  assert.equal(out.text(), "id,name\n1,a\n");
});

Deno.test("StdoutDestination stores nothing: put is a no-op, head/read/list are empty", async () => {
  const out = new FakeStdout();
  const dest = new StdoutDestination(out);
  assert.deepEqual(await dest.put("manifest.json", new Uint8Array(5)), {
    name: "manifest.json",
    size: 5,
  });
  assert.equal(out.chunks.length, 0);
  assert.equal(await dest.head("manifest.json"), null);
  assert.equal(await dest.read("manifest.json"), null);
  assert.deepEqual(await dest.list(), []);
});

Deno.test("StdoutDestination refuses a second part while one is open", async () => {
  const dest = new StdoutDestination(new FakeStdout());
  const first = await dest.create("a.csv");
  await assert.rejects(() => dest.create("b.csv"), DestinationError);
  await first.abort();
  const second = await dest.create("b.csv");
  await second.writable.close();
  await second.commit();
});
