#!/usr/bin/env bash
# A throwaway mesh for tools that drive the REST API (make fuzz, the OpenAPI
# examples): `paymesh all` on a fresh database, services on free ports, the
# gateway on a free port, one partner with a test secret key.
#
#   scripts/scratch-mesh.sh start SERVER DIR   SERVER: postgres://user@host:port
#   scripts/scratch-mesh.sh stop DIR           stop the mesh, drop its database
#
# `start` builds nothing (run `cargo build -p paymesh-mesh` first; set
# SCRATCH_MESH_BIN to run another build, e.g. target/release/paymesh), waits
# until /readyz answers, and writes DIR/env for `source`:
#   PAYMESH_URL           the gateway
#   PAYMESH_KEY           the partner's test secret key
#   PAYMESH_PAYMENTS_URL  the payments service's gRPC address
#   PAYMESH_STARTUP_MS    from spawning `paymesh all` to /readyz answering
# and DIR/pid (the mesh's process) and DIR/database (its database URL).
# The mesh logs to DIR/mesh.log. Rate limits are off: tools send bursts;
# webhooks may reach loopback, where tools run their receivers.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SCRATCH_MESH_BIN:-$root/target/debug/paymesh}

# N distinct free ports: every socket stays bound until all are chosen, so
# the kernel cannot hand out the same port twice.
free_ports() {
    python3 -c 'import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "$1"
}

start() {
    local server=${1:?usage: scratch-mesh.sh start SERVER DIR} dir=${2:?usage: scratch-mesh.sh start SERVER DIR}
    [ -x "$bin" ] || { echo "scratch-mesh.sh: no $bin; build first: cargo build -p paymesh-mesh" >&2; exit 1; }
    mkdir -p "$dir"
    local db="paymesh_scratch_$$_$(date +%s)"
    psql -q "$server/postgres" -c "CREATE DATABASE $db" >/dev/null
    echo "$server/$db" > "$dir/database"
    "$root/scripts/dev-secrets.sh" "$dir/secrets.env"
    set -a
    # shellcheck disable=SC1091
    . "$dir/secrets.env"
    set +a
    export DATABASE_URL="$server/$db"
    local port payments_port
    read -r port payments_port <<< "$(free_ports 2)"
    export PAYMESH_GATEWAY_ADDR=127.0.0.1:$port PAYMESH_METRICS_ADDR=off \
        PAYMESH_IDENTITY_ADDR=127.0.0.1:0 PAYMESH_METHODS_ADDR=127.0.0.1:0 \
        PAYMESH_INTENTS_ADDR=127.0.0.1:0 PAYMESH_PAYMENTS_ADDR=127.0.0.1:$payments_port \
        PAYMESH_BILLING_ADDR=127.0.0.1:0 PAYMESH_EVENTS_ADDR=127.0.0.1:0 PAYMESH_WEBHOOK_ALLOW_PRIVATE=true \
        PAYMESH_RATE_LIMIT_PER_SEC=0
    local key
    key=$("$bin" partner dev --state-file "$dir/partner.json" 2> "$dir/partner.log")
    local started
    started=$(date +%s%N)
    PAYMESH_LOG_FORMAT=json nohup "$bin" all > "$dir/mesh.log" 2>&1 &
    echo $! > "$dir/pid"
    local url=http://127.0.0.1:$port
    # Polled often enough to time the start-up to a few milliseconds.
    for _ in $(seq 1 1500); do
        if curl -fsS "$url/readyz" >/dev/null 2>&1; then
            printf 'PAYMESH_URL=%s\nPAYMESH_KEY=%s\nPAYMESH_PAYMENTS_URL=%s\nPAYMESH_STARTUP_MS=%s\n' \
                "$url" "$key" "http://127.0.0.1:$payments_port" $(( ($(date +%s%N) - started) / 1000000 )) \
                > "$dir/env"
            return 0
        fi
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
        sleep 0.02
    done
    echo "scratch-mesh.sh: the mesh did not become ready; its log:" >&2
    tail -n 30 "$dir/mesh.log" >&2
    stop "$dir"
    exit 1
}

stop() {
    local dir=${1:?usage: scratch-mesh.sh stop DIR}
    if [ -f "$dir/pid" ]; then
        local pid
        pid=$(cat "$dir/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/pid"
    fi
    if [ -f "$dir/database" ]; then
        local url db
        url=$(cat "$dir/database")
        db=${url##*/}
        psql -q "${url%/*}/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
        rm -f "$dir/database"
    fi
    rm -f "$dir/env"
}

case ${1:-} in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) sed -n '2,19p' "$0" >&2; exit 2 ;;
esac
