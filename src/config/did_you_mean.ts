// "Did you mean" suggestions for unknown config keys, spec 3.1 step 5 (planning layer, pure).

/**
 * The allowed key closest to an unknown one, or undefined when none is close.
 *
 * Rule (spec 3.1 step 5): a substring relation either way wins (only candidates of at least
 * 3 characters; the longest such candidate is chosen), otherwise the candidate with the
 * smallest case-insensitive Levenshtein distance, if that distance is at most
 * max(2, floor(longer length / 3)). Ties go to the earlier candidate.
 */
export function didYouMean(key: string, candidates: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let bySubstring: string | undefined;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    if (cl === k) return c;
    if (cl.length >= 3 && k.length > 0 && (k.includes(cl) || cl.includes(k))) {
      if (bySubstring === undefined || c.length > bySubstring.length) bySubstring = c;
    }
  }
  if (bySubstring !== undefined) return bySubstring;

  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const d = levenshtein(k, cl);
    const limit = Math.max(2, Math.floor(Math.max(k.length, cl.length) / 3));
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Edit distance (insert, delete, substitute each cost 1). */
export function levenshtein(a: string, b: string): number {
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
