#!/usr/bin/env bash
# scripts/start-pg-tls.sh [PORT] — a second, TLS-only PostgreSQL cluster for the TLS tests of the
# PostgreSQL state backend (Debian's postgresql-common tools; needs root to create the cluster).
# Idempotent. Prints the exports the tests read:
#   RIVET_TEST_PG_TLS_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   RIVET_TEST_PG_TLS_CA=<CA certificate that signed the server certificate>
# Exits non-zero (printing why on stderr) when the cluster cannot be made; callers treat the TLS
# tests as not runnable then.
set -euo pipefail
PORT="${1:-5434}"
say() { echo "[start-pg-tls] $*" >&2; }
command -v pg_createcluster >/dev/null || { say "pg_createcluster not found"; exit 1; }
command -v openssl >/dev/null || { say "openssl not found"; exit 1; }
VERSION="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
[ -n "$VERSION" ] || { say "no PostgreSQL installation under /etc/postgresql"; exit 1; }
NAME=rivettls
DIR=/var/lib/postgresql/rivet-tls-certs
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$VERSION $NAME"; then
  say "creating cluster $VERSION/$NAME on port $PORT"
  mkdir -p "$DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=rivet-test-ca" \
    -keyout "$DIR/ca.key" -out "$DIR/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$DIR/server.key" -out "$DIR/server.csr" >/dev/null 2>&1
  printf "subjectAltName=IP:127.0.0.1,DNS:localhost\n" >"$DIR/san.ext"
  openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
    -CAcreateserial -days 3650 -extfile "$DIR/san.ext" -out "$DIR/server.crt" >/dev/null 2>&1
  chown -R postgres:postgres "$DIR"
  chmod 600 "$DIR/server.key"
  pg_createcluster "$VERSION" "$NAME" -p "$PORT" -- --auth=trust >/dev/null
  CONF="/etc/postgresql/$VERSION/$NAME"
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "ssl = on"
    echo "ssl_cert_file = '$DIR/server.crt'"
    echo "ssl_key_file = '$DIR/server.key'"
  } >>"$CONF/postgresql.conf"
  # TLS-only over TCP: a plaintext attempt is refused.
  printf "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n" \
    >"$CONF/pg_hba.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start >/dev/null 2>&1 || true
for _ in $(seq 1 50); do
  if PGSSLMODE=require psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -Atc "SELECT 1" \
    >/dev/null 2>&1; then
    echo "export RIVET_TEST_PG_TLS_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    echo "export RIVET_TEST_PG_TLS_CA=$DIR/ca.crt"
    exit 0
  fi
  sleep 0.2
done
say "the TLS cluster did not answer on port $PORT"
exit 1
