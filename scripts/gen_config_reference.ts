// Generates docs/reference/config.md from the config key table the validator itself uses (dev tool).
import { CONFIG_SCHEMA, type FieldSpec, type SectionSpec } from "../src/config/config_schema.ts";

function typeOf(f: FieldSpec): string {
  switch (f.kind) {
    case "enum":
      return f.values.map((v) => `\`${v}\``).join(" \\| ");
    case "int":
    case "number": {
      const range = f.min !== undefined || f.max !== undefined
        ? ` (${f.min ?? ""}..${f.max ?? ""})`
        : "";
      return `${f.kind === "int" ? "integer" : "number"}${range}`;
    }
    case "list":
      return `list of ${f.item.kind === "object" ? "objects" : typeOf(f.item)}`;
    case "map":
      return `map of ${typeOf(f.value)}`;
    case "object":
      return "object";
    default:
      return f.kind;
  }
}

function section(title: string, fields: SectionSpec, out: string[], path: string): void {
  out.push(`## ${title}`, "", "| key | type | required | meaning |", "|---|---|---|---|");
  const nested: Array<[string, SectionSpec, string]> = [];
  for (const [key, f] of Object.entries(fields)) {
    out.push(`| \`${key}\` | ${typeOf(f)} | ${f.required ? "yes" : ""} | ${f.doc} |`);
    if (f.kind === "object") nested.push([`${path}${key}`, f.fields, `${path}${key}.`]);
    if (f.kind === "list" && f.item.kind === "object") {
      nested.push([`${path}${key}[]`, f.item.fields, `${path}${key}[].`]);
    }
  }
  out.push("");
  for (const [t, s, p] of nested) section(`\`${t}\``, s, out, p);
}

export function configReference(): string {
  const out = [
    "# Configuration reference (rivet.yaml)",
    "",
    "Generated from the key table the validator uses (`src/config/config_schema.ts`) by",
    "`deno run --allow-read --allow-write scripts/gen_config_reference.ts`; a test fails when",
    "this file is out of date. Every key is checked: an unknown key is an error that names it,",
    "with its line and column and a did-you-mean. `${NAME}` anywhere in the file is replaced by",
    "`-p NAME=value` or else the environment variable `NAME`; a missing one is an error, never",
    "an empty string. `rivet schema config` prints the same table as JSON Schema for editors",
    "(yaml-language-server: `# yaml-language-server: $schema=rivet.schema.json`).",
    "",
  ];
  if (CONFIG_SCHEMA.kind !== "object") throw new Error("config schema root is not an object");
  section("Top level", CONFIG_SCHEMA.fields, out, "");
  return out.join("\n").trimEnd() + "\n";
}

if (import.meta.main) {
  const target = new URL("../docs/reference/config.md", import.meta.url);
  Deno.writeTextFileSync(target, configReference());
  console.log(`wrote ${target.pathname}`);
}
