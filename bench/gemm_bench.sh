#!/bin/sh
# Build bench/gemm_bench.c with the server's compiler flags and run it, once
# with the environment as it is and once with OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset (OpenBLAS then picks its kernels from the CPU).
# Arguments go to the benchmark: [rounds] [rows per block]
# [generic|avx2|avx512] (caps the gnn kernels' instruction set).
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
out=${TMPDIR:-/tmp}/gnnjit_gemm_bench.$$
trap 'rm -f "$out"' EXIT

CC=${CC:-gcc}

. "$top/test/pglibs.sh"

"$CC" $(pg_config --cflags) -DFRONTEND \
	-I"$top/src" -I"$(pg_config --includedir-server)" \
	"$here/gemm_bench.c" "$top/src/gemm.c" \
	$pglibs -lopenblas -lm -o "$out"

OPENBLAS_NUM_THREADS=1 "$out" "$@"
echo
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 "$out" "$@"
