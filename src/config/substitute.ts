// `${NAME}` placeholder substitution over raw config text, spec 3.1 steps 2-3 (planning layer, pure).
import type { Diagnostic } from "./config_types.ts";

/** The substituted text plus a way back to offsets in the original text (for line:column). */
export interface Substitution {
  readonly text: string;
  /** Maps an offset in `text` to the offset in the raw text it came from. */
  toRawOffset(offset: number): number;
  /** The values that were inserted, with the placeholder name that produced each. */
  readonly inserted: readonly { readonly name: string; readonly value: string }[];
}

/** Where a placeholder that has no value was found. */
export interface MissingPlaceholder {
  readonly name: string;
  /** Offset of `${` in the raw text. */
  readonly offset: number;
}

interface Segment {
  readonly outStart: number;
  readonly outEnd: number;
  readonly rawStart: number;
  readonly rawEnd: number;
}

/**
 * Replaces every `${NAME}` with `params[NAME]`, else `env[NAME]`, in one left-to-right pass
 * (inserted values are not re-scanned). `${}` becomes empty; a `${` without a `}` on the same
 * line stays as is.
 * A name with neither value calls `onMissing`, which must throw.
 */
export function substitutePlaceholders(
  raw: string,
  params: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
  onMissing: (missing: MissingPlaceholder) => never,
): Substitution {
  const parts: string[] = [];
  const segments: Segment[] = [];
  const inserted: { name: string; value: string }[] = [];
  let outLength = 0;
  let i = 0;
  while (i < raw.length) {
    const start = raw.indexOf("${", i);
    if (start < 0) break;
    const end = raw.indexOf("}", start + 2);
    if (end < 0) break;
    const name = raw.slice(start + 2, end);
    if (name.includes("\n")) {
      // Unterminated on its line: leave this `${` as written and keep scanning after it.
      const before = raw.slice(i, start + 2);
      parts.push(before);
      outLength += before.length;
      i = start + 2;
      continue;
    }
    const value = name === "" ? "" : lookup(name, params, env);
    if (value === undefined) onMissing({ name, offset: start });
    const before = raw.slice(i, start);
    parts.push(before, value);
    outLength += before.length;
    segments.push({
      outStart: outLength,
      outEnd: outLength + value.length,
      rawStart: start,
      rawEnd: end + 1,
    });
    outLength += value.length;
    if (name !== "") inserted.push({ name, value });
    i = end + 1;
  }
  parts.push(raw.slice(i));
  const text = parts.join("");

  return {
    text,
    inserted,
    toRawOffset(offset: number): number {
      let delta = 0;
      for (const s of segments) {
        if (offset < s.outStart) break;
        if (offset < s.outEnd) return s.rawStart;
        delta = s.rawEnd - s.outEnd;
      }
      return offset + delta;
    },
  };
}

function lookup(
  name: string,
  params: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (Object.hasOwn(params, name)) return params[name];
  if (Object.hasOwn(env, name)) return env[name];
  return undefined;
}

/** One warning per `--param` whose `${key}` occurs in none of the given raw texts. */
export function unusedParamWarnings(
  params: Readonly<Record<string, string>>,
  rawTexts: readonly string[],
  configPath: string,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const key of Object.keys(params)) {
    const placeholder = "${" + key + "}";
    if (rawTexts.some((t) => t.includes(placeholder))) continue;
    out.push({
      level: "warning",
      message: `--param '${key}' was not referenced in config file '${configPath}' ` +
        `(no \`${placeholder}\` placeholder in it or its query files); check the name for a typo.`,
    });
  }
  return out;
}

/** 1-based line and column of offsets in a text. */
export class LineIndex {
  readonly #starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.#starts.push(i + 1);
    }
  }

  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.#starts[lo] ?? 0) + 1 };
  }
}
