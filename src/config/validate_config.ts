// Semantic validation rules of a typed config, spec 3.9 rules 1-18 (planning layer, pure).
import type {
  Config,
  Diagnostic,
  ExportConfig,
  SourceConfig,
  TuningConfig,
} from "./config_types.ts";
import { parseByteSize } from "./column_types.ts";
import { isAbsolutePath, joinPath } from "./paths.ts";

/** What validation needs besides the config: key locations and one injected file check. */
export interface ValidationContext {
  /** Path (`exports[0].mode`) -> "line L, column C", as recorded by the typed reader. */
  readonly locations: ReadonlyMap<string, string>;
  /** Directory of the config file; relative paths resolve against it. */
  readonly dir: string;
  fileExists(path: string): boolean;
}

export interface ValidationResult {
  /** One paragraph per broken rule; empty when the config is valid. */
  readonly problems: readonly string[];
  readonly warnings: readonly Diagnostic[];
}

/** Checks every rule of spec 3.9 and returns all problems found (it never throws). */
export function validateConfig(config: Config, ctx: ValidationContext): ValidationResult {
  const v = new Validator(ctx);
  v.source(config.source);
  if (config.exports.length === 0) {
    v.problem(
      `exports: at least one export must be defined${v.at("exports")}. Add an item under ` +
        "`exports:` with a name, one of query/query_file/table, a format and a destination.",
    );
  }
  const firstByName = new Map<string, number>();
  config.exports.forEach((e, i) => {
    const first = firstByName.get(e.name);
    if (first !== undefined) {
      v.problem(
        `duplicate export name '${e.name}' at exports[${i}].name${v.at(`exports[${i}].name`)}; ` +
          `exports[${first}] already uses it${v.at(`exports[${first}].name`)}. ` +
          "Export names must be unique because state is keyed by them: rename one.",
      );
    } else {
      firstByName.set(e.name, i);
    }
    v.exportItem(e, i, config.source);
  });
  return { problems: v.problems, warnings: v.warnings };
}

class Validator {
  readonly problems: string[] = [];
  readonly warnings: Diagnostic[] = [];

  constructor(private readonly ctx: ValidationContext) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  /** " (line L, column C)" of a path or of its nearest recorded parent; "" when unknown. */
  at(path: string): string {
    let p = path;
    for (;;) {
      const loc = this.ctx.locations.get(p);
      if (loc !== undefined) return ` (${loc})`;
      const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      if (cut <= 0) return "";
      p = p.slice(0, cut);
    }
  }

  source(s: SourceConfig): void {
    this.tuningPair(s.tuning, "source.tuning", "source.tuning");

    const urlKeys = (["url", "url_env", "url_file"] as const).filter((k) => s[k] !== undefined);
    const structuredKeys = (["host", "user", "database", "password", "password_env"] as const)
      .filter((k) => s[k] !== undefined);

    if (urlKeys.length === 0 && structuredKeys.length === 0) {
      this.problem(
        `source: no connection method is configured${this.at("source")}. Set one of: ` +
          "`url_env: DATABASE_URL` (recommended: the URL stays out of the file), " +
          "`url_file: <path of a file holding the URL>`, `url: <connection URL>`, or the " +
          "structured fields `host`, `user`, `database` (with `password_env` for the password).",
      );
      return;
    }
    if (urlKeys.length > 1) {
      this.problem(
        `source: specify exactly one of 'url', 'url_env', or 'url_file' (got ${urlKeys.length} ` +
          `set: ${urlKeys.join(", ")})${this.at(`source.${urlKeys[1]}`)}. Keep one and remove ` +
          "the others.",
      );
    }
    if (urlKeys.length > 0 && structuredKeys.length > 0) {
      this.problem(
        "source: pick either URL-based connection fields (url, url_env, url_file) OR structured " +
          "fields (host, port, user, password, password_env, database), not both; found " +
          `${[...urlKeys, ...structuredKeys].join(", ")}${
            this.at(`source.${structuredKeys[0]}`)
          }. ` +
          "Put everything into the URL, or drop the URL and use the structured fields.",
      );
    }
    if (urlKeys.length === 0) {
      const hints = {
        host: "the database server's name or IP address",
        user: "the login role Rivet connects as",
        database: "the database to read from",
      } as const;
      for (const k of ["host", "user", "database"] as const) {
        if (s[k] === undefined) {
          this.problem(
            `source: the structured connection is missing '${k}'${this.at("source")}. ` +
              `Add \`${k}:\` with ${hints[k]}, or use \`url_env\` instead of structured fields.`,
          );
        }
      }
    } else if (s.port !== undefined && structuredKeys.length === 0) {
      this.warnings.push({
        level: "warning",
        message: "source.port is ignored when the connection comes from url, url_env or " +
          "url_file; put the port into the URL instead.",
      });
    }
    if (s.password !== undefined && s.password_env !== undefined) {
      this.problem(
        `source: set either 'password' or 'password_env', not both${
          this.at("source.password_env")
        }. Prefer password_env so the secret stays out of the file.`,
      );
    }
  }

  exportItem(e: ExportConfig, i: number, source: SourceConfig): void {
    const p = `exports[${i}]`;
    const who = `export '${e.name}' (${p})`;

    // Rule 3: batch_size and batch_size_memory_mb in the export block and in the merged result.
    const ownBoth = this.tuningPair(e.tuning, `${p}.tuning`, `${who}: ${p}.tuning`);
    if (!ownBoth) {
      const merged: TuningConfig = { ...source.tuning, ...e.tuning };
      const sourceBoth = source.tuning?.batch_size !== undefined &&
        source.tuning.batch_size_memory_mb !== undefined;
      if (
        !sourceBoth && merged.batch_size !== undefined &&
        merged.batch_size_memory_mb !== undefined
      ) {
        const fromExport = e.tuning?.batch_size !== undefined
          ? "batch_size"
          : "batch_size_memory_mb";
        const fromSource = fromExport === "batch_size" ? "batch_size_memory_mb" : "batch_size";
        this.problem(
          `${who}: ${p}.tuning.${fromExport}${
            this.at(`${p}.tuning.${fromExport}`)
          } together with ` +
            `source.tuning.${fromSource}${
              this.at(`source.tuning.${fromSource}`)
            } gives the export ` +
            "both batch_size and batch_size_memory_mb, which are mutually exclusive. Remove " +
            `source.tuning.${fromSource} or ${p}.tuning.${fromExport}.`,
        );
      }
    }

    // Rule 9: exactly one query source; query_file must stay inside the config directory.
    const querySources = (["query", "query_file", "table"] as const).filter((k) =>
      e[k] !== undefined
    );
    if (querySources.length !== 1) {
      this.problem(
        `${who}: exactly one of 'query', 'query_file', or 'table' must be set (got ${
          querySources.length === 0 ? "none" : querySources.join(", ")
        })${this.at(querySources.length === 0 ? p : `${p}.${querySources[1]}`)}. ` +
          "Use `query:` for SQL, `query_file:` for a .sql file next to the config, or " +
          "`table:` for a whole table.",
      );
    }
    if (e.query_file !== undefined) {
      if (isAbsolutePath(e.query_file)) {
        this.problem(
          `${who}: query_file '${e.query_file}' is an absolute path${
            this.at(`${p}.query_file`)
          }. Give a path relative to the config file's directory.`,
        );
      } else if (e.query_file.split(/[\\/]/).includes("..")) {
        this.problem(
          `${who}: query_file '${e.query_file}' contains a '..' segment${
            this.at(`${p}.query_file`)
          }. Query files must live inside the config file's directory; move the file there.`,
        );
      }
    }

    this.destination(e, p, who);

    // Rule 13.
    if (e.max_file_size !== undefined) {
      let bytes: number | undefined;
      try {
        bytes = parseByteSize(e.max_file_size);
      } catch {
        bytes = undefined;
      }
      if (bytes === undefined || bytes <= 0) {
        this.problem(
          `${who}: max_file_size '${e.max_file_size}' is not a usable size${
            this.at(`${p}.max_file_size`)
          }. Use a number greater than zero with an optional unit B, KB, MB or GB ` +
            '(1024-based), e.g. "512MB" or "1.5 GB".',
        );
      }
    }

    // Rule 14.
    if (e.compression_level !== undefined) {
      const codec = e.compression ?? "zstd";
      const where = this.at(`${p}.compression_level`);
      if (e.compression_profile !== undefined) {
        this.warnings.push({
          level: "warning",
          message: `${who}: compression_level is ignored because compression_profile ` +
            `'${e.compression_profile}' sets both codec and level${where}.`,
        });
      } else if (codec === "zstd" || codec === "gzip") {
        const [lo, hi] = codec === "zstd" ? [1, 22] : [0, 10];
        if (e.compression_level < lo || e.compression_level > hi) {
          this.problem(
            `${who}: compression_level ${e.compression_level} is out of range for ${codec}` +
              `${where}. Use ${lo}..${hi}, or remove it for the default (${
                codec === "zstd" ? 1 : 6
              }).`,
          );
        }
      } else {
        this.problem(
          `${who}: compression_level is only supported for zstd and gzip, but compression is ` +
            `${codec}${where}. Remove compression_level, or switch compression to zstd or gzip.`,
        );
      }
    }

    const mode = e.mode ?? "full";

    // Rule 15.
    if (mode === "incremental" && e.cursor_column === undefined) {
      this.problem(
        `${who}: mode incremental needs cursor_column${this.at(`${p}.mode`)}. Add ` +
          "`cursor_column:` naming a column that only grows (e.g. updated_at or id).",
      );
    }
    const cursorMode = e.incremental_cursor_mode ?? "single_column";
    if (cursorMode === "coalesce" && e.cursor_fallback_column === undefined) {
      this.problem(
        `${who}: incremental_cursor_mode coalesce needs cursor_fallback_column${
          this.at(`${p}.incremental_cursor_mode`)
        }. Add \`cursor_fallback_column:\` (used where cursor_column is NULL).`,
      );
    }
    if (cursorMode === "single_column" && e.cursor_fallback_column !== undefined) {
      this.problem(
        `${who}: cursor_fallback_column is only used with incremental_cursor_mode: coalesce${
          this.at(`${p}.cursor_fallback_column`)
        }. Add \`incremental_cursor_mode: coalesce\`, or remove cursor_fallback_column.`,
      );
    }

    // Rule 16.
    if (mode === "chunked" && e.chunk_column === undefined && e.table === undefined) {
      this.problem(
        `${who}: mode chunked needs chunk_column, or \`table:\` so the key can be found from the ` +
          `primary key${this.at(`${p}.mode`)}. Add \`chunk_column:\` naming an integer column.`,
      );
    }
    for (const k of ["chunk_size", "parallel", "chunk_count", "chunk_by_days"] as const) {
      if (e[k] === 0) {
        this.problem(
          `${who}: ${k} must be at least 1, got 0${this.at(`${p}.${k}`)}. ` +
            (k === "parallel"
              ? "Use 1 for sequential chunks."
              : `Set a positive value or remove ${k}.`),
        );
      }
    }
    if (e.chunk_count !== undefined && e.chunk_dense === true) {
      this.problem(
        `${who}: chunk_count cannot be combined with chunk_dense${this.at(`${p}.chunk_count`)}. ` +
          "Keep one way of splitting.",
      );
    }
    if (e.chunk_count !== undefined && e.chunk_by_days !== undefined) {
      this.problem(
        `${who}: chunk_count cannot be combined with chunk_by_days${
          this.at(`${p}.chunk_count`)
        }. ` +
          "Keep one way of splitting.",
      );
    }

    // Rule 17.
    if (mode === "time_window") {
      for (const k of ["time_column", "days_window"] as const) {
        if (e[k] === undefined) {
          this.problem(
            `${who}: mode time_window needs ${k}${this.at(`${p}.mode`)}. Add \`${k}:\` ` +
              (k === "time_column"
                ? "naming the timestamp (or epoch seconds) column to filter on."
                : "with the number of days to export."),
          );
        }
      }
    }

    // Rule 18.
    if (mode !== "chunked") {
      for (const k of ["chunk_dense", "chunk_by_days"] as const) {
        if (e[k] !== undefined && e[k] !== false) {
          this.problem(
            `${who}: ${k} is only valid with mode chunked, but mode is ${mode}${
              this.at(`${p}.${k}`)
            }. Set \`mode: chunked\` or remove ${k}.`,
          );
        }
      }
    }
    if (e.chunk_by_days !== undefined && e.chunk_dense === true) {
      this.problem(
        `${who}: chunk_by_days cannot be combined with chunk_dense${
          this.at(`${p}.chunk_by_days`)
        }. Keep one way of splitting.`,
      );
    }
  }

  private destination(e: ExportConfig, p: string, who: string): void {
    const d = e.destination;
    const dp = `${p}.destination`;
    if ((d.type === "s3" || d.type === "gcs" || d.type === "azure") && d.bucket === undefined) {
      this.problem(
        `${who}: a ${d.type} destination needs bucket${this.at(dp)}. Add \`bucket:\`` +
          `${d.type === "azure" ? " (the container name)" : ""}.`,
      );
    }
    // Rule 10.
    if (d.type === "s3" && (d.access_key_env === undefined) !== (d.secret_key_env === undefined)) {
      const set = d.access_key_env !== undefined ? "access_key_env" : "secret_key_env";
      this.problem(
        `${who}: destination.access_key_env and destination.secret_key_env must be set together ` +
          `(only ${set} is set)${this.at(`${dp}.${set}`)}. Set both, or remove ${set} to use ` +
          "the default AWS credential chain.",
      );
    }
    // Rule 11.
    if (d.type === "gcs" && d.allow_anonymous === true && d.credentials_file !== undefined) {
      this.problem(
        `${who}: destination.allow_anonymous cannot be combined with destination.credentials_file` +
          `${this.at(`${dp}.allow_anonymous`)}. Remove one of them.`,
      );
    }
    if (d.credentials_file !== undefined) {
      const path = isAbsolutePath(d.credentials_file)
        ? d.credentials_file
        : joinPath(this.ctx.dir, d.credentials_file);
      if (!this.ctx.fileExists(path)) {
        this.problem(
          `${who}: destination.credentials_file '${d.credentials_file}' does not exist (looked at ` +
            `${path})${this.at(`${dp}.credentials_file`)}. Point it at the service-account JSON ` +
            "file, or remove it to use application default credentials.",
        );
      }
    }
    // Rule 12.
    if (d.type === "azure") {
      const creds = (["account_key_env", "sas_token_env"] as const).filter((k) =>
        d[k] !== undefined
      );
      if (d.allow_anonymous === true) {
        if (creds.length > 0) {
          this.problem(
            `${who}: destination.allow_anonymous cannot be combined with ${creds.join(" or ")}` +
              `${this.at(`${dp}.allow_anonymous`)}. Remove allow_anonymous or the credentials.`,
          );
        }
      } else {
        if (creds.length === 2) {
          this.problem(
            `${who}: destination.account_key_env and destination.sas_token_env cannot both be ` +
              `set${this.at(`${dp}.sas_token_env`)}. Keep exactly one of them.`,
          );
        }
        if (d.account_name === undefined) {
          this.problem(
            `${who}: an azure destination needs account_name${this.at(dp)}. Add ` +
              "`account_name:` with the storage account, or set `allow_anonymous: true`.",
          );
        }
        if (creds.length === 0) {
          this.problem(
            `${who}: an azure destination needs account_key_env or sas_token_env${this.at(dp)}. ` +
              "Name the environment variable holding the account key or SAS token, or set " +
              "`allow_anonymous: true`.",
          );
        }
      }
    }
  }

  /** Rule 3 for one tuning block; true when it broke the rule. */
  private tuningPair(t: TuningConfig | undefined, path: string, who: string): boolean {
    if (t?.batch_size === undefined || t.batch_size_memory_mb === undefined) return false;
    this.problem(
      `${who} sets both batch_size and batch_size_memory_mb${this.at(`${path}.batch_size`)}; ` +
        "they are mutually exclusive. Keep batch_size for a fixed row count, or " +
        "batch_size_memory_mb to derive it from the row width.",
    );
    return true;
  }
}
