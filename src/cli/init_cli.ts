// `rivet init`: scaffolds a commented rivet.yaml (or a --discover JSON artifact) from a live database's catalog (coordinator).
import type { Command } from "commander";

export interface InitOptions {
  readonly source?: string;
  /** `--url`, an alias of `--source`. */
  readonly url?: string;
  readonly sourceEnv?: string;
  readonly sourceFile?: string;
  readonly table?: string;
  readonly schema?: string;
  readonly output?: string;
  readonly discover: boolean;
  /** For tests: the timestamp in the generated header. */
  readonly now?: Date;
}

/** The connection URL from exactly one of --source / --source-env / --source-file. */
export async function initSourceUrl(o: InitOptions): Promise<string> {
  const { ConfigError, UsageError } = await import("../errors.ts");
  const source = o.source ?? o.url;
  const given = [source, o.sourceEnv, o.sourceFile].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      "give exactly one of --source <url>, --source-env <VAR> or --source-file <path>",
      { hint: "e.g. rivet init --source-env DATABASE_URL" },
    );
  }
  let url: string;
  if (o.sourceEnv !== undefined) {
    const v = Deno.env.get(o.sourceEnv);
    if (v === undefined || v === "") {
      throw new ConfigError(`--source-env '${o.sourceEnv}' is not set in the environment`, {
        hint: `export ${o.sourceEnv}='postgres://user:password@host:5432/dbname' first`,
      });
    }
    url = v;
  } else if (o.sourceFile !== undefined) {
    try {
      url = (await Deno.readTextFile(o.sourceFile)).trim();
    } catch (err) {
      throw new ConfigError(`cannot read --source-file '${o.sourceFile}'`, { cause: err });
    }
  } else {
    url = source!;
  }
  if (!/^(postgres|postgresql|mysql):\/\//i.test(url)) {
    throw new ConfigError(
      "the source URL must start with postgres://, postgresql:// or mysql://",
      { hint: "e.g. postgres://user:password@host:5432/dbname" },
    );
  }
  return url;
}

/** Introspects the database and writes the YAML (or JSON) to `-o` or stdout. */
export async function initCommand(o: InitOptions): Promise<number> {
  const url = await initSourceUrl(o);
  const { openSource } = await import("../pipeline/factories.ts");
  const { discoverTables } = await import("../preflight/init_discover.ts");
  const { discoveryArtifact, renderInitYaml, suggestFor } = await import(
    "../preflight/init_plan.ts"
  );
  const { ConfigError } = await import("../errors.ts");
  const { printHuman, printStdout } = await import("../observe/terminal.ts");
  const dialect = /^mysql:/i.test(url) ? "mysql" : "postgres";
  const source = await openSource({ type: dialect, url });
  let tables: import("../preflight/init_discover.ts").TableInfo[];
  let where: string;
  try {
    tables = await discoverTables(source, dialect, {
      schema: o.schema ?? null,
      table: o.table ?? null,
    });
    const db = await source.scalar(
      dialect === "postgres" ? "SELECT current_database()" : "SELECT DATABASE()",
    );
    where = dialect === "postgres"
      ? `PostgreSQL database "${db}", schema "${tables[0]?.schema ?? o.schema ?? "public"}"`
      : `MySQL database "${tables[0]?.schema ?? db}"`;
  } finally {
    await source.close();
  }
  if (tables.length === 0) {
    throw new ConfigError(
      o.table !== undefined
        ? `table '${o.table}' was not found`
        : `no tables or views found in ${
          dialect === "postgres" ? `schema '${o.schema ?? "public"}'` : "the database"
        }`,
      { hint: "check --schema / --table and that the user can see the catalog" },
    );
  }
  const suggestions = tables.map((t) => suggestFor(t, dialect));
  const opts = { dialect, where, generatedAt: o.now ?? new Date() } as const;
  const text = o.discover
    ? JSON.stringify(discoveryArtifact(suggestions, opts), null, 2) + "\n"
    : renderInitYaml(suggestions, opts);
  if (o.output === undefined) {
    await printStdout(text);
    return 0;
  }
  await Deno.writeTextFile(o.output, text);
  const counts = new Map<string, number>();
  for (const s of suggestions) counts.set(s.mode, (counts.get(s.mode) ?? 0) + 1);
  const lines = [
    `Wrote ${o.output}: ${suggestions.length} export(s) (${
      [...counts].map(([m, n]) => `${n} ${m}`).join(", ")
    }).`,
  ];
  if (!o.discover && suggestions.some((s) => s.decimals.some((d) => d.review))) {
    lines.push(
      "Note: some NUMERIC/DECIMAL columns have no declared precision; they were given " +
        "decimal(38,18) and marked `# REVIEW:` in the file.",
    );
  }
  if (!o.discover) {
    lines.push(`Next: export DATABASE_URL=... && rivet doctor -c ${o.output}`);
  }
  printHuman(lines);
  return 0;
}

export function registerInit(program: Command, setExit: (p: Promise<number>) => void): void {
  program
    .command("init")
    .description("Scaffold a rivet.yaml from a live database (read-only introspection)")
    .option(
      "--source, --url <url>",
      "connection URL (prefer --source-env: a URL on the command line is visible to other users)",
    )
    .option("--source-env <VAR>", "environment variable holding the connection URL")
    .option("--source-file <path>", "file holding the connection URL")
    .option("--table <name>", "only this table (name or schema.name)")
    .option("--schema <name>", "PostgreSQL schema (default public) or MySQL database")
    .option("-o, --output <path>", "write to this file instead of stdout")
    .option("--discover", "write a JSON discovery artifact instead of YAML", false)
    .action((opts: Record<string, unknown>) => {
      setExit(initCommand({
        ...(opts.source === undefined ? {} : { source: opts.source as string }),
        ...(opts.url === undefined ? {} : { url: opts.url as string }),
        ...(opts.sourceEnv === undefined ? {} : { sourceEnv: opts.sourceEnv as string }),
        ...(opts.sourceFile === undefined ? {} : { sourceFile: opts.sourceFile as string }),
        ...(opts.table === undefined ? {} : { table: opts.table as string }),
        ...(opts.schema === undefined ? {} : { schema: opts.schema as string }),
        ...(opts.output === undefined ? {} : { output: opts.output as string }),
        discover: opts.discover === true,
      }));
    });
}
