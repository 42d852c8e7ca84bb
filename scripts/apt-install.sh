#!/usr/bin/env bash
# Installs Debian packages without questions: as root directly, otherwise
# with sudo (which keeps the non-interactive setting). Refreshes the package
# lists only when the first attempt fails.
#
#   scripts/apt-install.sh PACKAGE...
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
command -v apt-get >/dev/null || { echo "apt-install.sh: no apt-get here; install $* yourself" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
  run() { env DEBIAN_FRONTEND=noninteractive "$@"; }
elif command -v sudo >/dev/null; then
  run() { sudo env DEBIAN_FRONTEND=noninteractive "$@"; }
else
  echo "apt-install.sh: need root (or sudo) to install $*" >&2
  exit 1
fi

echo "apt-install.sh: installing $*" >&2
run apt-get install -y --no-install-recommends "$@" >&2 ||
  { run apt-get update >&2 && run apt-get install -y --no-install-recommends "$@" >&2; }
