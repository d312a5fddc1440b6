#!/usr/bin/env bash
# Installs what gnnjit needs from Debian's archive, then builds and installs
# the extension.  Sourced by tools/demo and test/run; safe to run again.
set -euo pipefail

GNNJIT_PACKAGES="build-essential postgresql-15 postgresql-server-dev-15 postgresql-contrib
  clang-14 llvm-14-dev libipc-run-perl"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=""
for p in $GNNJIT_PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
make -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
