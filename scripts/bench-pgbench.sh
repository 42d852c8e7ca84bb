#!/usr/bin/env bash
# Prints the path of a pgbench for `make bench`: the newest one among the
# system's PostgreSQL server binaries, installed with apt-get (without
# Debian's own cluster, as scripts/postgres.sh does) when there is none.
# /usr/bin/pgbench alone is not enough: on Debian it is a wrapper that
# needs the server package.
#
#   scripts/bench-pgbench.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

find_pgbench() {
  ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(find_pgbench)" ]; then
  if [ "$(id -u)" = 0 ]; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/paymesh.conf
  elif command -v sudo >/dev/null; then
    sudo mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | sudo tee /etc/postgresql-common/createcluster.d/paymesh.conf >/dev/null
  fi
  "$root/scripts/apt-install.sh" postgresql
fi
pgbench=$(find_pgbench)
[ -n "$pgbench" ] || { echo "bench-pgbench.sh: no pgbench after installing PostgreSQL" >&2; exit 1; }
echo "$pgbench"
