// Test helper: starts the S3 (s3rver) and GCS (firebase-tools storage) emulators through the project's start scripts, once per port.
const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/** The project's copy of a start script, or the shared recipe when the project has none yet. */
async function script(name: string): Promise<string> {
  for (const path of [`${ROOT}scripts/${name}`, `/work/shared/tools/${name}`]) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch { /* try the next one */ }
  }
  throw new Error(`${name} not found in scripts/ or /work/shared/tools/`);
}

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command("bash", { args, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return stdout;
}

/** Whether something answers HTTP at `url` (any status). */
export async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/**
 * The endpoint of the emulator on `port`, started by its script unless one already answers there
 * (the scripts restart and empty a running one, so they are not called twice).
 */
async function ensure(name: string, port: number, probe: string, extra: string[]): Promise<string> {
  const endpoint = `http://127.0.0.1:${port}`;
  if (await answers(`${endpoint}${probe}`)) return endpoint;
  const printed = await run([await script(name), String(port), ...extra]);
  if (printed !== endpoint) throw new Error(`${name} printed '${printed}', expected ${endpoint}`);
  return endpoint;
}

/** Starts s3rver on `port` (data kept in `dataDir` when given, so it survives a restart). */
export function ensureS3(port: number, dataDir?: string): Promise<string> {
  return ensure("start-s3.sh", port, "/", dataDir === undefined ? [] : [dataDir]);
}

export function ensureGcs(port: number): Promise<string> {
  return ensure("start-gcs.sh", port, "/b/ready-probe", []);
}

/** Stops the emulator on `port` and waits until nothing answers there any more. */
export async function stopEmulator(kind: "s3" | "gcs", port: number): Promise<void> {
  const home = Deno.env.get("EMU_HOME") ?? `${Deno.env.get("HOME")}/.cache/test-emulators`;
  let pid: number | null = null;
  try {
    pid = Number((await Deno.readTextFile(`${home}/${kind}-${port}.pid`)).trim());
  } catch { /* not started by a script */ }
  await run([await script(kind === "s3" ? "start-s3.sh" : "start-gcs.sh"), "stop", String(port)]);
  for (let i = 0; i < 100; i++) {
    if (!(await answers(`http://127.0.0.1:${port}/`))) return;
    await new Promise((r) => setTimeout(r, 100));
    // A server that keeps serving open keep-alive connections: end the process we started.
    if (i === 30 && pid !== null && pid > 0) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
  }
  throw new Error(`the ${kind} emulator on port ${port} did not stop`);
}

/** A bucket name no earlier test run used (emulators may be reused between runs). */
export function uniqueBucket(label: string): string {
  const rand = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  return `rivet-${label}-${rand}`;
}

/**
 * The environment the AWS SDK sees in tests: fixed emulator keys and no metadata probing, so
 * nothing ever reaches a real cloud or 169.254.169.254.
 */
export function isolateCloudEnv(): void {
  Deno.env.set("AWS_EC2_METADATA_DISABLED", "true");
  Deno.env.set("AWS_ACCESS_KEY_ID", "S3RVER");
  Deno.env.set("AWS_SECRET_ACCESS_KEY", "S3RVER");
  Deno.env.set("AWS_REGION", "us-east-1");
  Deno.env.delete("AWS_PROFILE");
  Deno.env.set("AWS_CONFIG_FILE", "/dev/null");
  Deno.env.set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
  Deno.env.set("GOOGLE_CLOUD_PROJECT", "demo-test");
  Deno.env.set("METADATA_SERVER_DETECTION", "none"); // google-auth-library: never probe GCE metadata
}

/** `size` deterministic pseudo-random bytes (xorshift), different for each `seed`. */
export function testBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Writes `bytes` to `writable` in `chunk`-sized pieces, as a format encoder would. */
export async function writeChunked(
  writable: WritableStream<Uint8Array>,
  bytes: Uint8Array,
  chunk = 256 * 1024,
): Promise<void> {
  const w = writable.getWriter();
  for (let off = 0; off < bytes.length; off += chunk) {
    await w.write(bytes.slice(off, off + chunk));
  }
  await w.close();
}
