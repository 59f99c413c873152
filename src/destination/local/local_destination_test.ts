// Tests of the local destination: temp file + rename, abort, listing, errors (execution layer tests).
import assert from "node:assert/strict";
import { md5 } from "hash-wasm";
import { DestinationError } from "../../errors.ts";
import { LocalDestination } from "./local_destination.ts";

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.chmod(dir, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

const names = async (dir: string) =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
const base64Md5 = async (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...(await md5(bytes)).match(/../g)!.map((h) => parseInt(h, 16))));

Deno.test("LocalDestination writes to a hidden temp file and renames it into place on commit", async () => {
  await inTempDir(async (dir) => {
    const dest = new LocalDestination(`${dir}/out`);
    assert.equal(dest.uri, `file://${dir}/out`);
    const upload = await dest.create("sub/part_0.csv");
    const w = upload.writable.getWriter();
    const a = new TextEncoder().encode("a,b\n");
    const b = new TextEncoder().encode("1,2\n");
    await w.write(a);
    await w.write(b);
    // Before commit only the temp file exists, and listing does not show it.
    const before = await names(`${dir}/out/sub`);
    assert.equal(before.length, 1);
    assert.match(before[0]!, /^\.part_0\.csv\.rivet-tmp-[0-9a-f]{16}$/);
    assert.deepEqual(await dest.list(), []);
    assert.equal(await dest.head("sub/part_0.csv"), null);
    await w.close();
    const stored = await upload.commit();
    const all = new TextEncoder().encode("a,b\n1,2\n");
    // A commit reports no MD5 (the pipeline fingerprints parts itself); head computes one.
    assert.deepEqual(stored, { name: "sub/part_0.csv", size: 8 });
    assert.equal((await dest.head("sub/part_0.csv"))?.md5, await base64Md5(all));
    assert.deepEqual(await names(`${dir}/out/sub`), ["part_0.csv"]);
    assert.deepEqual(await Deno.readFile(`${dir}/out/sub/part_0.csv`), all);
    assert.deepEqual(await dest.head("sub/part_0.csv"), { ...stored, md5: await base64Md5(all) });
    assert.deepEqual(await dest.read("sub/part_0.csv"), all);
  });
});

Deno.test("LocalDestination abort leaves nothing behind, also after a failed write", async () => {
  await inTempDir(async (dir) => {
    const dest = new LocalDestination(dir);
    const upload = await dest.create("x.parquet");
    const w = upload.writable.getWriter();
    await w.write(new Uint8Array(1000));
    await w.abort(new Error("source failed"));
    await upload.abort();
    await upload.abort(); // safe twice
    assert.deepEqual(await names(dir), []);
    await assert.rejects(() => upload.commit(), DestinationError);
  });
});

Deno.test("LocalDestination refuses to commit before the stream is closed", async () => {
  await inTempDir(async (dir) => {
    const upload = await new LocalDestination(dir).create("x.csv");
    await assert.rejects(() => upload.commit(), /not closed/);
    await upload.abort();
    assert.deepEqual(await names(dir), []);
  });
});

Deno.test("LocalDestination put, list, read, head and delete work with relative names", async () => {
  await inTempDir(async (dir) => {
    const dest = new LocalDestination(`${dir}/`);
    const body = new TextEncoder().encode('{"manifest_version":1}');
    const put = await dest.put("manifest.json", body);
    assert.deepEqual(put, { name: "manifest.json", size: body.length });
    await dest.put("a/b/_SUCCESS", new TextEncoder().encode("xxh3:0\n"));
    const pending = await dest.create("a/c.csv"); // an open upload is not listed
    assert.deepEqual(await dest.list(), [
      { name: "a/b/_SUCCESS", size: 7 },
      { name: "manifest.json", size: body.length },
    ]);
    await pending.abort();
    await dest.delete("a/b/_SUCCESS");
    await dest.delete("a/b/_SUCCESS"); // deleting a missing object is fine
    assert.equal(await dest.read("a/b/_SUCCESS"), null);
    assert.equal(await dest.head("missing"), null);
    assert.deepEqual((await dest.list()).map((o) => o.name), ["manifest.json"]);
    assert.deepEqual(await new LocalDestination(`${dir}/never-created`).list(), []);
  });
});

Deno.test("LocalDestination rejects object names that escape the base directory", async () => {
  await inTempDir(async (dir) => {
    const dest = new LocalDestination(dir);
    for (const name of ["../x", "/etc/x", "a/../../x", ""]) {
      await assert.rejects(() => dest.create(name), DestinationError, name);
    }
  });
});

Deno.test("LocalDestination on an unwritable directory fails with a DestinationError saying what to check", async () => {
  await inTempDir(async (dir) => {
    // root ignores mode bits, so as root use sysfs, which refuses mkdir to everyone
    let base = `${dir}/locked`;
    if (Deno.uid() === 0) base = `/sys/rivet-test-${crypto.randomUUID()}`;
    else {
      await Deno.mkdir(base);
      await Deno.chmod(base, 0o555);
    }
    const dest = new LocalDestination(base);
    await assert.rejects(() => dest.create("sub/part.csv"), (err) => {
      assert.ok(err instanceof DestinationError);
      assert.equal(err.exitClass, "destination");
      assert.match(err.message, /permission denied/);
      assert.ok(err.message.includes(base), err.message);
      assert.match(err.hint ?? "", /check that the directory is writable/);
      return true;
    });
  });
});

Deno.test("LocalDestination under a path that is a file fails with a DestinationError", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/file`, new Uint8Array([1]));
    await assert.rejects(
      () => new LocalDestination(`${dir}/file/out`).put("m.json", new Uint8Array()),
      (err) => {
        assert.ok(err instanceof DestinationError);
        assert.match(err.message, /not a directory/);
        return true;
      },
    );
  });
});

Deno.test("LocalDestination never replaces an existing data file on commit, but put replaces", async () => {
  await inTempDir(async (dir) => {
    const dest = new LocalDestination(dir);
    await dest.put("a.csv", new TextEncoder().encode("first"));
    const upload = await dest.create("tmp.csv");
    const w = upload.writable.getWriter();
    await w.write(new TextEncoder().encode("second"));
    await w.close();
    await assert.rejects(() => upload.commit("a.csv"), (err) => {
      assert.ok(err instanceof DestinationError);
      assert.match(err.message, /Refusing to overwrite .*a\.csv/);
      return true;
    });
    assert.equal(await Deno.readTextFile(`${dir}/a.csv`), "first");
    assert.deepEqual(await names(dir), ["a.csv"]);
    await dest.put("a.csv", new TextEncoder().encode("manifest v2"));
    assert.equal(await Deno.readTextFile(`${dir}/a.csv`), "manifest v2");
  });
});
