#!/usr/bin/env bash
# scripts/start-dbs.sh — make PostgreSQL and MariaDB answer on 127.0.0.1 for Rivet's tests:
#   PostgreSQL: postgres://postgres@127.0.0.1:5432/test   (trust auth on loopback TCP)
#   MariaDB:    mysql://root@127.0.0.1:3306/test           (root, empty password)
#
# For each server, the first step that applies wins:
#   1. it already answers on its port: leave it running as it is;
#   2. it is installed (Debian packages): start it (pg_ctlcluster / start-stop-daemon);
#   3. root with apt-get: install it from Debian (postgresql, mariadb-server), then start it;
#   4. a Docker daemon answers: run postgres:16 / mariadb:10.11 containers
#      (rivet-test-postgres / rivet-test-mariadb), reusing them when they exist.
# Then database `test` is created when missing, and the script waits until both answer.
# Idempotent: run it as often as you like; it never restarts a running server.
# stdout: only `export RIVET_TEST_PG_URL=...` / `export RIVET_TEST_MYSQL_URL=...`, so
#   eval "$(scripts/start-dbs.sh)"   works; progress goes to stderr.
# Env: PG_PORT (5432), MY_PORT (3306), PG_CLUSTER (main), START_DBS_DOCKER=1 (skip 2 and 3).
set -euo pipefail
PG_PORT="${PG_PORT:-5432}"
MY_PORT="${MY_PORT:-3306}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_IMAGE="${PG_IMAGE:-postgres:16}"
MY_IMAGE="${MY_IMAGE:-mariadb:10.11}"
PG_CONTAINER=rivet-test-postgres
MY_CONTAINER=rivet-test-mariadb
log() { echo "[start-dbs] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Run a command as root: directly, or through password-less sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif have sudo && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 126; fi
}
can_root() { [ "$(id -u)" = 0 ] || { have sudo && sudo -n true 2>/dev/null; }; }
docker_ok() { have docker && docker info >/dev/null 2>&1; }

# TCP connect to 127.0.0.1:PORT (bash's /dev/tcp; no nc needed).
port_open() {
  if have timeout; then timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
  else bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; fi
}
pg_up() {
  if have pg_isready; then pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; else port_open "$PG_PORT"; fi
}
my_client() { if have mariadb; then echo mariadb; elif have mysql; then echo mysql; fi; }
my_up() {
  local c; c="$(my_client)"
  if [ -n "$c" ]; then "$c" -h 127.0.0.1 -P "$MY_PORT" -uroot -e 'SELECT 1' >/dev/null 2>&1 || port_open_mariadb_only
  else port_open "$MY_PORT"; fi
}
# The port answers but root@127.0.0.1 cannot log in yet (fresh Debian install: unix_socket only).
port_open_mariadb_only() { MY_NEEDS_GRANTS=1; port_open "$MY_PORT"; }
MY_NEEDS_GRANTS=0

wait_for() { # NAME CHECK-FUNCTION SECONDS
  local i
  for ((i = 0; i < $3 * 2; i++)); do "$2" && return 0; sleep 0.5; done
  "$2" || die "$1 did not answer on 127.0.0.1 within $3 s"
}

apt_updated=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq </dev/null >&2 || log "WARNING: apt-get update failed; trying the package lists at hand"
    apt_updated=1
  fi
  log "installing $* from Debian"
  as_root apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null
}

# ---- PostgreSQL -----------------------------------------------------------------------------
PG_HOW=""
pg_installed() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && have pg_ctlcluster; }
pg_start_local() {
  local v hba
  # the cluster that exists (as on the dev machines), else the newest installed version
  v="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  if [ -z "$v" ] || [ ! -d "/etc/postgresql/$v/$PG_CLUSTER" ]; then
    v="$(ls /usr/lib/postgresql | sort -V | tail -1)"
    log "creating PostgreSQL cluster $v/$PG_CLUSTER on port $PG_PORT"
    as_root pg_createcluster "$v" "$PG_CLUSTER" --port "$PG_PORT" >/dev/null
  fi
  hba="/etc/postgresql/$v/$PG_CLUSTER/pg_hba.conf"
  if ! as_root grep -q 'start-dbs trust' "$hba"; then
    # trust for loopback TCP, placed first so it wins over the default scram-sha-256 lines
    as_root sed -i '1i host all all 127.0.0.1/32 trust # start-dbs trust\nhost all all ::1/128 trust # start-dbs trust' "$hba"
  fi
  PG_PORT="$(pg_lsclusters -h | awk -v v="$v" -v c="$PG_CLUSTER" '$1==v && $2==c {print $3}')"
  if pg_lsclusters -h | awk -v v="$v" -v c="$PG_CLUSTER" '$1==v && $2==c && $4=="online" {f=1} END {exit !f}'; then
    log "PostgreSQL $v/$PG_CLUSTER is running but did not answer: reloading its pg_hba.conf"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" "$PG_CLUSTER" reload >&2
  else
    log "starting PostgreSQL $v/$PG_CLUSTER (port $PG_PORT)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" "$PG_CLUSTER" start >&2
  fi
  PG_HOW=local
}
pg_start_docker() {
  if docker container inspect "$PG_CONTAINER" >/dev/null 2>&1; then
    log "starting existing container $PG_CONTAINER"
    docker start "$PG_CONTAINER" >/dev/null
  else
    log "running $PG_IMAGE as container $PG_CONTAINER on 127.0.0.1:$PG_PORT"
    docker run -d --name "$PG_CONTAINER" -p "127.0.0.1:$PG_PORT:5432" \
      -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test "$PG_IMAGE" >/dev/null
  fi
  PG_HOW=docker
}
pg_sql() { # SQL -> runs on database postgres, prints tuples only
  if have psql; then psql -X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "$1"
  elif [ "$PG_HOW" = docker ]; then docker exec "$PG_CONTAINER" psql -X -q -tA -v ON_ERROR_STOP=1 -U postgres -d postgres -c "$1"
  else return 127; fi
}

if pg_up; then
  log "PostgreSQL already answers on 127.0.0.1:$PG_PORT"
elif [ "${START_DBS_DOCKER:-0}" != 1 ] && pg_installed && can_root; then
  pg_start_local
elif [ "${START_DBS_DOCKER:-0}" != 1 ] && have apt-get && can_root; then
  apt_install postgresql
  pg_start_local
elif docker_ok; then
  pg_start_docker
else
  die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT and cannot be started here: run this script as root on Debian/Ubuntu (it installs postgresql), start a Docker daemon, or start PostgreSQL yourself with trust auth for 127.0.0.1"
fi
wait_for PostgreSQL pg_up 60
if pg_sql "SELECT 1" >/dev/null 2>&1; then
  if [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
    log "creating PostgreSQL database test"
    pg_sql "CREATE DATABASE test" >/dev/null
  fi
  if [ "$PG_HOW" = local ]; then # role root too, as on the dev machines (psql without -U as root)
    pg_sql "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'root') THEN CREATE ROLE root SUPERUSER LOGIN; END IF; END\$\$;" >/dev/null
  fi
else
  log "WARNING: cannot log in to PostgreSQL as postgres on 127.0.0.1:$PG_PORT without a password (or psql is missing): make sure database test exists and 127.0.0.1 has trust auth"
fi

# ---- MariaDB --------------------------------------------------------------------------------
MY_HOW=""
# As on the dev machines: 127.0.0.1 logins match root@127.0.0.1 (not root@localhost, whose
# unix_socket alternative turns a wrong password into errno 1698 instead of 1045), utf8mb4.
MY_FLAGS=(--user=mysql --port="$MY_PORT" --skip-name-resolve
  --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci)
MARIADBD="$(command -v mariadbd 2>/dev/null || { [ -x /usr/sbin/mariadbd ] && echo /usr/sbin/mariadbd; } || true)"
my_start_local() {
  if [ ! -d /var/lib/mysql/mysql ]; then
    log "initialising the MariaDB data directory"
    as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  as_root install -d -o mysql -g mysql /run/mysqld
  log "starting MariaDB ($MARIADBD, port $MY_PORT)"
  if have start-stop-daemon; then
    as_root start-stop-daemon --start --oknodo --background --exec "$MARIADBD" -- "${MY_FLAGS[@]}" >&2
  else
    as_root bash -c "setsid mysqld_safe ${MY_FLAGS[*]} </dev/null >/dev/null 2>&1 &"
  fi
  MY_HOW=local
}
my_start_docker() {
  if docker container inspect "$MY_CONTAINER" >/dev/null 2>&1; then
    log "starting existing container $MY_CONTAINER"
    docker start "$MY_CONTAINER" >/dev/null
  else
    log "running $MY_IMAGE as container $MY_CONTAINER on 127.0.0.1:$MY_PORT"
    docker run -d --name "$MY_CONTAINER" -p "127.0.0.1:$MY_PORT:3306" \
      -e MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1 -e MARIADB_DATABASE=test "$MY_IMAGE" >/dev/null
  fi
  MY_HOW=docker
}

if my_up; then
  log "MariaDB already answers on 127.0.0.1:$MY_PORT"
elif [ "${START_DBS_DOCKER:-0}" != 1 ] && [ -n "$MARIADBD" ] && can_root; then
  my_start_local
elif [ "${START_DBS_DOCKER:-0}" != 1 ] && have apt-get && can_root; then
  # the same settings for a server that the package's own scripts start (systemd machines)
  as_root mkdir -p /etc/mysql/mariadb.conf.d
  printf '[mysqld]\nskip-name-resolve\ncharacter-set-server = utf8mb4\ncollation-server = utf8mb4_general_ci\n' \
    | as_root tee /etc/mysql/mariadb.conf.d/99-rivet-tests.cnf >/dev/null
  apt_install mariadb-server mariadb-client
  MARIADBD="$(command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd)"
  my_start_local
elif docker_ok; then
  my_start_docker
else
  die "MariaDB does not answer on 127.0.0.1:$MY_PORT and cannot be started here: run this script as root on Debian/Ubuntu (it installs mariadb-server), start a Docker daemon, or start MariaDB/MySQL yourself with root and an empty password"
fi
wait_for MariaDB my_up 90

MY_SETUP_SQL="CREATE DATABASE IF NOT EXISTS test;"
if [ "$MY_HOW" = local ] || [ "$MY_NEEDS_GRANTS" = 1 ]; then
  # keep unix_socket for `sudo mariadb`, add an empty password so TCP logins work
  MY_SETUP_SQL+="
ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
CREATE USER IF NOT EXISTS root@'::1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO root@'::1' WITH GRANT OPTION;
FLUSH PRIVILEGES;"
fi
MYC="$(my_client)"
if [ "$MY_HOW" = docker ]; then
  docker exec -i "$MY_CONTAINER" mariadb -uroot <<<"$MY_SETUP_SQL" >/dev/null
elif [ -n "$MYC" ] && "$MYC" -h 127.0.0.1 -P "$MY_PORT" -uroot -e 'SELECT 1' >/dev/null 2>&1 \
  && [ "$MY_NEEDS_GRANTS" = 0 ] && [ "$MY_HOW" != local ]; then
  "$MYC" -h 127.0.0.1 -P "$MY_PORT" -uroot <<<"CREATE DATABASE IF NOT EXISTS test;"
elif [ -n "$MYC" ] && [ -S /run/mysqld/mysqld.sock ] && can_root; then
  as_root "$MYC" --protocol=socket -uroot <<<"$MY_SETUP_SQL"
else
  log "WARNING: cannot log in to MariaDB as root to create database test (no client or no root): make sure it exists and root@127.0.0.1 has an empty password"
fi
if [ -n "$MYC" ]; then
  "$MYC" -h 127.0.0.1 -P "$MY_PORT" -uroot test -e 'SELECT 1' >/dev/null 2>&1 \
    || die "MariaDB answers on 127.0.0.1:$MY_PORT but root@127.0.0.1 (empty password) cannot use database test"
fi

# ---- report ---------------------------------------------------------------------------------
if have psql; then
  log "$(psql -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d test -tAc "SELECT 'postgres ok: ' || version()" 2>/dev/null | cut -c1-60)"
fi
if [ -n "$MYC" ]; then
  log "$("$MYC" -h 127.0.0.1 -P "$MY_PORT" -uroot test -NBe "SELECT concat('mariadb ok: ', version())" 2>/dev/null)"
fi
echo "export RIVET_TEST_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/test"
echo "export RIVET_TEST_MYSQL_URL=mysql://root@127.0.0.1:$MY_PORT/test"
