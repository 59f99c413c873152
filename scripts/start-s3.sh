#!/usr/bin/env bash
# Start a local S3 server (s3rver 3.7.1 from npm, pure JS) on 127.0.0.1 and print its endpoint.
#   scripts/start-s3.sh [PORT] [DATA_DIR]   start (default port 4568; default data dir $EMU_HOME/s3-PORT-data, emptied)
#   scripts/start-s3.sh stop [PORT]         stop the one started for PORT
# Installs s3rver into $EMU_HOME (default ~/.cache/test-emulators) when missing. Needs node >= 18, npm.
# Clients: endpoint http://127.0.0.1:PORT, region us-east-1, access key S3RVER / secret S3RVER
# (or set S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY before starting to accept another pair).
# Path-style addressing (forcePathStyle: true; with an IP endpoint the SDK uses path style anyway).
# stdout: the endpoint only. Log: $EMU_HOME/s3-PORT.log  pid: $EMU_HOME/s3-PORT.pid
set -euo pipefail
EMU_HOME="${EMU_HOME:-$HOME/.cache/test-emulators}"
S3RVER_VERSION="${S3RVER_VERSION:-3.7.1}"
HOST=127.0.0.1
if [ "${1:-}" = stop ]; then
  PORT="${2:-4568}"; PIDF="$EMU_HOME/s3-$PORT.pid"
  [ -f "$PIDF" ] && kill "$(cat "$PIDF")" 2>/dev/null || true; rm -f "$PIDF"; exit 0
fi
PORT="${1:-4568}"
DATA="${2:-}"
mkdir -p "$EMU_HOME/s3"
if [ ! -f "$EMU_HOME/s3/node_modules/s3rver/package.json" ]; then
  echo "installing s3rver@$S3RVER_VERSION into $EMU_HOME/s3 ..." >&2
  [ -f "$EMU_HOME/s3/package.json" ] || echo '{"private":true}' > "$EMU_HOME/s3/package.json"
  npm install --prefix "$EMU_HOME/s3" --no-audit --no-fund --omit=optional --ignore-scripts --loglevel=error \
    "s3rver@$S3RVER_VERSION" >&2
fi
cat > "$EMU_HOME/s3/s3-emulator.cjs" <<'JS'
// s3rver started programmatically, plus a decoder for "aws-chunked" request bodies: AWS SDK v3
// (since early 2025) sends streamed uploads as aws-chunked with a trailing x-amz-checksum-* header,
// which s3rver 3.7.1 would otherwise store verbatim (corrupt object).
// s3rver checks only the access key id of SigV4 requests, not the signature, so rewriting the
// content-encoding/content-length headers here is safe.
const path = require('path');
const { Transform } = require('stream');
const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require(path.join(path.dirname(require.resolve('s3rver')), 'models/account'));
class AwsChunkedDecoder extends Transform {
  constructor() { super(); this.buf = Buffer.alloc(0); this.state = 'size'; this.left = 0; }
  _transform(chunk, _e, cb) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    try { this.drain(); cb(); } catch (e) { cb(e); }
  }
  drain() {
    for (;;) {
      if (this.state === 'size') {
        const i = this.buf.indexOf('\r\n');
        if (i < 0) { if (this.buf.length > 4096) throw new Error('aws-chunked: bad chunk header'); return; }
        const size = parseInt(this.buf.subarray(0, i).toString('latin1').split(';')[0].trim(), 16);
        if (!Number.isFinite(size)) throw new Error('aws-chunked: bad chunk size');
        this.buf = this.buf.subarray(i + 2);
        if (size === 0) { this.state = 'trailer'; return; }
        this.left = size; this.state = 'data';
      } else if (this.state === 'data') {
        if (!this.buf.length) return;
        const n = Math.min(this.left, this.buf.length);
        this.push(this.buf.subarray(0, n)); this.buf = this.buf.subarray(n); this.left -= n;
        if (this.left) return; this.state = 'crlf';
      } else if (this.state === 'crlf') {
        if (this.buf.length < 2) return; this.buf = this.buf.subarray(2); this.state = 'size';
      } else { this.buf = Buffer.alloc(0); return; } // trailers (x-amz-checksum-*): not checked
    }
  }
  _flush(cb) { cb(this.state === 'trailer' ? null : new Error('aws-chunked: body ended early')); }
}
const [host, port, directory] = [process.env.HOST, Number(process.argv[2]), process.argv[3]];
if (process.env.S3_ACCESS_KEY_ID) DUMMY_ACCOUNT.createKeyPair(process.env.S3_ACCESS_KEY_ID, process.env.S3_SECRET_ACCESS_KEY || 'x');
const server = new S3rver({ address: host, port, directory, silent: process.env.S3_EMU_VERBOSE !== '1', vhostBuckets: false });
server.middleware.unshift(async (ctx, next) => {
  const h = ctx.request.req.headers;
  const enc = String(h['content-encoding'] || '').split(',').map((s) => s.trim()).filter(Boolean);
  if (enc.includes('aws-chunked') || String(h['x-amz-content-sha256'] || '').startsWith('STREAMING-')) {
    const rest = enc.filter((e) => e !== 'aws-chunked');
    if (rest.length) h['content-encoding'] = rest.join(', '); else delete h['content-encoding'];
    if (h['x-amz-decoded-content-length'] !== undefined) h['content-length'] = h['x-amz-decoded-content-length'];
    const decoded = new AwsChunkedDecoder();
    ctx.req.on('error', (e) => decoded.destroy(e));
    ctx.req = ctx.req.pipe(decoded);
  }
  await next();
});
server.run((err, addr) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log(`S3 emulator (s3rver) listening on http://${addr.address}:${addr.port} data=${directory}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop); process.on('SIGINT', stop);
JS
if [ -z "$DATA" ]; then DATA="$EMU_HOME/s3-$PORT-data"; rm -rf "$DATA"; fi   # default: emptied at each start
mkdir -p "$DATA"; DATA="$(cd "$DATA" && pwd)"   # absolute: the server runs from $EMU_HOME/s3
PIDF="$EMU_HOME/s3-$PORT.pid"; LOG="$EMU_HOME/s3-$PORT.log"
if [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; then kill "$(cat "$PIDF")" || true; sleep 0.3; fi
# --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES (OpenSSL 3 legacy).
cd "$EMU_HOME/s3"
HOST=$HOST nohup node --openssl-legacy-provider s3-emulator.cjs "$PORT" "$DATA" </dev/null >"$LOG" 2>&1 &
echo $! >"$PIDF"
# HTTP status of a GET (000 when nothing answers); curl if present, else node.
http_code() { if command -v curl >/dev/null; then curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true
  else node -e 'fetch(process.argv[1]).then(r=>console.log(r.status),()=>console.log("000"))' "$1"; fi; }
for _ in $(seq 1 200); do   # up to 20 s
  [ "$(http_code "http://$HOST:$PORT/")" = 200 ] && { echo "http://$HOST:$PORT"; exit 0; }
  kill -0 "$(cat "$PIDF")" 2>/dev/null || break
  sleep 0.1
done
echo "S3 emulator failed to start on port $PORT; log:" >&2; cat "$LOG" >&2; exit 1
