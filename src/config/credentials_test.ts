// Tests of source URL resolution for every connection form, with secrets kept out of messages (planning layer, pure).
import { assertEquals } from "./test_assert.ts";
import {
  INLINE_URL_PASSWORD_WARNING,
  PLAINTEXT_PASSWORD_WARNING,
  resolveSourceUrl,
} from "./credentials.ts";
import type { SourceConfig } from "./config_types.ts";
import { configErrorOf } from "./testing.ts";

const noFiles = (_: string): string | undefined => undefined;

const forms: readonly {
  name: string;
  source: SourceConfig;
  env?: Record<string, string>;
  files?: Record<string, string>;
  url: string;
  secrets: readonly string[];
  warnings: readonly string[];
}[] = [
  {
    name: "an inline url without password",
    source: { type: "postgres", url: "postgresql://app@db:5432/app" },
    url: "postgresql://app@db:5432/app",
    secrets: [],
    warnings: [],
  },
  {
    name: "an inline url with a password (warning)",
    source: { type: "postgres", url: "postgres://app:p%40ss@db/app" },
    url: "postgres://app:p%40ss@db/app",
    secrets: ["p%40ss", "p@ss"],
    warnings: [INLINE_URL_PASSWORD_WARNING],
  },
  {
    name: "url_env",
    source: { type: "mysql", url_env: "DB" },
    env: { DB: "mysql://u:topsecret@h:3306/shop" },
    url: "mysql://u:topsecret@h:3306/shop",
    secrets: ["topsecret"],
    warnings: [],
  },
  {
    name: "url_file (trimmed, relative to dir)",
    source: { type: "postgres", url_file: "secrets/pg_url" },
    files: { "/cfg/secrets/pg_url": "  postgresql://a:b1c2@h/d\n" },
    url: "postgresql://a:b1c2@h/d",
    secrets: ["b1c2"],
    warnings: [],
  },
  {
    name: "structured PostgreSQL with password_env and default port",
    source: {
      type: "postgres",
      host: "db",
      user: "app user",
      password_env: "PW",
      database: "my/db",
    },
    env: { PW: "p@ss:w/rd" },
    url: "postgresql://app%20user:p%40ss%3Aw%2Frd@db:5432/my%2Fdb",
    secrets: ["p@ss:w/rd", "p%40ss%3Aw%2Frd"],
    warnings: [],
  },
  {
    name: "structured MySQL with plaintext password (warning) and default port",
    source: { type: "mysql", host: "m", user: "u", password: "hunter2", database: "shop" },
    url: "mysql://u:hunter2@m:3306/shop",
    secrets: ["hunter2"],
    warnings: [PLAINTEXT_PASSWORD_WARNING],
  },
  {
    name: "structured without password, explicit port, IPv6 host",
    source: { type: "postgres", host: "::1", port: 6543, user: "u", database: "d" },
    url: "postgresql://u@[::1]:6543/d",
    secrets: [],
    warnings: [],
  },
];
for (const f of forms) {
  Deno.test(`resolveSourceUrl builds the URL from ${f.name}`, () => {
    const files = f.files ?? {};
    const r = resolveSourceUrl(f.source, {
      env: f.env ?? {},
      readTextFile: (p) => files[p],
      dir: "/cfg",
    });
    assertEquals(
      { url: r.url, secrets: r.secrets, warnings: r.warnings.map((w) => w.message) },
      { url: f.url, secrets: f.secrets, warnings: f.warnings },
    );
  });
}

const failures: readonly {
  name: string;
  source: SourceConfig;
  env?: Record<string, string>;
  message: string;
}[] = [
  {
    name: "a missing url_env variable, suggesting export",
    source: { type: "postgres", url_env: "APP_DB_URL" },
    message: "environment variable 'APP_DB_URL' named by source.url_env is not set. Set it " +
      "before running, e.g. `export APP_DB_URL='postgresql://user:password@host:5432/dbname'`.",
  },
  {
    name: "a missing password_env variable, suggesting export",
    source: { type: "mysql", host: "h", user: "u", database: "d", password_env: "MYSQL_PWD" },
    message: "environment variable 'MYSQL_PWD' named by source.password_env is not set. Set it " +
      "before running, e.g. `export MYSQL_PWD='...'`.",
  },
  {
    name: "a missing url_file",
    source: { type: "postgres", url_file: "/run/secrets/pg_url" },
    message: "source.url_file '/run/secrets/pg_url' was not found. Create it with the " +
      "connection URL on one line, or fix the path.",
  },
  {
    name: "an empty url_env value",
    source: { type: "postgres", url_env: "E" },
    env: { E: " " },
    message:
      "environment variable 'E' (source.url_env) is empty; it must hold a postgresql:// URL.",
  },
  {
    name: "a URL whose scheme does not match source.type, without echoing the password",
    source: { type: "postgres", url_env: "E" },
    env: { E: "mysql://root:SuperSecret1@h/db" },
    message: "environment variable 'E' (source.url_env) does not start with postgresql:// " +
      "(source.type is postgres; got mysql://). Fix the URL or source.type.",
  },
];
for (const f of failures) {
  Deno.test(`resolveSourceUrl rejects ${f.name}`, () => {
    const err = configErrorOf(() =>
      resolveSourceUrl(f.source, { env: f.env ?? {}, readTextFile: noFiles })
    );
    assertEquals(err.message, f.message);
  });
}

Deno.test("resolveSourceUrl returns frozen results", () => {
  const r = resolveSourceUrl({ type: "postgres", url: "postgresql://h/d" }, {
    env: {},
    readTextFile: noFiles,
  });
  assertEquals([Object.isFrozen(r), Object.isFrozen(r.secrets)], [true, true]);
});
