#!/bin/sh
#
# Build the libFuzzer harnesses and run each for a while.
#
#   test/fuzz/run.sh [seconds] [harness ...]
#
# seconds defaults to 60 per harness; harnesses default to all of them.
# Inputs found to add coverage are kept in test/fuzz/build/corpus/<harness>,
# crashes in test/fuzz/build/artifacts.  The mutations follow FUZZ_SEED
# (default 1, so that a run is repeatable; 0 picks a random seed).  Exits
# non-zero if any harness crashes, leaks, or trips a sanitizer.  CC and
# PG_CONFIG may be overridden; FUZZ_ARGS adds libFuzzer options, e.g.
# FUZZ_ARGS=-max_len=65536.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out="$here/build"

secs=${1:-60}
[ $# -gt 0 ] && shift
harnesses=${*:-"fuzz_json fuzz_safetensors fuzz_spec"}

PG_CONFIG=${PG_CONFIG:-pg_config}
CC=${CC:-clang-14}

incdir=$("$PG_CONFIG" --includedir)
incserver=$("$PG_CONFIG" --includedir-server)

. "$top/test/pglibs.sh"

# -Wno-ignored-attributes: PostgreSQL's headers use gnu_printf, which clang
# does not know.
cflags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=all -DFRONTEND -Wall -Wno-ignored-attributes
	-I$here -I$top/src -I$incserver -I$incdir"

mkdir -p "$out/artifacts"
status=0

# fuzz_spec reads the weights it lowers specs against from here
GNN_FUZZ_FIXTURES=${GNN_FUZZ_FIXTURES:-$top/test/fixtures}
export GNN_FUZZ_FIXTURES

for h in $harnesses; do
	srcs="$top/src/gnnerror.c $top/src/json.c $top/src/safetensors.c"
	case $h in
		fuzz_json) dict="$here/json.dict" ;;
		fuzz_safetensors) dict="$here/safetensors.dict" ;;
		fuzz_spec)
			dict="$here/spec.dict"
			srcs="$srcs $top/src/lower.c $top/src/userprog.c $top/src/hetero.c $top/src/program.c $top/src/kernels.c"
			srcs="$srcs $out/gemm.o"
			;;
		*) echo "unknown harness $h" >&2; exit 2 ;;
	esac

	echo "== $h: building"
	# fuzz_spec runs the programs it lowers, so it needs the GEMM kernels.
	# They are not what is fuzzed, and UBSan and coverage instrumentation of
	# their SIMD code take minutes to compile: AddressSanitizer alone still
	# checks every row they touch.
	# shellcheck disable=SC2086
	if [ "$h" = fuzz_spec ] &&
		! $CC -g -O1 -fno-omit-frame-pointer -fsanitize=address -DFRONTEND \
			-Wall -Wno-ignored-attributes -I$incserver -I$incdir \
			-c -o "$out/gemm.o" "$top/src/gemm.c"; then
		echo "== $h: build failed"
		status=1
		continue
	fi
	# shellcheck disable=SC2086
	if ! $CC $cflags -o "$out/$h" "$here/$h.c" "$here/fuzz_alloc.c" \
		$srcs $pglibs -lm; then
		echo "== $h: build failed"
		status=1
		continue
	fi

	echo "== $h: fuzzing for ${secs}s"
	mkdir -p "$out/corpus/$h"
	log="$out/$h.log"
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
		"$out/$h" -max_total_time="$secs" -print_final_stats=1 \
		-seed="${FUZZ_SEED:-1}" \
		-timeout=10 -dict="$dict" ${FUZZ_ARGS:-} \
		-artifact_prefix="$out/artifacts/$h-" \
		"$out/corpus/$h" "$here/corpus/$h" >"$log" 2>&1
	rc=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	echo "== $h: ${execs:-?} executions, coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?} inputs"

	if [ $rc -ne 0 ]; then
		echo "== $h: FAILED (exit $rc); log: $log"
		grep -E 'ERROR|SUMMARY|invariant|runtime error|leak' "$log" | head -n 20
		status=1
	fi
done

exit $status
