// Test helper: a fake PostgreSQL server that asks for a password and rejects it with 28P01 (tests only).

/** Listens on 127.0.0.1, rejects every login with SQLSTATE 28P01; returns the port and a stopper. */
export function startRejectingPgServer(): { port: number; stop: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const serve = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      handle(conn).finally(() => conns.delete(conn));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    stop: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await serve;
    },
  };
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await conn.read(out.subarray(got));
    if (r === null) return null;
    got += r;
  }
  return out;
}

function message(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

async function handle(conn: Deno.Conn): Promise<void> {
  try {
    // Startup message: int32 length, then the rest.
    const len = await readExactly(conn, 4);
    if (!len) return;
    await readExactly(conn, new DataView(len.buffer).getInt32(0) - 4);
    // AuthenticationCleartextPassword.
    const auth = new Uint8Array(4);
    new DataView(auth.buffer).setInt32(0, 3);
    await conn.write(message("R", auth));
    // PasswordMessage: 'p', int32 length, password.
    const head = await readExactly(conn, 5);
    if (!head) return;
    await readExactly(conn, new DataView(head.buffer).getInt32(1) - 4);
    const fields = [
      "SFATAL",
      "VFATAL",
      "C28P01",
      'Mpassword authentication failed for user "app"',
    ];
    const enc = new TextEncoder();
    const body = enc.encode(fields.map((f) => `${f}\0`).join("") + "\0");
    await conn.write(message("E", body));
  } catch {
    // The client went away.
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}
