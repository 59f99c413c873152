#!/usr/bin/env bash
# Start a local Google Cloud Storage JSON API server on 127.0.0.1 and print its endpoint.
# Server: the Cloud Storage emulator inside firebase-tools (npm, pure JS), run in-process on Node:
# no Java, no rules JAR download (`firebase emulators:start` needs both: Java >= 21 and a JAR from
# the internet, so it cannot run here).
#   scripts/start-gcs.sh [PORT]          start (default 9199)
#   scripts/start-gcs.sh stop [PORT]     stop the one started for PORT
# Installs firebase-tools into $EMU_HOME (default ~/.cache/test-emulators) when missing (~20 s, 220 MB).
# Clients (@google-cloud/storage): STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT, or
#   new Storage({ apiEndpoint: 'http://127.0.0.1:PORT', projectId: 'demo-test' }). No credentials needed.
# stdout: the endpoint only. Log: $EMU_HOME/gcs-PORT.log  pid: $EMU_HOME/gcs-PORT.pid
set -euo pipefail
EMU_HOME="${EMU_HOME:-$HOME/.cache/test-emulators}"
FIREBASE_TOOLS_VERSION="${FIREBASE_TOOLS_VERSION:-15.34.2}"
HOST=127.0.0.1
if [ "${1:-}" = stop ]; then
  PORT="${2:-9199}"; PIDF="$EMU_HOME/gcs-$PORT.pid"
  [ -f "$PIDF" ] && kill "$(cat "$PIDF")" 2>/dev/null || true; rm -f "$PIDF"; exit 0
fi
PORT="${1:-9199}"
mkdir -p "$EMU_HOME/gcs"
if [ ! -f "$EMU_HOME/gcs/node_modules/firebase-tools/lib/emulator/storage/server.js" ]; then
  echo "installing firebase-tools@$FIREBASE_TOOLS_VERSION into $EMU_HOME/gcs ..." >&2
  [ -f "$EMU_HOME/gcs/package.json" ] || echo '{"private":true}' > "$EMU_HOME/gcs/package.json"
  npm install --prefix "$EMU_HOME/gcs" --no-audit --no-fund --omit=optional --ignore-scripts --loglevel=error \
    "firebase-tools@$FIREBASE_TOOLS_VERSION" >&2
fi
cat > "$EMU_HOME/gcs/gcs-emulator.cjs" <<'JS'
// firebase-tools' Cloud Storage emulator, started without the firebase CLI. Its GCS JSON API routes
// use the admin storage layer, which skips security rules, so the rules runtime (Java) is not needed.
// Uses internal modules of firebase-tools: keep the version pinned.
const path = require('path');
const root = path.dirname(require.resolve('firebase-tools/package.json'));
const req = (p) => require(path.join(root, p));
const { StorageEmulator } = req('lib/emulator/storage');
const { createApp } = req('lib/emulator/storage/server');
const { EmulatorRegistry } = req('lib/emulator/registry');
const express = require(require.resolve('express', { paths: [root] }));
const host = process.env.HOST, port = Number(process.argv[2]);
const projectId = process.env.PROJECT || 'demo-test'; // demo- prefix: firebase-tools never calls Google
(async () => {
  const emu = new StorageEmulator({ projectId, host, port, auto_download: false });
  EmulatorRegistry.set('storage', emu); // for selfLink/mediaLink/resumable URLs; rules JAR never started
  const inner = await createApp(projectId, emu);
  let app = inner;
  if (process.env.GCS_EMU_COMPAT !== '0') {
    // Thin compatibility layer for routes firebase-tools lacks (set GCS_EMU_COMPAT=0 to drop it):
    app = express();
    // 1. the /storage/v1 prefix that @google-cloud/storage uses with `apiEndpoint` (it has none with
    //    STORAGE_EMULATOR_HOST); without this, PATCH object and GET /b (list buckets) answer 501/404.
    app.use((r, _s, next) => { if (r.url.startsWith('/storage/v1/')) r.url = r.url.slice(11); next(); });
    // 2. buckets.insert and buckets.get (firebase-tools creates buckets implicitly on first use).
    const buckets = emu._buckets;
    const err = (s, code, reason, message) => s.status(code).json({ error: { code, message, errors: [{ reason, message }] } });
    app.post('/b', express.json(), (r, s) => {
      const name = r.body && r.body.name;
      if (!name) return err(s, 400, 'required', 'bucket name required');
      if (buckets.has(name)) return err(s, 409, 'conflict', `bucket ${name} already exists`);
      emu.adminStorageLayer.createBucket(name); s.json(buckets.get(name));
    });
    app.get('/b/:bucket', (r, s) => buckets.has(r.params.bucket) ? s.json(buckets.get(r.params.bucket))
      : err(s, 404, 'notFound', `bucket ${r.params.bucket} not found`));
    // 3. multi-request resumable uploads (client chunkSize): firebase-tools finalizes on the first PUT,
    //    so non-final chunks ("Content-Range: bytes A-B/*") and status queries are answered here (308).
    app.put('/upload/storage/v1/b/:bucket/o', (r, s, next) => {
      const id = r.query.upload_id, cr = r.header('content-range') || '';
      const chunk = /^bytes (\d+)-(\d+)\/\*$/.exec(cr), query = /^bytes \*\/(\d+|\*)$/.exec(cr);
      if (!id || !(chunk || query)) return next(); // one-shot or final chunk: firebase-tools handles it
      let up;
      try { up = emu.uploadService.getResumableUpload(String(id)); } catch { return s.sendStatus(404); }
      const reply = () => { if (up.size > 0) s.set('Range', `bytes=0-${up.size - 1}`); s.status(308).end(); };
      if (query) { if (query[1] !== '*' && Number(query[1]) === up.size) return next(); r.resume(); return reply(); }
      const parts = []; r.on('data', (d) => parts.push(d)); r.on('error', next);
      r.on('end', () => {
        if (Number(chunk[1]) !== up.size) return reply(); // not the next expected byte: report what we have
        try { emu.uploadService.continueResumableUpload(String(id), Buffer.concat(parts)); } catch { return s.sendStatus(400); }
        reply();
      });
    });
    app.use(inner);
  }
  const server = app.listen(port, host, () => console.log(`GCS emulator (firebase-tools storage) listening on http://${host}:${port}`));
  server.on('error', (e) => { console.error(e.message); process.exit(1); });
  const stop = () => { server.close(); process.exit(0); };
  process.on('SIGTERM', stop); process.on('SIGINT', stop);
})().catch((e) => { console.error(e); process.exit(1); });
JS
PIDF="$EMU_HOME/gcs-$PORT.pid"; LOG="$EMU_HOME/gcs-$PORT.log"
if [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; then kill "$(cat "$PIDF")" || true; sleep 0.3; fi
# Blobs go to $TMPDIR/firebase/storage/blobs: give each instance its own, emptied at start.
TMPD="$EMU_HOME/gcs-$PORT-tmp"; rm -rf "$TMPD"; mkdir -p "$TMPD"
cd "$EMU_HOME/gcs"
HOST=$HOST TMPDIR="$TMPD" nohup node gcs-emulator.cjs "$PORT" </dev/null >"$LOG" 2>&1 &
echo $! >"$PIDF"
# HTTP status of a GET (000 when nothing answers); curl if present, else node.
http_code() { if command -v curl >/dev/null; then curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true
  else node -e 'fetch(process.argv[1]).then(r=>console.log(r.status),()=>console.log("000"))' "$1"; fi; }
for _ in $(seq 1 300); do   # up to 30 s
  [ "$(http_code "http://$HOST:$PORT/b/ready-probe")" = 404 ] && { echo "http://$HOST:$PORT"; exit 0; }
  kill -0 "$(cat "$PIDF")" 2>/dev/null || break
  sleep 0.1
done
echo "GCS emulator failed to start on port $PORT; log:" >&2; cat "$LOG" >&2; exit 1
