#!/usr/bin/env bash
# The key material of a development machine — a key-encryption key, the
# merchant-token secret, the methods service's fingerprint key and the mesh's service
# secret — made once from the OS random source and kept in FILE (readable
# by its owner only), so that `make run` never uses the public development
# keys and data sealed on one run opens on the next. A setting missing from
# an older FILE is added; existing ones are never changed.
#
#   scripts/dev-secrets.sh FILE    create or complete FILE; print nothing
set -euo pipefail
file=${1:?usage: dev-secrets.sh FILE}
mkdir -p "$(dirname "$file")"
umask 077
[ -s "$file" ] || echo "# paymesh development secrets, made by scripts/dev-secrets.sh. Do not share." > "$file"
random() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }
ensure() {
    grep -q "^$1=" "$file" || echo "$1=$2" >> "$file"
}
ensure PAYMESH_KEKS "dev-$(date +%Y%m%d):$(random)"
ensure PAYMESH_MERCHANT_TOKEN_SECRET "$(random)"
ensure PAYMESH_FINGERPRINT_KEY "$(random)"
ensure PAYMESH_SERVICE_SECRET "$(random)"
