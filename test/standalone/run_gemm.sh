#!/bin/sh
# Build and run the standalone test of src/gemm.c against a float64
# reference.  Built with the server's own flags (baseline x86-64, -O2), so
# the run-time choice of kernels is what is tested.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${TMPDIR:-/tmp}/gnnjit_test_gemm.$$
trap 'rm -f "$out"' EXIT

CC=${CC:-gcc}

. "$top/test/pglibs.sh"

"$CC" $(pg_config --cflags) -DFRONTEND -DUSE_ASSERT_CHECKING -Werror \
	-I"$top/src" -I"$(pg_config --includedir-server)" \
	"$here/test_gemm.c" "$top/src/gemm.c" \
	$pglibs -lm -o "$out"
"$out"
