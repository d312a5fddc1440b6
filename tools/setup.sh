#!/usr/bin/env bash
# Installs what gnnjit needs from Debian's archive, then builds and installs
# the extension.  Sourced by tools/demo and test/run; safe to run again.
set -euo pipefail

GNNJIT_PACKAGES="build-essential postgresql-15 postgresql-server-dev-15 postgresql-contrib
  clang-14 llvm-14-dev libipc-run-perl"

# shellcheck source=tools/packages.sh
. "$(dirname "${BASH_SOURCE[0]}")/packages.sh"
# shellcheck disable=SC2086
ensure_packages $GNNJIT_PACKAGES

export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
make -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
