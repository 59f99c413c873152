// Tests of the S3 destination's pure helpers: part sizing and ETag-as-MD5 rules (execution layer tests).
import assert from "node:assert/strict";
import { etagMd5, partSizeFor } from "./s3_destination.ts";

const MIB = 1024 * 1024;

Deno.test("partSizeFor keeps 8 MiB parts for 1000 parts, then doubles, so 10,000 parts pass 5 TiB", () => {
  assert.equal(partSizeFor(1), 8 * MIB);
  assert.equal(partSizeFor(1000), 8 * MIB);
  assert.equal(partSizeFor(1001), 16 * MIB);
  assert.equal(partSizeFor(10_000), 4096 * MIB);
  let total = 0;
  for (let n = 1; n <= 10_000; n++) total += partSizeFor(n);
  assert.ok(total >= 5 * 1024 * 1024 * MIB, `10,000 parts hold only ${total} bytes`);
  assert.equal(partSizeFor(1, 5 * MIB), 5 * MIB);
});

Deno.test("etagMd5 trusts only plain 32-hex ETags of unencrypted or SSE-S3 objects", () => {
  const md5 = "1B2M2Y8AsgTpgAmY7PhCfg==";
  assert.equal(etagMd5('"d41d8cd98f00b204e9800998ecf8427e"', undefined), md5);
  assert.equal(etagMd5("d41d8cd98f00b204e9800998ecf8427e", "AES256"), md5);
  assert.equal(etagMd5('"d41d8cd98f00b204e9800998ecf8427e-3"', undefined), undefined);
  assert.equal(etagMd5('"d41d8cd98f00b204e9800998ecf8427e"', "aws:kms"), undefined);
  assert.equal(etagMd5(undefined, undefined), undefined);
});
