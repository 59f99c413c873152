// Fakes and helpers shared by the config tests: an in-memory LoadContext (planning layer, test support).
import { ConfigError } from "../errors.ts";
import type { LoadContext } from "./load_config.ts";

/** An in-memory file system for LoadContext: paths are absolute, symlinks map path -> target. */
export function fakeContext(
  opts: {
    files?: Record<string, string>;
    symlinks?: Record<string, string>;
    env?: Record<string, string | undefined>;
    params?: Record<string, string>;
    dir?: string;
    path?: string;
  } = {},
): LoadContext {
  const files = opts.files ?? {};
  const links = opts.symlinks ?? {};
  const dir = opts.dir ?? "/cfg";
  const real = (p: string): string | undefined => {
    const target = links[p] ?? p;
    return Object.hasOwn(files, target) || target === dir ? target : undefined;
  };
  return {
    path: opts.path ?? "rivet.yaml",
    dir,
    params: opts.params ?? {},
    env: opts.env ?? { DATABASE_URL: "postgresql://app:s3cret@db:5432/app" },
    readTextFile: (p) => {
      const r = real(p);
      return r === undefined ? undefined : files[r];
    },
    realPath: real,
    fileExists: (p) => real(p) !== undefined,
  };
}

/** The ConfigError thrown by `fn`; fails the test when nothing or something else is thrown. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(`expected a ConfigError, got ${String(e)}`);
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}
