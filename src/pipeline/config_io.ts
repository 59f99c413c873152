// Reads the config file and the environment for the pure config loader (coordinator).
import * as path from "node:path";
import { ConfigError } from "../errors.ts";
import type { LoadedConfig } from "../config/config_types.ts";
import { loadConfig } from "../config/load_config.ts";
import { resolveSourceUrl } from "../config/credentials.ts";
import type { SourceConnection } from "../source/source.ts";
import { log } from "../observe/log.ts";

function readTextFile(p: string): string | undefined {
  try {
    return Deno.readTextFileSync(p);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

function realPath(p: string): string | undefined {
  try {
    return Deno.realPathSync(p);
  } catch {
    return undefined;
  }
}

function fileExists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Loads and validates a config file; warnings are logged. */
export async function loadConfigFile(
  configPath: string,
  params: Readonly<Record<string, string>>,
): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(configPath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(`config file '${configPath}' not found`, {
        hint: "check the path, or create one with `rivet init`",
      });
    }
    throw new ConfigError(`cannot read config file '${configPath}'`, { cause: err });
  }
  const dir = path.dirname(path.resolve(configPath));
  const loaded = loadConfig(text, {
    path: configPath,
    dir,
    params,
    env: Deno.env.toObject(),
    readTextFile: (p) => readTextFile(path.resolve(dir, p)),
    realPath: (p) => realPath(path.resolve(dir, p)),
    fileExists: (p) => fileExists(path.resolve(dir, p)),
  });
  for (const w of loaded.warnings) {
    if (w.level === "warning") log.warnOnce(w.message, w.message);
    else log.info(w.message);
  }
  return loaded;
}

/** The source connection with its secret resolved from the URL, env or file. */
export function resolveSource(loaded: LoadedConfig): SourceConnection {
  const resolved = resolveSourceUrl(loaded.config.source, {
    env: Deno.env.toObject(),
    readTextFile: (p) => readTextFile(path.resolve(loaded.dir, p)),
    dir: loaded.dir,
  });
  for (const w of resolved.warnings) log.warnOnce(w.message, w.message);
  return {
    type: loaded.config.source.type,
    url: resolved.url,
    ...(loaded.config.source.tls ? { tls: loaded.config.source.tls } : {}),
  };
}
