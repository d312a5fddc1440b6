#!/bin/sh
#
# Build the parser checks as a frontend program against libpgcommon and
# libpgport, then run them.
#
#   test/standalone/build.sh [--no-run]
#
# CC, CFLAGS and PG_CONFIG may be overridden, e.g. to run the checks under
# the sanitizers:
#   CC=clang-14 CFLAGS="-g -fsanitize=address,undefined" \
#   ASAN_OPTIONS=detect_leaks=0 test/standalone/build.sh
# (frontend palloc never frees, so leak detection does not apply here; the
# fuzzing harnesses in test/fuzz check for leaks).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out="$here/build"

PG_CONFIG=${PG_CONFIG:-pg_config}
CC=${CC:-gcc}
CFLAGS=${CFLAGS:--g -O2}

incdir=$("$PG_CONFIG" --includedir)
incserver=$("$PG_CONFIG" --includedir-server)

# Debian and some others keep the static libraries in pkglibdir.
pglibs=
for dir in "$("$PG_CONFIG" --libdir)" "$("$PG_CONFIG" --pkglibdir)"; do
	if [ -f "$dir/libpgcommon.a" ] && [ -f "$dir/libpgport.a" ]; then
		pglibs="$dir/libpgcommon.a $dir/libpgport.a"
		break
	fi
done
if [ -z "$pglibs" ]; then
	echo "libpgcommon.a and libpgport.a not found under $PG_CONFIG --libdir or --pkglibdir" >&2
	exit 1
fi

mkdir -p "$out"
# shellcheck disable=SC2086
$CC $CFLAGS -DFRONTEND -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -Wdeclaration-after-statement \
	-Wno-ignored-attributes \
	-I"$top/src" -I"$incserver" -I"$incdir" \
	-o "$out/test_parsers" \
	"$here/test_parsers.c" "$top/src/gnnerror.c" "$top/src/json.c" \
	"$top/src/safetensors.c" \
	$pglibs -lm

if [ "${1:-}" != "--no-run" ]; then
	exec "$out/test_parsers"
fi
