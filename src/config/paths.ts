// Minimal path helpers for config-relative paths, kept pure (planning layer, pure).

/** True for `/x`, `\x`, `C:\x`, `C:/x`. */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith("/") || p.startsWith("\\") || /^[A-Za-z]:[\\/]/.test(p);
}

/** `dir` + `/` + `rel`, without doubling the separator and without a leading `./`. */
export function joinPath(dir: string, rel: string): string {
  const base = dir.replace(/[\\/]+$/, "");
  const tail = rel.replace(/^(\.[\\/])+/, "");
  if (base === "") return dir.startsWith("/") ? `/${tail}` : tail;
  return `${base}/${tail}`;
}

/** True when `child` is `parent` itself or lies below it (both already real paths). */
export function isInside(parent: string, child: string): boolean {
  const base = parent.replace(/[\\/]+$/, "");
  if (child === base) return true;
  return child.startsWith(`${base}/`) || child.startsWith(`${base}\\`) || base === "";
}
