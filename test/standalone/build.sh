#!/bin/sh
#
# Build the parser, lowering and fast-math checks as frontend programs
# against libpgcommon and libpgport, then run them.
#
#   test/standalone/build.sh [--no-run]
#
# Ends with the total "N passed, N failed" of both programs and exits
# non-zero if any check failed.  CC, CFLAGS and PG_CONFIG may be
# overridden, e.g. to run the checks under the sanitizers:
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

. "$top/test/pglibs.sh"

mkdir -p "$out"

build()						# build PROGRAM SOURCE...
{
	prog=$1
	shift
	# shellcheck disable=SC2086
	$CC $CFLAGS -DFRONTEND -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
		-Wno-missing-field-initializers -Wdeclaration-after-statement \
		-Wno-ignored-attributes \
		-I"$top/src" -I"$incserver" -I"$incdir" \
		-o "$out/$prog" "$here/$prog.c" "$@" $pglibs -lm
}

parsers="$top/src/gnnerror.c $top/src/json.c $top/src/safetensors.c"
# shellcheck disable=SC2086
build test_parsers $parsers
# shellcheck disable=SC2086
build test_lower $parsers "$top/src/lower.c" "$top/src/userprog.c" "$top/src/hetero.c" "$top/src/program.c"
build test_fastmath

if [ "${1:-}" = "--no-run" ]; then
	exit 0
fi

passed=0
failed=0
status=0
for prog in test_parsers test_lower test_fastmath; do
	if [ "$prog" = test_lower ]; then
		set -- "$top/test/fixtures"
	else
		set --
	fi
	rc=0
	"$out/$prog" "$@" >"$out/$prog.out" 2>&1 || rc=$?
	cat "$out/$prog.out"
	summary=$(tail -n 1 "$out/$prog.out")
	p=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		# it did not get to its summary: count the crash as a failure
		echo "$prog exited with status $rc before its summary"
		p=0
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$rc" -eq 0 ] || status=1
done

echo "$passed passed, $failed failed"
exit $status
