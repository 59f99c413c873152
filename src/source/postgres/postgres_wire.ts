// Runs one statement in the extended query protocol on the socket pg already opened and hands each DataRow to a callback as raw bytes (execution layer).
//
// pg decodes every cell into a JS string (and cannot receive binary results). For the FETCH
// loop PostgresSource takes the socket over for one round trip instead: it detaches pg's `data`
// listener, sends Parse/Bind/Execute/Sync with per-column result formats, frames the replies
// itself and gives back pg's listener at ReadyForQuery. Between statements pg's parser holds no
// partial message, so nothing is lost; the statement text is unchanged (`FETCH n FROM c`).

/** The slice of a Node socket this module uses. */
export interface WireSocket {
  write(chunk: Uint8Array): boolean;
  on(event: string, fn: (...args: never[]) => void): unknown;
  removeListener(event: string, fn: (...args: never[]) => void): unknown;
  listeners(event: string): ((...args: never[]) => void)[];
}

/** A server ErrorResponse, shaped like pg's DatabaseError for the error classifier. */
export class PgWireError extends Error {
  severity?: string;
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  constructor(message: string) {
    super(message);
    this.name = "error";
  }
}

/** Called for each DataRow; `pos` is the offset of its column count (int16), `end` is exclusive. */
export type RowSink = (buf: Uint8Array, pos: number, end: number) => void;

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Parse + Bind (unnamed) + Execute (all rows) + Sync for `sql` with `formats` per column. */
export function extendedQuery(sql: string, formats: readonly number[]): Uint8Array {
  const q = utf8.encode(sql);
  const parseLen = 4 + 1 + q.length + 1 + 2;
  const bindLen = 4 + 1 + 1 + 2 + 2 + 2 + 2 * formats.length;
  const execLen = 4 + 1 + 4;
  const out = new Uint8Array(1 + parseLen + 1 + bindLen + 1 + execLen + 5);
  const dv = new DataView(out.buffer);
  let p = 0;
  out[p++] = 0x50; // P
  dv.setInt32(p, parseLen);
  p += 4;
  out[p++] = 0; // unnamed statement
  out.set(q, p);
  p += q.length;
  out[p++] = 0;
  dv.setInt16(p, 0); // no parameter types
  p += 2;
  out[p++] = 0x42; // B
  dv.setInt32(p, bindLen);
  p += 4;
  out[p++] = 0; // unnamed portal
  out[p++] = 0; // unnamed statement
  dv.setInt16(p, 0); // no parameter formats
  p += 2;
  dv.setInt16(p, 0); // no parameters
  p += 2;
  dv.setInt16(p, formats.length);
  p += 2;
  for (const f of formats) {
    dv.setInt16(p, f);
    p += 2;
  }
  out[p++] = 0x45; // E
  dv.setInt32(p, execLen);
  p += 4;
  out[p++] = 0; // unnamed portal
  dv.setInt32(p, 0); // all rows
  p += 4;
  out[p++] = 0x53; // S
  dv.setInt32(p, 4);
  return out;
}

function parseError(buf: Uint8Array, start: number, end: number): PgWireError {
  const fields = new Map<string, string>();
  let p = start;
  while (p < end && buf[p] !== 0) {
    const key = String.fromCharCode(buf[p]!);
    const z = buf.indexOf(0, p + 1);
    const stop = z < 0 || z > end ? end : z;
    fields.set(key, text.decode(buf.subarray(p + 1, stop)));
    p = stop + 1;
  }
  const err = new PgWireError(fields.get("M") ?? "unknown server error");
  const set = (k: string, name: "severity" | "code" | "detail" | "hint" | "position" | "where") => {
    const v = fields.get(k);
    if (v !== undefined) err[name] = v;
  };
  set("S", "severity");
  set("C", "code");
  set("D", "detail");
  set("H", "hint");
  set("P", "position");
  set("W", "where");
  return err;
}

/**
 * Sends `message` (from `extendedQuery`) on `socket`, which pg owns and is idle, and feeds every
 * DataRow to `onRow` synchronously as bytes arrive. Resolves with the row count at
 * ReadyForQuery; rejects with the server's error (after ReadyForQuery, so the connection stays
 * usable), with an error thrown by `onRow` (the rest of the reply is drained first), or when the
 * socket fails.
 */
export function runExtended(
  socket: WireSocket,
  message: Uint8Array,
  onRow: RowSink,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const saved = socket.listeners("data");
    for (const fn of saved) socket.removeListener("data", fn);
    let rows = 0;
    let failure: unknown = null;
    let done = false;

    const finish = (err: unknown) => {
      if (done) return;
      done = true;
      socket.removeListener("data", onData as never);
      socket.removeListener("close", onClose as never);
      socket.removeListener("error", onClose as never);
      for (const fn of saved) socket.on("data", fn);
      if (err) reject(err);
      else resolve(rows);
    };

    const onClose = (err?: unknown) => {
      finish(err instanceof Error ? err : new Error("Connection terminated unexpectedly"));
    };

    /** Handles every complete message of `buf`; returns the offset of the first incomplete one. */
    const frames = (buf: Uint8Array): number => {
      let p = 0;
      const n = buf.length;
      while (p + 5 <= n) {
        const len =
          ((buf[p + 1]! << 24) | (buf[p + 2]! << 16) | (buf[p + 3]! << 8) | buf[p + 4]!) >>>
          0;
        const end = p + 1 + len;
        if (end > n) break;
        const code = buf[p]!;
        if (code === 0x44 /* D */) {
          if (failure === null) {
            try {
              onRow(buf, p + 5, end);
              rows++;
            } catch (err) {
              failure = err;
            }
          }
        } else if (code === 0x45 /* E */) {
          failure ??= parseError(buf, p + 5, end);
        } else if (code === 0x5a /* Z */) {
          finish(failure);
          return end;
        }
        // 1 ParseComplete, 2 BindComplete, C CommandComplete, N notice, S/A async: nothing to do.
        p = end;
      }
      return p;
    };

    // Bytes of an incomplete message, kept as chunks until the whole message is there, so a
    // large value spread over many socket reads is copied once, not once per read. Only the
    // message that straddles two reads is copied: the rest of the read is framed in place.
    let pending: Uint8Array[] = [];
    let pendingLen = 0;
    let need = 0;
    const needOf = (b: Uint8Array): number =>
      b.length < 5 ? 5 : 1 + (((b[1]! << 24) | (b[2]! << 16) | (b[3]! << 8) | b[4]!) >>> 0);
    const onData = (chunk: Uint8Array) => {
      if (done) return;
      let buf = chunk;
      let off = 0;
      while (pendingLen > 0) {
        const take = Math.min(chunk.length - off, need - pendingLen);
        pending.push(chunk.subarray(off, off + take));
        pendingLen += take;
        off += take;
        if (pendingLen < need) return;
        const msg = new Uint8Array(pendingLen);
        let o = 0;
        for (const c of pending) {
          msg.set(c, o);
          o += c.length;
        }
        pending = [];
        pendingLen = 0;
        const full = needOf(msg);
        if (full > msg.length) {
          // Only the header was pending: now the message's length is known.
          pending = [msg];
          pendingLen = msg.length;
          need = full;
          continue;
        }
        frames(msg); // exactly one whole message
        if (done) return;
      }
      if (off > 0) {
        if (off >= chunk.length) return;
        buf = chunk.subarray(off);
      }
      for (;;) {
        const used = frames(buf);
        if (done || used >= buf.length) return;
        const rest = buf.subarray(used);
        need = needOf(rest);
        if (rest.length >= need) {
          buf = rest; // a message completed by the concatenation above is followed by more
          continue;
        }
        const copy = rest.slice(); // socket buffers may be reused: keep a copy
        pending = [copy];
        pendingLen = copy.length;
        return;
      }
    };

    socket.on("data", onData as never);
    socket.on("close", onClose as never);
    socket.on("error", onClose as never);
    socket.write(message);
  });
}
