// Tests of the canonical cell rendering: NULL markers, type tags, lengths, NaN, slices (execution layer tests).
import assert from "node:assert/strict";
import type * as arrow from "apache-arrow";
import { BatchBuilder } from "../source/batch_builder.ts";
import type { RivetType } from "../source/rivet_types.ts";
import { ALL_TYPES, ALL_TYPES_ROWS, allTypesBatch } from "../format/all_types_fixture.ts";
import { ByteSink, cellWriter } from "./canonical_bytes.ts";

function column(type: RivetType, values: readonly unknown[]): arrow.Data {
  const b = new BatchBuilder([{ name: "c", type, nativeType: "x", fidelity: "exact" }]);
  for (const v of values) {
    b.columns[0]!.append(v);
    b.endRow();
  }
  return b.finish().data.children[0]!;
}

function render(data: arrow.Data, row: number): number[] {
  const sink = new ByteSink();
  cellWriter(data, "c")(row, sink);
  return [...sink.view()];
}

Deno.test("cellWriter renders NULL as one 0x00 byte and the empty string as a value", () => {
  const data = column({ kind: "string" }, [null, ""]);
  assert.deepEqual(render(data, 0), [0x00]);
  // 0x01, tag (Utf8 = 5, 0), length 0 as u32 LE
  assert.deepEqual(render(data, 1), [0x01, 5, 0, 0, 0, 0, 0]);
});

Deno.test("cellWriter renders int32 1, int64 1 and the string '1' differently", () => {
  const i32 = render(column({ kind: "int32" }, [1]), 0);
  const i64 = render(column({ kind: "int64" }, [1n]), 0);
  const str = render(column({ kind: "string" }, ["1"]), 0);
  assert.deepEqual(i32, [0x01, 2, 0xa0, 1, 0, 0, 0]);
  assert.deepEqual(i64, [0x01, 2, 0xc0, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(str, [0x01, 5, 0, 1, 0, 0, 0, 0x31]);
});

Deno.test("cellWriter renders decimals exactly as their unscaled integer", () => {
  const data = column({ kind: "decimal", precision: 38, scale: 2 }, [-1n, 10n ** 37n]);
  const minusOne = render(data, 0);
  assert.equal(minusOne.length, 1 + 2 + 16);
  assert.deepEqual(minusOne.slice(3), new Array(16).fill(0xff));
  assert.notDeepEqual(render(data, 1), minusOne);
});

Deno.test("cellWriter gives every NaN the same bytes but keeps -0 apart from 0", () => {
  const data = column({ kind: "float64" }, [NaN, -NaN, 0, -0]);
  const f = new Float64Array([NaN]);
  new Uint8Array(f.buffer)[0] = 1; // a NaN with another payload
  const other = column({ kind: "float64" }, [f[0]!]);
  assert.deepEqual(render(data, 0), render(data, 1));
  assert.deepEqual(render(data, 0), render(other, 0));
  assert.notDeepEqual(render(data, 2), render(data, 3));
});

Deno.test("cellWriter renders a list with its count and per-item NULL markers", () => {
  const data = column({ kind: "list", item: { kind: "int16" } }, [[1, null], [], null]);
  assert.deepEqual(render(data, 0), [0x01, 12, 0, 2, 0, 0, 0, 0x01, 2, 0x90, 1, 0, 0x00]);
  assert.deepEqual(render(data, 1), [0x01, 12, 0, 0, 0, 0, 0]);
  assert.deepEqual(render(data, 2), [0x00]);
});

Deno.test("cellWriter renders a sliced batch the same as the rows of the whole batch", () => {
  const whole = allTypesBatch();
  const slice = whole.slice(2, 5);
  for (let c = 0; c < ALL_TYPES.length; c++) {
    for (let r = 0; r < slice.numRows; r++) {
      assert.deepEqual(
        render(slice.data.children[c]!, r),
        render(whole.data.children[c]!, r + 2),
        `column ${ALL_TYPES[c]!.name} row ${r + 2}`,
      );
    }
  }
  assert.equal(ALL_TYPES_ROWS.length, whole.numRows);
});
