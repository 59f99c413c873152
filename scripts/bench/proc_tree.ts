// Benchmark helper: samples the memory and TCP ports of running process trees from /proc (Linux only).

/** Direct children of a process, from /proc/<pid>/task/<tid>/children. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`);
        for (const p of text.trim().split(/\s+/)) if (p) out.push(Number(p));
      } catch { /* the task ended */ }
    }
  } catch { /* the process ended */ }
  return out;
}

/** A process and all its descendants that are still alive. */
export function processTree(root: number): number[] {
  const seen: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (seen.includes(pid)) continue;
    seen.push(pid);
    todo.push(...childrenOf(pid));
  }
  return seen;
}

/** VmRSS and VmHWM of one process in bytes, or null once it has exited. */
function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (field: string) =>
      Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return null;
  }
}

/** Socket inodes a process holds open. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const m = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`).match(/^socket:\[(\d+)\]$/);
        if (m?.[1]) out.add(m[1]);
      } catch { /* fd closed meanwhile */ }
    }
  } catch { /* the process ended */ }
  return out;
}

/** Local TCP ports of the given socket inodes, from /proc/net/tcp and tcp6. */
function localPorts(inodes: Set<string>): number[] {
  if (inodes.size === 0) return [];
  const ports: number[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      const inode = cols[9];
      if (local && inode && inodes.has(inode)) ports.push(parseInt(local.split(":")[1] ?? "0", 16));
    }
  }
  return ports;
}

export interface TreeSample {
  /** Largest sum of VmRSS over all live processes of the trees, raised to at least the largest
   * single-process VmHWM (which catches a spike between two samples). */
  readonly peakRssBytes: number;
  /** Local TCP ports the trees held at any sample (only when ports were tracked). */
  readonly ports: ReadonlySet<number>;
}

/** Polls process trees every `intervalMs` until stopped. */
export class TreeSampler {
  readonly #roots: readonly number[];
  readonly #trackPorts: boolean;
  readonly #timer: ReturnType<typeof setInterval>;
  #peakSum = 0;
  #peakHwm = 0;
  readonly #ports = new Set<number>();

  constructor(roots: readonly number[], opts: { intervalMs?: number; trackPorts?: boolean } = {}) {
    this.#roots = roots;
    this.#trackPorts = opts.trackPorts ?? false;
    this.sample();
    this.#timer = setInterval(() => this.sample(), opts.intervalMs ?? 50);
  }

  sample(): void {
    let sum = 0;
    const inodes = new Set<string>();
    for (const root of this.#roots) {
      for (const pid of processTree(root)) {
        const mem = memoryOf(pid);
        if (!mem) continue;
        sum += mem.rss;
        this.#peakHwm = Math.max(this.#peakHwm, mem.hwm);
        if (this.#trackPorts) { for (const i of socketInodes(pid)) inodes.add(i); }
      }
    }
    this.#peakSum = Math.max(this.#peakSum, sum);
    for (const p of localPorts(inodes)) this.#ports.add(p);
  }

  stop(): TreeSample {
    clearInterval(this.#timer);
    return { peakRssBytes: Math.max(this.#peakSum, this.#peakHwm), ports: this.#ports };
  }
}
