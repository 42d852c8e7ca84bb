#!/usr/bin/env bash
# PostgreSQL for `make run` and `make test`.
#
#   scripts/postgres.sh ensure [auto|private]   prints a server URL (postgres://postgres@HOST:PORT)
#   scripts/postgres.sh stop                    stops the private cluster
#   scripts/postgres.sh pgbench                 prints the path of pgbench (make bench)
#
# auto:    use the server on 127.0.0.1:5432 when one answers and lets user
#          `postgres` in without a password; otherwise the private cluster.
# private: always the private cluster: initialised under .data/pg with the
#          system's PostgreSQL binaries (installed with apt-get when missing,
#          without Debian's own cluster) and started on 127.0.0.1, on the
#          first free port from 54329 (or $PAYMESH_PG_PORT); the port is kept
#          beside the data directory, so another checkout's cluster never
#          collides with this one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

log() { echo "postgres.sh: $*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Runs a server binary as the cluster's owner: postgres refuses to run as root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

install_binaries() {
  if [ -z "$(bindir)" ]; then
    # Only the binaries: Debian's package would otherwise create and start a
    # cluster of its own on 5432, with password logins over TCP.
    if [ "$(id -u)" = 0 ]; then
      mkdir -p /etc/postgresql-common/createcluster.d
      echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/paymesh.conf
    elif command -v sudo >/dev/null; then
      sudo mkdir -p /etc/postgresql-common/createcluster.d
      echo "create_main_cluster = false" | sudo tee /etc/postgresql-common/createcluster.d/paymesh.conf >/dev/null
    fi
    "$root/scripts/apt-install.sh" postgresql
  fi
  bin=$(bindir)
  [ -n "$bin" ] || { log "no PostgreSQL binaries found after installing"; exit 1; }
}

# The private cluster's data directory: .data/pg, unless (as root) the
# postgres user cannot reach the checkout, e.g. one under /root.
datadir() {
  local data=${PAYMESH_PG_DATA:-$root/.data/pg}
  if [ -z "${PAYMESH_PG_DATA:-}" ] && [ "$(id -u)" = 0 ] && getent passwd postgres >/dev/null; then
    mkdir -p "$(dirname "$data")"
    if ! runuser -u postgres -- test -x "$(dirname "$data")" 2>/dev/null; then
      data="${TMPDIR:-/tmp}/paymesh-pg-$(printf %s "$root" | cksum | cut -d' ' -f1)"
    fi
  fi
  echo "$data"
}

# Whether the server on 5432 lets `postgres` in without a password. Without
# psql to ask, a server that answers is taken as usable.
trusts_postgres() {
  local psql
  psql=$(command -v psql || true)
  [ -n "$psql" ] || psql="$(bindir)/psql"
  [ -x "$psql" ] || return 0
  PGCONNECT_TIMEOUT=3 "$psql" -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1
}

private() {
  install_binaries
  local data port_file port
  data=$(datadir)
  if [ "$data" != "$root/.data/pg" ] && [ -z "${PAYMESH_PG_DATA:-}" ]; then
    log "the postgres user cannot reach $root/.data; using $data"
  fi
  if [ ! -s "$data/PG_VERSION" ]; then
    log "initialising a private cluster in $data"
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data"; fi
    chmod 700 "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
  fi
  port_file="$data.port"
  port=$(cat "$port_file" 2>/dev/null || true)
  if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    if [ -z "$port" ] || answers "$port"; then
      port=${PAYMESH_PG_PORT:-54329}
      while answers "$port"; do
        port=$((port + 1))
        [ "$port" -lt 54400 ] || { log "no free port from 54329 to 54399"; exit 1; }
      done
      echo "$port" > "$port_file"
    fi
    log "starting the private cluster on 127.0.0.1:$port"
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300" start >&2
  fi
  [ -n "$port" ] || { log "the cluster runs, but its port is unknown ($port_file is missing)"; exit 1; }
  echo "postgres://postgres@127.0.0.1:$port"
}

case "${1:-}" in
  ensure)
    mode=${2:-auto}
    case "$mode" in
      auto)
        if answers 5432 && trusts_postgres; then
          echo "postgres://postgres@127.0.0.1:5432"
        else
          if answers 5432; then log "the server on 5432 wants a password; using a private cluster"; fi
          private
        fi
        ;;
      private) private ;;
      *) log "unknown mode $mode (auto or private)"; exit 2 ;;
    esac
    ;;
  pgbench)
    # /usr/bin/pgbench alone is not enough: on Debian it is a wrapper that
    # needs the server package.
    install_binaries
    [ -x "$bin/pgbench" ] || { log "no pgbench in $bin"; exit 1; }
    echo "$bin/pgbench"
    ;;
  stop)
    bin=$(bindir)
    data=$(datadir)
    if [ -n "$bin" ] && [ -s "$data/PG_VERSION" ]; then as_owner "$bin/pg_ctl" -D "$data" stop -m fast >&2 || true; fi
    ;;
  *) echo "usage: $0 ensure [auto|private] | stop | pgbench" >&2; exit 2 ;;
esac
