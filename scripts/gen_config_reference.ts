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

/** The cross-key rules the loader and the planner enforce (each failure exits 1 with a message). */
const RULES = [
  "## Rules across keys",
  "",
  "Checked when the file is loaded (every failure names the key, its line and column):",
  "",
  "- `exports` has at least one export; export names are unique.",
  "- The source has exactly one of `url`, `url_env`, `url_file`, or the structured form",
  "  (`host`, `user`, `database`, optional `port`, `password` or `password_env` — not both);",
  "  URL and structured fields are not mixed; the URL scheme matches `source.type`.",
  "- `batch_size` and `batch_size_memory_mb` are mutually exclusive (in one tuning block or",
  "  after merging source and export tuning).",
  "- Each export has exactly one of `query`, `query_file`, `table`; `query_file` is relative,",
  "  has no `..` and stays inside the config directory; `table` is `name` or `schema.name`.",
  "- `compression_level`: zstd 1..22, gzip 0..10, not allowed for other codecs; ignored (with a",
  "  warning) when `compression_profile` is set.",
  "- `max_file_size` parses as a size (`512MB`, `1.5 GB`, bytes without a suffix) and is above 0.",
  "- S3: `access_key_env` and `secret_key_env` together or not at all; cloud destinations need",
  "  `bucket`; GCS: `allow_anonymous` excludes `credentials_file`, which must exist.",
  "- incremental needs `cursor_column`; `coalesce` needs `cursor_fallback_column`;",
  "  `single_column` must not have one.",
  "- chunked needs `chunk_column` or `table:` (the primary key is then used); `chunk_size`,",
  "  `chunk_count`, `chunk_by_days` and `parallel` are at least 1; `chunk_count` excludes",
  "  `chunk_dense` and `chunk_by_days`; `chunk_dense` excludes `chunk_by_days`; `chunk_dense` and",
  "  `chunk_by_days` only with `mode: chunked`; `chunk_by_key` needs `table:` and excludes",
  "  `chunk_column`, `chunk_dense`, `chunk_by_days`, `chunk_count`.",
  "- time_window needs `time_column` and `days_window`.",
  "- Tuning keys written directly under `source:` or an export are refused with a pointer to",
  "  `tuning:`.",
  "",
  "Checked when a run is planned (the export fails, the others run):",
  "",
  "- stdout destinations cannot use `max_file_size` or `mode: chunked`.",
  "- `partition_by` needs `{partition}` in the destination path or prefix and cannot be combined",
  "  with `time_window` or `chunk_by_key`.",
  "- `columns:` overrides must be supported type strings (see the type mapping).",
  "- An incremental cursor column must be of an exactly comparable type (integer, decimal, date,",
  "  timestamp, float, text, uuid).",
  "",
];

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
  out.push(...RULES);
  return out.join("\n").trimEnd() + "\n";
}

if (import.meta.main) {
  const target = new URL("../docs/reference/config.md", import.meta.url);
  Deno.writeTextFileSync(target, configReference());
  console.log(`wrote ${target.pathname}`);
}
