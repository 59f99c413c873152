// Parser of PostgreSQL's array text format into nested JS arrays (execution layer, pure).
import { ValueError } from "../text_values.ts";

/**
 * Parses an array rendering such as `{1,NULL,"a \"b\"",{...}}` (optionally prefixed by a bounds
 * decoration `[0:2]={...}`) into nested arrays with `dims` levels. Unquoted `NULL` (any case)
 * is SQL NULL; quoted `"NULL"` is the text NULL. `decodeItem` turns each element's unescaped
 * text into a cell value. Every non-empty value must have exactly `dims` dimensions.
 */
export function parsePgArray(
  text: string,
  delimiter: string,
  dims: number,
  decodeItem: (s: string) => unknown,
): unknown[] {
  let i = 0;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const eq = text.indexOf("=");
    if (eq < 0) throw new ValueError(`not an array: '${text}'`);
    i = eq + 1;
  }
  const n = text.length;
  const delim = delimiter.charCodeAt(0);

  const skipWs = () => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };

  const parseLevel = (depth: number): unknown[] => {
    if (text.charCodeAt(i) !== 0x7b /* { */) throw new ValueError(`not an array: '${text}'`);
    i++;
    const out: unknown[] = [];
    skipWs();
    if (text.charCodeAt(i) === 0x7d /* } */) {
      i++;
      return out;
    }
    for (;;) {
      skipWs();
      const c = text.charCodeAt(i);
      if (c === 0x7b) {
        if (depth >= dims) {
          throw new ValueError(
            `array has more than ${dims} dimension(s); read it with a column override or cast`,
          );
        }
        out.push(parseLevel(depth + 1));
      } else {
        if (depth !== dims) {
          throw new ValueError(`array has fewer than ${dims} dimensions`);
        }
        if (c === 0x22 /* " */) {
          i++;
          let s = "";
          let start = i;
          for (;;) {
            if (i >= n) throw new ValueError(`unterminated quoted array element in '${text}'`);
            const q = text.charCodeAt(i);
            if (q === 0x5c /* \ */) {
              s += text.slice(start, i);
              i++;
              start = i;
              i++;
            } else if (q === 0x22) {
              s += text.slice(start, i);
              i++;
              break;
            } else i++;
          }
          out.push(decodeItem(s));
        } else {
          let s = "";
          let start = i;
          while (i < n) {
            const q = text.charCodeAt(i);
            if (q === delim || q === 0x7d) break;
            if (q === 0x5c) {
              s += text.slice(start, i);
              i++;
              start = i;
            }
            i++;
          }
          s = (s + text.slice(start, i)).trimEnd();
          if (s.length === 0) throw new ValueError(`empty unquoted array element in '${text}'`);
          out.push(s.length === 4 && s.toUpperCase() === "NULL" ? null : decodeItem(s));
        }
      }
      skipWs();
      const sep = text.charCodeAt(i);
      i++;
      if (sep === 0x7d) return out;
      if (sep !== delim) throw new ValueError(`malformed array text: '${truncate(text)}'`);
    }
  };

  skipWs();
  const result = parseLevel(1);
  skipWs();
  if (i !== n) throw new ValueError(`trailing characters after array: '${truncate(text)}'`);
  return result;
}

/** Number of leading `{` of an array rendering: its dimensionality (0 for `{}`). */
export function pgArrayDims(text: string): number {
  let i = text.charCodeAt(0) === 0x5b ? text.indexOf("=") + 1 : 0;
  let d = 0;
  while (text.charCodeAt(i) === 0x7b) {
    d++;
    i++;
  }
  return text.charCodeAt(i) === 0x7d && d === 1 ? 0 : d;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
