// `rivet state show|reset|files|chunks|reset-chunks|progression`: inspect and reset the state store (coordinator).
import { type Command, InvalidArgumentError } from "commander";
import type {
  ChunkLeaseRow,
  ChunkRunRow,
  ChunkTaskRow,
  CursorRow,
  FileRow,
  ProgressionRow,
  StateStore,
} from "../state/state_store.ts";

/** Parses `-l/--last N`: a positive integer. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError("must be a positive integer");
  }
  return n;
}

/** Options shared by every state-reading command. */
export function addStateOptions(c: Command): Command {
  return c
    .requiredOption("-c, --config <path>", "path to rivet.yaml")
    .option(
      "--state <path>",
      "state database file (default: .rivet_state.db next to the config, or $RIVET_STATE_PATH)",
    )
    .option("--json", "print JSON on stdout instead of a table", false);
}

/** Opens the state store of the config given by `-c` (the config file must exist). */
export async function openStoreFor(o: Record<string, unknown>): Promise<StateStore> {
  const configPath = o.config as string;
  try {
    await Deno.stat(configPath);
  } catch {
    const { ConfigError } = await import("../errors.ts");
    throw new ConfigError(`config file '${configPath}' not found`, {
      hint: "check the path, or create one with `rivet init`",
    });
  }
  const { openStateStore } = await import("../state/open_state_store.ts");
  return await openStateStore({
    configPath,
    stateFlag: o.state === undefined ? undefined : String(o.state),
  });
}

/** Opens the store, runs `fn`, always closes it. */
export async function withStore(
  o: Record<string, unknown>,
  fn: (s: StateStore) => Promise<number>,
): Promise<number> {
  const store = await openStoreFor(o);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function out(lines: readonly string[]): Promise<void> {
  const { printStdout } = await import("../observe/terminal.ts");
  await printStdout(lines.join("\n"));
}

async function outJson(value: unknown): Promise<void> {
  const { printStdout } = await import("../observe/terminal.ts");
  await printStdout(JSON.stringify(value, null, 2));
}

async function human(lines: readonly string[]): Promise<void> {
  const { printHuman } = await import("../observe/terminal.ts");
  printHuman(lines);
}

/** Names of the exports declared in the config, in YAML order. */
async function configExportNames(o: Record<string, unknown>): Promise<string[]> {
  const { loadConfigFile } = await import("../pipeline/config_io.ts");
  const { parseParams } = await import("./run_cli.ts");
  const loaded = await loadConfigFile(o.config as string, parseParams((o.param ?? []) as string[]));
  return loaded.config.exports.map((e) => e.name);
}

const collect = (value: string, previous: string[]) => [...previous, value];

// ── renderers (pure) ────────────────────────────────────────────────────────────────────────

export function renderCursors(rows: readonly CursorRow[]): string[] {
  if (rows.length === 0) {
    return [
      "No cursors recorded yet.",
      "Only incremental exports store a cursor (full, chunked and time_window exports do not);",
      "an incremental export gets one after its first run that writes rows.",
    ];
  }
  const w = Math.max(20, ...rows.map((r) => r.export_name.length));
  const c = Math.max(30, ...rows.map((r) => (r.last_cursor_value ?? "-").length));
  const lines = [`${"EXPORT".padEnd(w)}  ${"LAST CURSOR".padEnd(c)}  LAST RUN`];
  lines.push("-".repeat(w + c + 4 + 25));
  for (const r of rows) {
    lines.push(
      `${r.export_name.padEnd(w)}  ${(r.last_cursor_value ?? "-").padEnd(c)}  ${
        r.last_run_at ?? "-"
      }`,
    );
  }
  return lines;
}

export function renderFiles(rows: readonly FileRow[]): string[] {
  if (rows.length === 0) return ["No files recorded yet."];
  const rw = Math.max(6, ...rows.map((r) => r.run_id.length));
  const fw = Math.max(4, ...rows.map((r) => r.file_name.length));
  const lines = [
    `${"RUN ID".padEnd(rw)}  ${"FILE".padEnd(fw)}  ${"ROWS".padStart(10)}  ${
      "BYTES".padStart(10)
    }  CREATED`,
  ];
  lines.push("-".repeat(rw + fw + 24 + 2 + 24));
  for (const r of rows) {
    lines.push(
      `${r.run_id.padEnd(rw)}  ${r.file_name.padEnd(fw)}  ${String(r.row_count).padStart(10)}  ${
        String(r.bytes).padStart(10)
      }  ${r.created_at}`,
    );
  }
  return lines;
}

/**
 * The chunk run and its tasks. When workers shared the run (leased claims), a WORKER column
 * names the worker holding (or last holding) each task, and a line per worker sums its tasks.
 */
export function renderChunks(
  location: string,
  run: ChunkRunRow,
  tasks: readonly ChunkTaskRow[],
  leases: readonly ChunkLeaseRow[] = [],
): string[] {
  const lines = [
    `database:  ${location}`,
    `export:    ${run.export_name}`,
    `run_id:    ${run.run_id}`,
    `plan_hash: ${run.plan_hash}`,
    `status:    ${run.status}`,
    `updated:   ${run.updated_at}`,
    "",
  ];
  const byIndex = new Map(leases.map((l) => [l.chunk_index, l]));
  const ww = leases.length === 0 ? 0 : Math.max(6, ...leases.map((l) => l.worker_id.length));
  const workerCell = (t: ChunkTaskRow | null) =>
    ww === 0 ? "" : `${
      (t === null ? "WORKER" : byIndex.get(t.chunk_index)?.worker_id ?? "-")
        .padEnd(ww)
    }  `;
  const sw = Math.max(5, ...tasks.map((t) => t.start_key.length));
  const ew = Math.max(3, ...tasks.map((t) => t.end_key.length));
  lines.push(
    `${"IDX".padStart(5)}  ${"STATUS".padEnd(10)} ${"START".padStart(sw)} ${"END".padStart(ew)} ${
      "ATT".padStart(3)
    } ${"ROWS".padStart(10)}  ${workerCell(null)}FILE`,
  );
  for (const t of tasks) {
    lines.push(
      `${String(t.chunk_index).padStart(5)}  ${t.status.padEnd(10)} ${t.start_key.padStart(sw)} ${
        t.end_key.padStart(ew)
      } ${String(t.attempts).padStart(3)} ${
        (t.rows_written === null ? "-" : String(t.rows_written)).padStart(10)
      }  ${workerCell(t)}${t.file_name ?? "-"}`,
    );
    if (t.last_error !== null) lines.push(`       error: ${firstLine(t.last_error)}`);
  }
  const done = tasks.filter((t) => t.status === "completed").length;
  lines.push("", `${done}/${tasks.length} chunks completed`);
  if (leases.length > 0) {
    const per = new Map<string, Map<string, number>>();
    for (const t of tasks) {
      const w = byIndex.get(t.chunk_index)?.worker_id;
      if (w === undefined) continue;
      const counts = per.get(w) ?? new Map<string, number>();
      counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
      per.set(w, counts);
    }
    lines.push("", `${per.size} worker(s):`);
    for (const [w, counts] of [...per].sort(([a], [b]) => a.localeCompare(b))) {
      const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([st, n]) =>
        `${n} ${st}`
      );
      const live = leases.filter((l) => l.worker_id === w && counts.has("running"))
        .map((l) => l.lease_until).sort().at(-1);
      lines.push(`  ${w}  ${parts.join(", ")}${live ? `  (lease until ${live})` : ""}`);
    }
  }
  return lines;
}

export function renderProgression(rows: readonly ProgressionRow[]): string[] {
  if (rows.length === 0) return ["No progression recorded yet."];
  const value = (cursor: string | null, index: number | null) =>
    cursor !== null ? cursor : index !== null ? `chunk #${index}` : "-";
  const table = rows.map((r) => [
    r.export_name,
    r.last_committed_strategy ?? "-",
    value(r.last_committed_cursor, r.last_committed_chunk_index),
    r.last_committed_at ?? "-",
    r.last_verified_strategy ?? "-",
    value(r.last_verified_cursor, r.last_verified_chunk_index),
  ]);
  const head = ["EXPORT", "COMM MODE", "COMMITTED", "COMMITTED AT", "VERI MODE", "VERIFIED"];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const fmt = (cells: readonly string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i]!)).join("  ");
  return [fmt(head), "-".repeat(widths.reduce((a, b) => a + b + 2, 0)), ...table.map(fmt)];
}

export function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").trim();
}

// ── command actions ─────────────────────────────────────────────────────────────────────────

async function showCommand(o: Record<string, unknown>): Promise<number> {
  return await withStore(o, async (s) => {
    const rows = await s.listCursors();
    if (o.json === true) await outJson(rows);
    else await out(renderCursors(rows));
    return 0;
  });
}

async function resetCommand(o: Record<string, unknown>): Promise<number> {
  const name = o.export as string;
  const known = await configExportNames(o);
  if (!known.includes(name)) {
    const { ConfigError } = await import("../errors.ts");
    const { didYouMean } = await import("../config/did_you_mean.ts");
    const suggestion = didYouMean(name, known);
    throw new ConfigError(
      `export '${name}' not found in config ${o.config as string}. Known exports: ${
        known.length === 0 ? "(none)" : known.join(", ")
      }`,
      {
        hint: `check the spelling${
          suggestion ? ` (did you mean '${suggestion}'?)` : ""
        }; \`rivet state show -c ${o.config as string}\` lists stored cursors`,
      },
    );
  }
  return await withStore(o, async (s) => {
    const existed = await s.deleteCursor(name);
    if (o.json === true) await outJson({ export_name: name, reset: true, had_cursor: existed });
    else {
      await human([
        `State reset for export '${name}'${existed ? "" : " (no cursor was stored)"}`,
      ]);
    }
    return 0;
  });
}

async function filesCommand(o: Record<string, unknown>): Promise<number> {
  return await withStore(o, async (s) => {
    const rows = await s.listFiles({
      ...(o.export === undefined ? {} : { exportName: o.export as string }),
      limit: o.last as number,
    });
    if (o.json === true) await outJson(rows);
    else await out(renderFiles(rows));
    return 0;
  });
}

async function chunksCommand(o: Record<string, unknown>): Promise<number> {
  const name = o.export as string;
  return await withStore(o, async (s) => {
    const run = await s.latestChunkRun(name);
    const tasks = run === null ? [] : await s.listChunkTasks(run.run_id);
    const leases = run === null ? [] : await s.listChunkLeases(run.run_id);
    if (o.json === true) {
      const byIndex = new Map(leases.map((l) => [l.chunk_index, l]));
      await outJson({
        database: s.location,
        run,
        tasks: tasks.map((t) => ({
          ...t,
          worker_id: byIndex.get(t.chunk_index)?.worker_id ?? null,
          lease_until: byIndex.get(t.chunk_index)?.lease_until ?? null,
        })),
      });
    } else if (run === null) {
      await out([`No chunk checkpoint runs for export '${name}'.`]);
    } else {
      await out(renderChunks(s.location, run, tasks, leases));
    }
    return 0;
  });
}

async function resetChunksCommand(o: Record<string, unknown>): Promise<number> {
  const stuck = o.stuckCheckpoints === true || o.failed === true;
  const { UsageError } = await import("../errors.ts");
  if (stuck === (o.export !== undefined)) {
    throw new UsageError(
      "state reset-chunks needs exactly one of --export <name> or --stuck-checkpoints",
      { hint: "e.g. `rivet state reset-chunks -c rivet.yaml -e orders`" },
    );
  }
  const targets = stuck ? await configExportNames(o) : [o.export as string];
  return await withStore(o, async (s) => {
    const reset: { export_name: string; runs: number; tasks: number }[] = [];
    const skipped: string[] = [];
    for (const name of targets) {
      if (stuck) {
        const latest = await s.latestChunkRun(name);
        if (latest === null || latest.status !== "in_progress") {
          skipped.push(name);
          continue;
        }
      }
      const n = await s.deleteChunkRuns(name);
      reset.push({ export_name: name, ...n });
    }
    if (o.json === true) {
      await outJson({ reset, skipped });
      return 0;
    }
    const lines = reset.map((r) =>
      `Reset chunk checkpoints for export '${r.export_name}': ${r.runs} run(s), ${r.tasks} task(s) deleted`
    );
    if (stuck && reset.length === 0) lines.push("No stuck chunk checkpoints found.");
    if (skipped.length > 0) {
      lines.push(`Skipped (no in-progress chunk checkpoint): ${skipped.join(", ")}`);
    }
    await human(lines);
    return 0;
  });
}

async function progressionCommand(o: Record<string, unknown>): Promise<number> {
  return await withStore(o, async (s) => {
    const rows = await s.listProgression(o.export === undefined ? undefined : o.export as string);
    if (o.json === true) await outJson(rows);
    else await out(renderProgression(rows));
    return 0;
  });
}

export function registerState(program: Command, setExit: (p: Promise<number>) => void): void {
  const state = program.command("state").description(
    "Inspect or reset the state store (cursors, files, chunk checkpoints)",
  );
  const act =
    (fn: (o: Record<string, unknown>) => Promise<number>) => (o: Record<string, unknown>) =>
      setExit(fn(o));
  addStateOptions(state.command("show").description("Show incremental cursors"))
    .action(act(showCommand));
  addStateOptions(
    state.command("reset").description("Forget the cursor of an export (next run starts over)"),
  )
    .requiredOption("-e, --export <name>", "export whose cursor to delete")
    .option("-p, --param <KEY=VALUE>", "value for a ${KEY} placeholder (repeatable)", collect, [])
    .action(act(resetCommand));
  addStateOptions(state.command("files").description("List files recorded in the file log"))
    .option("-e, --export <name>", "only this export")
    .option("-l, --last <n>", "how many files", parseLimit, 50)
    .action(act(filesCommand));
  addStateOptions(
    state.command("chunks").description("Show the latest chunk checkpoint run of an export"),
  )
    .requiredOption("-e, --export <name>", "export to show")
    .action(act(chunksCommand));
  addStateOptions(
    state.command("reset-chunks").description("Delete chunk checkpoint runs and tasks"),
  )
    .option("-e, --export <name>", "delete the checkpoints of this export")
    .option(
      "--stuck-checkpoints",
      "delete the checkpoints of every export in the config whose latest run is in progress",
      false,
    )
    .option("--failed", "alias of --stuck-checkpoints", false)
    .option("-p, --param <KEY=VALUE>", "value for a ${KEY} placeholder (repeatable)", collect, [])
    .action(act(resetChunksCommand));
  addStateOptions(
    state.command("progression").description("Show committed and verified boundaries"),
  )
    .option("-e, --export <name>", "only this export")
    .action(act(progressionCommand));
}
