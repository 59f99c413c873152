// Builds the source connection URL from url / url_env / url_file / structured fields (planning layer, pure).
// The environment and file reads are injected; the caller redacts `secrets` from everything it prints.
import { ConfigError, redact } from "../errors.ts";
import type { Diagnostic, SourceConfig } from "./config_types.ts";
import { isAbsolutePath, joinPath } from "./paths.ts";

export interface CredentialContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** File contents, or undefined when the file is missing. */
  readTextFile(path: string): string | undefined;
  /** Config directory; a relative url_file resolves against it when given. */
  readonly dir?: string;
}

export interface ResolvedSourceUrl {
  readonly url: string;
  /** Values to redact from any output (the password, raw and percent-encoded). */
  readonly secrets: readonly string[];
  readonly warnings: readonly Diagnostic[];
}

/** Warning texts are stable so that the caller can print each at most once per process. */
export const INLINE_URL_PASSWORD_WARNING =
  "source.url contains a plaintext password; move the URL into an environment variable and " +
  "use `url_env:` (or `url_file:`) so the secret stays out of the config file.";
export const PLAINTEXT_PASSWORD_WARNING =
  "source.password is set in plaintext; use `password_env:` naming an environment variable " +
  "so the secret stays out of the config file.";

const SCHEMES = {
  postgres: { scheme: "postgresql", accepted: ["postgresql", "postgres"], port: 5432 },
  mysql: { scheme: "mysql", accepted: ["mysql"], port: 3306 },
} as const;

/** The connection URL of a (validated) source config, per spec 3.3. */
export function resolveSourceUrl(source: SourceConfig, ctx: CredentialContext): ResolvedSourceUrl {
  const engine = SCHEMES[source.type];
  const warnings: Diagnostic[] = [];

  let url: string | undefined;
  let origin: string;
  if (source.url !== undefined) {
    url = source.url;
    origin = "source.url";
  } else if (source.url_env !== undefined) {
    const name = source.url_env;
    url = ctx.env[name];
    origin = `environment variable '${name}' (source.url_env)`;
    if (url === undefined) {
      throw new ConfigError(
        `environment variable '${name}' named by source.url_env is not set. Set it before ` +
          `running, e.g. \`export ${name}='${engine.scheme}://user:password@host:${engine.port}/dbname'\`.`,
      );
    }
  } else if (source.url_file !== undefined) {
    const path = ctx.dir !== undefined && !isAbsolutePath(source.url_file)
      ? joinPath(ctx.dir, source.url_file)
      : source.url_file;
    const content = ctx.readTextFile(path);
    origin = `source.url_file '${path}'`;
    if (content === undefined) {
      throw new ConfigError(
        `source.url_file '${path}' was not found. Create it with the connection URL on one ` +
          "line, or fix the path.",
      );
    }
    url = content.trim();
  } else {
    return structured(source, ctx, warnings);
  }

  if (url.trim() === "") {
    throw new ConfigError(`${origin} is empty; it must hold a ${engine.scheme}:// URL.`);
  }
  const secrets = urlSecrets(url);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || !(engine.accepted as readonly string[]).includes(scheme)) {
    throw new ConfigError(
      redact(
        `${origin} does not start with ${engine.scheme}:// (source.type is ${source.type}; ` +
          `got ${
            scheme === undefined ? "no scheme" : `${scheme}://`
          }). Fix the URL or source.type.`,
        secrets,
      ),
    );
  }
  if (source.url !== undefined && secrets.length > 0) {
    warnings.push({ level: "warning", message: INLINE_URL_PASSWORD_WARNING });
  }
  return Object.freeze({ url, secrets: Object.freeze(secrets), warnings: Object.freeze(warnings) });
}

function structured(
  source: SourceConfig,
  ctx: CredentialContext,
  warnings: Diagnostic[],
): ResolvedSourceUrl {
  const engine = SCHEMES[source.type];
  const missing = (["host", "user", "database"] as const).filter((k) => source[k] === undefined);
  if (missing.length > 0 || source.host === undefined || source.user === undefined) {
    throw new ConfigError(
      `source has no connection method: missing ${missing.join(", ")}. Set \`url_env:\` ` +
        "(recommended), `url_file:`, `url:`, or the structured fields host, user and database.",
    );
  }
  let password: string | undefined;
  if (source.password_env !== undefined) {
    password = ctx.env[source.password_env];
    if (password === undefined) {
      throw new ConfigError(
        `environment variable '${source.password_env}' named by source.password_env is not set. ` +
          `Set it before running, e.g. \`export ${source.password_env}='...'\`.`,
      );
    }
  } else if (source.password !== undefined) {
    password = source.password;
    warnings.push({ level: "warning", message: PLAINTEXT_PASSWORD_WARNING });
  }
  const host = source.host.includes(":") && !source.host.startsWith("[")
    ? `[${source.host}]`
    : source.host;
  const userinfo = encodeURIComponent(source.user) +
    (password === undefined ? "" : `:${encodeURIComponent(password)}`);
  const url = `${engine.scheme}://${userinfo}@${host}:${source.port ?? engine.port}/` +
    encodeURIComponent(source.database ?? "");
  const secrets = password === undefined || password === ""
    ? []
    : [...new Set([password, encodeURIComponent(password)])];
  return Object.freeze({ url, secrets: Object.freeze(secrets), warnings: Object.freeze(warnings) });
}

/** The password of a URL's userinfo, raw and decoded; empty when there is none. */
function urlSecrets(url: string): string[] {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? "";
  const at = authority.lastIndexOf("@");
  if (at < 0) return [];
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(":");
  if (colon < 0) return [];
  const raw = userinfo.slice(colon + 1);
  if (raw === "") return [];
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // keep the raw form only
  }
  return [...new Set([raw, decoded])];
}
