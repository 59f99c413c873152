// rivet.yaml text -> typed Config + warnings, the loading pipeline of spec 3.1 (planning layer, pure).
// All I/O (query files, real paths, file checks) and the environment are injected via LoadContext.
import { type Document, isMap, isScalar, isSeq, parseDocument } from "yaml";
import { ConfigError, redact } from "../errors.ts";
import { CONFIG_SCHEMA, TUNING_FIELDS } from "./config_schema.ts";
import type { Config, Diagnostic, LoadedConfig } from "./config_types.ts";
import { isInside, joinPath } from "./paths.ts";
import {
  LineIndex,
  type MissingPlaceholder,
  substitutePlaceholders,
  unusedParamWarnings,
} from "./substitute.ts";
import { readTyped } from "./typed_parse.ts";
import { validateConfig } from "./validate_config.ts";

export { configJsonSchema } from "./config_schema.ts";

/** Everything loadConfig may look at besides the text: parameters, environment and file access. */
export interface LoadContext {
  /** The config file path as given (used in messages). */
  readonly path: string;
  /** Directory holding the config; query_file and credentials_file resolve against it. */
  readonly dir: string;
  /** `--param KEY=VALUE` values; they win over the environment. */
  readonly params: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** File contents, or undefined when the file is missing. */
  readTextFile(path: string): string | undefined;
  /** The path with symlinks resolved, or undefined when it does not exist. */
  realPath(path: string): string | undefined;
  fileExists(path: string): boolean;
}

/** Environment/param names whose values are treated as secrets in messages. */
const SECRET_NAME = /pass|pwd|secret|token|credential|key|auth/i;

/**
 * Loads a config per spec 3.1: unused --param warnings, `${NAME}` substitution, misplaced-tuning
 * lint, YAML parse, strict typed parse, semantic validation (3.9), query files. Every failure is
 * a ConfigError prefixed `config file '<path>': ` with the YAML line and column; secrets are
 * redacted from every message.
 */
export function loadConfig(text: string, ctx: LoadContext): LoadedConfig {
  const prefix = `config file '${ctx.path}': `;
  const rawLines = new LineIndex(text);
  const secrets: string[] = [];
  const fail = (message: string): never => {
    throw new ConfigError(redact(prefix + message, secrets));
  };

  // Step 3: substitution over the whole raw text.
  const sub = substitutePlaceholders(
    text,
    ctx.params,
    ctx.env,
    (m) => missingVariable(m, `config file '${ctx.path}'`, rawLines),
  );
  for (const { name, value } of sub.inserted) if (SECRET_NAME.test(name)) secrets.push(value);
  const where = (offset: number): string => {
    const { line, column } = rawLines.at(sub.toRawOffset(offset));
    return `line ${line}, column ${column}`;
  };

  // YAML syntax (needed by the lint of step 4, so it comes first).
  const doc = parseDocument(sub.text, { prettyErrors: false, uniqueKeys: true });
  const syntaxError = doc.errors[0];
  if (syntaxError !== undefined) {
    const line = sub.text.slice(0, syntaxError.pos[0]).split("\n").length;
    const text = sub.text.split("\n")[line - 1] ?? "";
    const braceHint = /\{\s*[^}]*\{(date|export|table|run_id|partition)\}/.test(text)
      ? " Inside `{ ... }` a template like `{export}` starts a nested mapping: quote the " +
        'value, e.g. `path: "./out/{export}"`.'
      : "";
    fail(
      `malformed YAML at ${where(syntaxError.pos[0])}: ${syntaxError.message}. Fix the YAML ` +
        "syntax there (indent with spaces, close every bracket and quote, quote values that " +
        "contain ': ' or ' #')." + braceHint,
    );
  }
  collectSecrets(doc, secrets);
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    fail(
      "the file is empty. A config needs a `source:` block and an `exports:` list; run " +
        "`rivet init` to scaffold one.",
    );
  }
  if (!isMap(doc.contents)) {
    fail(
      `the top level must be a mapping with \`source:\` and \`exports:\` keys (${
        where(doc.contents?.range?.[0] ?? 0)
      }). Start the file with a \`source:\` block and an \`exports:\` list; run \`rivet init\` ` +
        "to scaffold one.",
    );
  }

  // Step 4: misplaced tuning keys.
  lintMisplacedTuning(doc, where, fail);

  // Step 5: strict typed parse.
  const typed = readTyped(CONFIG_SCHEMA, { doc, where, fail });
  const config = typed.value as Config;

  // Step 6: semantic validation.
  const result = validateConfig(config, {
    locations: typed.locations,
    dir: ctx.dir,
    fileExists: (p) => ctx.fileExists(p),
  });
  if (result.problems.length === 1) fail(result.problems[0] ?? "");
  if (result.problems.length > 1) {
    fail(
      `${result.problems.length} problems:\n` + result.problems.map((p) => `- ${p}`).join("\n"),
    );
  }

  // Query files: read, confine to the config directory, substitute.
  const queryFiles: Record<string, string> = {};
  const rawQueryTexts: string[] = [];
  config.exports.forEach((e, i) => {
    if (e.query_file === undefined) return;
    const who = `export '${e.name}' (exports[${i}])`;
    const loc = typed.locations.get(`exports[${i}].query_file`) ?? "";
    const full = joinPath(ctx.dir, e.query_file);
    const real = ctx.realPath(full);
    const content = real === undefined ? undefined : ctx.readTextFile(full);
    if (real === undefined || content === undefined) {
      fail(
        `${who}: query_file '${e.query_file}' was not found (looked at ${full}; ${loc}). ` +
          "Create the file or fix the path; it is relative to the config file's directory.",
      );
      return;
    }
    const realDir = ctx.realPath(ctx.dir) ?? ctx.dir;
    if (!isInside(realDir, real)) {
      fail(
        `${who}: query_file '${e.query_file}' resolves to ${real}, outside the config ` +
          `directory ${realDir} (${loc}). Query files must live inside the config directory; ` +
          "copy the file there instead of linking to it.",
      );
    }
    const fileLines = new LineIndex(content);
    const subbed = substitutePlaceholders(
      content,
      ctx.params,
      ctx.env,
      (m) => missingVariable(m, `query_file '${e.query_file}' of ${who}`, fileLines),
    );
    rawQueryTexts.push(content);
    queryFiles[e.name] = subbed.text;
  });

  // Step 2 (reported first): --param keys that no placeholder uses.
  const warnings: Diagnostic[] = [
    ...unusedParamWarnings(ctx.params, [text, ...rawQueryTexts], ctx.path),
    ...result.warnings.map((w) => ({ ...w, message: redact(w.message, secrets) })),
  ];

  return deepFreeze({ config, path: ctx.path, dir: ctx.dir, warnings, queryFiles });
}

function missingVariable(m: MissingPlaceholder, place: string, lines: LineIndex): never {
  const { line, column } = lines.at(m.offset);
  throw new ConfigError(
    `environment variable '${m.name}' referenced in config is not set (${place}, line ${line}, ` +
      `column ${column}). Set it with \`export ${m.name}=...\` or pass ` +
      `\`--param ${m.name}=...\`; a missing value is never replaced by an empty string.`,
  );
}

/** Adds the plaintext source.password (as written) to the values redacted from messages. */
function collectSecrets(doc: Document, secrets: string[]): void {
  const pw = doc.getIn(["source", "password"]);
  if (typeof pw === "string" || typeof pw === "number") secrets.push(String(pw));
}

const TUNING_KEYS: readonly string[] = Object.keys(TUNING_FIELDS);

/** Spec 3.1 step 4: tuning keys written directly under `source:` or an `exports[]` item. */
function lintMisplacedTuning(
  doc: Document,
  where: (offset: number) => string,
  fail: (message: string) => never,
): void {
  const root = doc.contents;
  if (!isMap(root)) return;
  const source = root.get("source", true);
  if (isMap(source)) {
    const found = misplaced(source);
    const first = found[0];
    if (first !== undefined) {
      fail(
        `${names(found)} ${found.length === 1 ? "is a tuning setting" : "are tuning settings"} ` +
          `but ${found.length === 1 ? "is" : "are"} set directly under \`source:\` ` +
          `(${where(first.offset)}). Move ${found.length === 1 ? "it" : "them"} under ` +
          "`source.tuning:`, like this:\n\nsource:\n  tuning:\n" +
          found.map((f) => `    ${f.key}: ${f.value}`).join("\n"),
      );
    }
  }
  const exportsNode = root.get("exports", true);
  if (!isSeq(exportsNode)) return;
  exportsNode.items.forEach((item, i) => {
    if (!isMap(item)) return;
    const found = misplaced(item);
    const first = found[0];
    if (first === undefined) return;
    const nameNode = item.get("name", true);
    const name = isScalar(nameNode) ? String(nameNode.value) : undefined;
    const who = name === undefined ? `exports[${i}]` : `export '${name}' (exports[${i}])`;
    fail(
      `${who} sets ${names(found)} directly on the export (${where(first.offset)}), but ` +
        (found.length === 1
          ? "it is a tuning setting that belongs"
          : "these are tuning settings that belong") +
        " under `exports[].tuning:`. Move " + (found.length === 1 ? "it" : "them") +
        ", like this:\n\nexports:\n  - name: " + (name ?? "...") + "\n    tuning:\n" +
        found.map((f) => `      ${f.key}: ${f.value}`).join("\n"),
    );
  });
}

function misplaced(
  map: { items: readonly { key: unknown; value: unknown }[] },
): { key: string; value: string; offset: number }[] {
  const out: { key: string; value: string; offset: number }[] = [];
  for (const pair of map.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== "string") continue;
    if (!TUNING_KEYS.includes(pair.key.value)) continue;
    const v = pair.value;
    const shown = isScalar(v)
      ? (typeof v.value === "string" ? v.value : (v.source ?? String(v.value)))
      : "...";
    out.push({ key: pair.key.value, value: shown, offset: pair.key.range?.[0] ?? 0 });
  }
  return out;
}

function names(found: readonly { key: string }[]): string {
  return found.map((f) => `\`${f.key}\``).join(", ");
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
