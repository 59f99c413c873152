// Tests of the generated JSON Schema of rivet.yaml (planning layer, pure).
import { assertEquals } from "./test_assert.ts";
import { configJsonSchema } from "./config_schema.ts";
import { RIVET_VERSION } from "../version.ts";

type Obj = Record<string, unknown>;
const at = (o: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>((cur, k) => (cur as Obj | undefined)?.[k], o);

Deno.test("configJsonSchema is draft 2020-12 with the versioned title", () => {
  const s = configJsonSchema();
  assertEquals(s.$schema, "https://json-schema.org/draft/2020-12/schema");
  assertEquals(s.title, `Rivet config (rivet-cli ${RIVET_VERSION})`);
  assertEquals(s.required, ["source", "exports"]);
  assertEquals(s.additionalProperties, false);
});

Deno.test("configJsonSchema closes every object section with additionalProperties false", () => {
  const open: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (node === null || typeof node !== "object") return;
    const o = node as Obj;
    if (o.type === "object" && o.properties !== undefined && o.additionalProperties !== false) {
      open.push(path);
    }
    for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
  };
  walk(configJsonSchema(), "");
  assertEquals(open, []);
});

Deno.test("configJsonSchema lists enums, requirements and nested export keys", () => {
  const s = configJsonSchema();
  const exportItem = at(s, "properties", "exports", "items");
  assertEquals(at(s, "properties", "exports", "minItems"), 1);
  assertEquals(at(exportItem, "required"), ["name", "format", "destination"]);
  assertEquals(at(exportItem, "properties", "mode", "enum"), [
    "full",
    "incremental",
    "chunked",
    "time_window",
  ]);
  assertEquals(at(exportItem, "properties", "destination", "required"), ["type"]);
  assertEquals(at(s, "properties", "source", "properties", "port"), {
    type: "integer",
    minimum: 1,
    maximum: 65535,
    description: "structured form: port (default 5432 PostgreSQL, 3306 MySQL)",
  });
  assertEquals(at(exportItem, "properties", "columns", "additionalProperties", "type"), "string");
  assertEquals(
    Object.keys(at(s, "properties", "source", "properties", "tuning", "properties") as Obj).length,
    14,
  );
  assertEquals(Object.keys(at(exportItem, "properties") as Obj).length, 41);
});
