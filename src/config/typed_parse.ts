// Strict typed reading of a parsed YAML document against CONFIG_SCHEMA, spec 3.1 step 5 (planning layer, pure).
import { type Document, isAlias, isMap, isScalar, isSeq, type Node, type YAMLMap } from "yaml";
import type { FieldSpec, SectionSpec } from "./config_schema.ts";
import { didYouMean } from "./did_you_mean.ts";

/** What the reader needs from its caller: positions and a way to fail. */
export interface ReadContext {
  readonly doc: Document;
  /** "line L, column C" of an offset in the parsed (substituted) text. */
  where(offset: number): string;
  /** Throws the ConfigError for a message (the caller adds the file prefix and redacts). */
  fail(message: string): never;
}

/** The typed value plus where each key was written, by path (`exports[0].mode`). */
export interface TypedRead {
  readonly value: unknown;
  /** Path -> "line L, column C" of the key (or of the item, for list items). */
  readonly locations: ReadonlyMap<string, string>;
  /** Export names by index, as far as they could be read (for messages). */
  readonly exportNames: readonly (string | undefined)[];
}

/** Reads `doc.contents` as `spec`; rejects unknown keys, wrong types and bad enum values. */
export function readTyped(spec: FieldSpec, ctx: ReadContext): TypedRead {
  const reader = new Reader(ctx);
  const value = reader.read(ctx.doc.contents, spec, "", 0);
  return { value, locations: reader.locations, exportNames: reader.exportNames };
}

class Reader {
  readonly locations = new Map<string, string>();
  exportNames: (string | undefined)[] = [];

  constructor(private readonly ctx: ReadContext) {}

  read(raw: unknown, spec: FieldSpec, path: string, fallbackOffset: number): unknown {
    const node = this.resolve(raw);
    if (node === null || (isScalar(node) && node.value === null)) return undefined;
    const offset = node.range?.[0] ?? fallbackOffset;
    switch (spec.kind) {
      case "object":
        if (!isMap(node)) return this.typeError(node, spec, path, offset);
        return this.readObject(node, spec.fields, path);
      case "map": {
        if (!isMap(node)) return this.typeError(node, spec, path, offset);
        const out: Record<string, unknown> = {};
        for (const pair of node.items) {
          const key = this.keyOf(pair.key, path, offset);
          const keyOffset = this.offsetOf(pair.key, offset);
          const childPath = `${path}.${key.name}`;
          this.locations.set(childPath, this.ctx.where(keyOffset));
          const v = this.read(pair.value, spec.value, childPath, keyOffset);
          if (v === undefined) {
            this.ctx.fail(
              `\`${childPath}\` has no value (${this.ctx.where(keyOffset)}). ` +
                `Give it ${expectation(spec.value)} or remove the line.`,
            );
          }
          out[key.name] = v;
        }
        return out;
      }
      case "list": {
        if (!isSeq(node)) return this.typeError(node, spec, path, offset);
        const out: unknown[] = [];
        node.items.forEach((item, i) => {
          const itemPath = `${path}[${i}]`;
          const itemOffset = this.offsetOf(item, offset);
          this.locations.set(itemPath, this.ctx.where(itemOffset));
          const v = this.read(item, spec.item, itemPath, itemOffset);
          if (v === undefined) {
            this.ctx.fail(
              `\`${itemPath}\` is an empty list item (${this.ctx.where(itemOffset)}). ` +
                `Give it ${expectation(spec.item)} or remove the \`-\` line.`,
            );
          }
          out.push(v);
        });
        return out;
      }
      default:
        return this.readScalar(node, spec, path, offset);
    }
  }

  private readObject(node: YAMLMap, fields: SectionSpec, path: string): Record<string, unknown> {
    const mapOffset = node.range?.[0] ?? 0;
    const out: Record<string, unknown> = {};
    const isExportItem = /^exports\[\d+\]$/.test(path);
    if (path === "") this.exportNames = peekExportNames(node, this);
    for (const pair of node.items) {
      const key = this.keyOf(pair.key, path, mapOffset);
      const keyOffset = this.offsetOf(pair.key, mapOffset);
      const childPath = path === "" ? key.name : `${path}.${key.name}`;
      const field = Object.hasOwn(fields, key.name) ? fields[key.name] : undefined;
      if (field === undefined) {
        const suggestion = didYouMean(key.name, Object.keys(fields));
        const inExport = isExportItem ? this.exportLabel(path) : "";
        this.ctx.fail(
          `unknown key \`${key.name}\` at \`${childPath}\`${inExport} (${
            this.ctx.where(keyOffset)
          }). ` +
            (suggestion !== undefined
              ? `Did you mean \`${suggestion}\`?`
              : `Allowed keys ${path === "" ? "at the top level" : `in \`${path}\``}: ${
                Object.keys(fields).join(", ")
              }.`) +
            " Rename or remove it: unknown keys are rejected so that a typo never goes unnoticed.",
        );
      }
      this.locations.set(childPath, this.ctx.where(keyOffset));
      const v = this.read(pair.value, field, childPath, keyOffset);
      if (v !== undefined) out[key.name] = v;
    }
    for (const [name, field] of Object.entries(fields)) {
      if (field.required && out[name] === undefined) {
        const where = path === ""
          ? "the config file"
          : `\`${path}\`${isExportItem ? this.exportLabel(path) : ""}`;
        this.ctx.fail(
          `${where} is missing the required key \`${name}\` (${this.ctx.where(mapOffset)}). ` +
            (field.kind === "object"
              ? `Add a \`${name}:\` block (\`rivet schema config\` lists its keys).`
              : field.kind === "list"
              ? `Add an \`${name}:\` list.`
              : `Add \`${name}:\` with ${expectation(field)}.`),
        );
      }
    }
    return out;
  }

  private readScalar(node: Node, spec: FieldSpec, path: string, offset: number): unknown {
    if (!isScalar(node)) return this.typeError(node, spec, path, offset);
    const v = node.value;
    switch (spec.kind) {
      case "string":
        if (typeof v === "string") return v;
        // A plain `password: 012345` or `name: 2024` is text to the user: keep it as written.
        if ((typeof v === "number" || typeof v === "boolean") && node.type === "PLAIN") {
          return typeof node.source === "string" ? node.source : String(v);
        }
        return this.typeError(node, spec, path, offset);
      case "bool":
        if (typeof v === "boolean") return v;
        return this.typeError(node, spec, path, offset);
      case "int":
      case "number": {
        const ok = typeof v === "number" && Number.isFinite(v) &&
          (spec.kind === "number" || Number.isInteger(v)) &&
          (spec.min === undefined || v >= spec.min) && (spec.max === undefined || v <= spec.max);
        if (ok) return v;
        return this.typeError(node, spec, path, offset);
      }
      case "enum":
        if (typeof v === "string" && spec.values.includes(v)) return v;
        this.ctx.fail(
          `\`${path}\`${this.exportContext(path)} has the invalid value ${
            describe(node, false, false)
          } (${this.ctx.where(offset)}). Allowed values: ${spec.values.join(", ")}.`,
        );
        break;
      default:
        return this.typeError(node, spec, path, offset);
    }
  }

  private typeError(node: unknown, spec: FieldSpec, path: string, offset: number): never {
    const got = describe(node, spec.secret === true);
    const advice = isScalar(node) && typeof node.value === "string" &&
        (spec.kind === "int" || spec.kind === "number")
      ? " Write it as a plain number, without quotes."
      : isScalar(node) && typeof node.value === "string" && spec.kind === "bool"
      ? " Write true or false (yes/no/on/off are text in YAML 1.2)."
      : "";
    return this.ctx.fail(
      `\`${path}\`${this.exportContext(path)} must be ${expectation(spec)}, but got ${got} (${
        this.ctx.where(offset)
      }).${advice}`,
    );
  }

  private exportContext(path: string): string {
    const m = /^(exports\[\d+\])\./.exec(path);
    return m?.[1] === undefined ? "" : this.exportLabel(m[1]);
  }

  /** ` in export 'orders'` for `exports[3]`, or "" when its name is unknown. */
  exportLabel(itemPath: string): string {
    const m = /^exports\[(\d+)\]/.exec(itemPath);
    const name = m?.[1] === undefined ? undefined : this.exportNames[Number(m[1])];
    return name === undefined ? "" : ` in export '${name}'`;
  }

  resolve(raw: unknown): Node | null {
    if (raw === null || raw === undefined) return null;
    if (isAlias(raw)) return (raw.resolve(this.ctx.doc) as Node | undefined) ?? null;
    return raw as Node;
  }

  private keyOf(raw: unknown, path: string, fallback: number): { name: string } {
    const node = this.resolve(raw);
    if (isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")) {
      return { name: String(node.value) };
    }
    return this.ctx.fail(
      `\`${path === "" ? "the top level" : path}\` has a key that is not plain text (${
        this.ctx.where(this.offsetOf(raw, fallback))
      }). Use simple \`name: value\` keys.`,
    );
  }

  private offsetOf(raw: unknown, fallback: number): number {
    const node = this.resolve(raw);
    return node?.range?.[0] ?? fallback;
  }
}

function peekExportNames(root: YAMLMap, reader: Reader): (string | undefined)[] {
  const exportsNode = reader.resolve(root.get("exports", true));
  if (!isSeq(exportsNode)) return [];
  return exportsNode.items.map((item) => {
    const m = reader.resolve(item);
    if (!isMap(m)) return undefined;
    const name = reader.resolve(m.get("name", true));
    return isScalar(name) && (typeof name.value === "string" || typeof name.value === "number")
      ? String(name.value)
      : undefined;
  });
}

/** "a whole number between 1 and 65535", "one of: a, b", ... */
export function expectation(spec: FieldSpec): string {
  switch (spec.kind) {
    case "string":
      return "text";
    case "bool":
      return "true or false";
    case "enum":
      return `one of: ${spec.values.join(", ")}`;
    case "object":
      return "a mapping of indented `key: value` lines";
    case "list":
      return "a list";
    case "map":
      return "a mapping of `name: value` lines";
    case "int":
    case "number": {
      const noun = spec.kind === "int" ? "a whole number" : "a number";
      if (spec.min !== undefined && spec.max !== undefined) {
        return `${noun} between ${spec.min} and ${spec.max}`;
      }
      if (spec.min !== undefined) return `${noun} of at least ${spec.min}`;
      if (spec.max !== undefined) return `${noun} of at most ${spec.max}`;
      return noun;
    }
  }
}

/** A short description of what was written, never the value itself when it is secret. */
function describe(node: unknown, secret: boolean, sayText = true): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (!isScalar(node)) return "an unsupported YAML value";
  const v = node.value;
  if (v === null) return "an empty value";
  if (secret) return "a value of the wrong type (not shown because it may be secret)";
  if (typeof v === "string") {
    const shown = v.length > 60 ? `${v.slice(0, 57)}...` : v;
    return `${sayText ? "text " : ""}${JSON.stringify(shown)}`;
  }
  if (typeof v === "number" || typeof v === "boolean") {
    return typeof node.source === "string" ? node.source : String(v);
  }
  return "an unsupported YAML value";
}
