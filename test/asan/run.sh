#!/usr/bin/env bash
#
# The whole pg_regress suite (the Makefile's REGRESS list) against gnnjit
# built with AddressSanitizer and UndefinedBehaviorSanitizer, on a private
# copy of PostgreSQL, apart from the installed one.
#
#   make asan-check              or   bash test/asan/run.sh
#
# Exits non-zero if the build or pg_regress fails, if any sanitizer report
# names gnnjit (gnnjit.so or one of its sources) anywhere in its stacks, or
# if known errors planted after the suite go unreported.  Reports that do
# not name gnnjit are listed as warnings (PostgreSQL itself, a library).
# Ends with a line "asan-check: N tests, N sanitizer reports from gnnjit,
# ...".  Takes 2 to 4 minutes on 2 cores, mostly the build and the jit,
# limits and hetero tests.
#
# Environment: PG_CONFIG (default PostgreSQL 15's), TMPDIR (where the work
# directory goes), ASAN_OPTIONS and UBSAN_OPTIONS (added after the options
# set here, e.g. ASAN_OPTIONS=quarantine_size_mb=256), ASAN_CHECK_KEEP=1
# (keep the work directory after a passing run; a failing run always keeps
# it: build log, server log, sanitizer logs, regression.diffs).
#
# How it works, in a work directory under ${TMPDIR:-/tmp}:
#   1. The checkout's files (tracked and untracked, not ignored: no objects)
#      are copied to gnnjit/ and built there by PGXS with gcc and
#      COPT="-fsanitize=address,undefined -fno-omit-frame-pointer", which
#      reaches the compile and the link, so gnnjit.so needs libasan and
#      libubsan.  The kernels' bitcode (jit/, for the JIT) is built by
#      clang as usual, not instrumented.
#   2. PostgreSQL's bindir, pkglibdir and sharedir are copied to the same
#      paths under inst/.  PostgreSQL finds its libraries and shared files
#      relative to its executable, so the copy serves $libdir and the
#      extension directory from inst/ (checked: pg_config of the copy, and
#      the gnnjit.so mapped into a backend).  The system's gnnjit files are
#      removed from the copy and "make install DESTDIR=inst" puts the
#      sanitized ones in.  Nothing outside the work directory is written.
#   3. A cluster is created with the copy's initdb (as the postgres user
#      when run as root) and started on a Unix socket in the work
#      directory only, with fsync=off as pg_virtualenv does, and with
#      LD_PRELOAD of gcc's libasan, since postgres itself is not built with
#      it, plus preload.c (why: see that file).
#   4. "make installcheck" of the copy, against that server, with the
#      copy's PG_CONFIG: the same pg_regress call, tests and working
#      directory as "pg_virtualenv -t make -s installcheck" (the tests read
#      test/fixtures and data/ by relative paths).
#   5. canary.c's two errors are run in the server: their reports must
#      show up, or reports from gnnjit could be lost unseen.  The server is
#      stopped and the reports are gathered: AddressSanitizer's from
#      log/asan.PID (one per process: a report aborts the process, and the
#      postmaster restarts the others as after any crash);
#      UndefinedBehaviorSanitizer's from the server log, its stderr.  (With
#      libasan loaded, libubsan's log_path lands in libasan's copy of the
#      runtime: UBSAN_OPTIONS carries the same log_path, or the first UBSan
#      report of a process would send AddressSanitizer's to stderr.)
#      UndefinedBehaviorSanitizer recovers: each distinct error is reported
#      once per process and the suite runs on, so one error does not hide
#      the next.  Both are looked for in every log.
#
# Options: detect_leaks=0, as the server frees memory by discarding memory
# contexts and exits without freeing.  abort_on_error=1, so that a process
# stopped by a report dies by a signal and the postmaster resets shared
# memory (a plain exit(1) would pass for a normal backend exit).
# allocator_may_return_null=1, as glibc's malloc() returns NULL where
# PostgreSQL expects it.  quarantine_size_mb=4 (default 256): freed memory
# is held back this long to catch use after free, but that much more
# resident memory breaks sql/jit.sql's check that 1000 calls leave the
# resident size flat; a larger quarantine catches more use after free and
# makes that one check fail.
#
# What this catches:
#   - out-of-bounds access to memory from malloc(): PostgreSQL's memory
#     contexts malloc() a block for each chunk larger than 8 kB (less in
#     contexts with small blocks), so an access past the end of such a
#     palloc() chunk is caught, up to the padding to 8 bytes;
#   - use of a block after its context was reset or deleted, within the
#     quarantine: blocks go back with free(), except the first block of a
#     context made with the standard sizes, which PostgreSQL keeps for the
#     next such context; and use of a large chunk after pfree();
#   - stack and global buffer overflows and use after scope in gnnjit's
#     code; out-of-bounds memcpy(), memset(), strlen() and the like on
#     malloc()ed memory from any code, PostgreSQL's included (libasan
#     intercepts them);
#   - undefined behaviour in gnnjit's code: signed overflow, bad shifts,
#     misaligned or null pointers, NULL passed to memcpy() and others
#     declared nonnull (even with length 0), out-of-bounds indexes of
#     arrays of known size, unreachable code, invalid bool and enum values;
#   - any SEGV, with a stack, also in JIT-compiled code or PostgreSQL.
# What it cannot catch:
#   - errors within a block: chunks of 8 kB or less are carved out of
#     larger blocks, so an overflow into the next chunk or the padding of a
#     power-of-2 chunk, or use of a pfree()d small chunk (it goes on a free
#     list, not to free()), goes unseen; so does anything in dynamic shared
#     memory (dsa_allocate(), the parallel workers' shared state);
#   - anything the JIT-compiled kernels do short of a SEGV: they come from
#     uninstrumented bitcode;
#   - errors in PostgreSQL's own code other than through the intercepted
#     functions: it is not instrumented;
#   - leaks, reads of uninitialised memory (MemorySanitizer or Valgrind),
#     data races, float-to-int conversions out of range and float division
#     by zero (not in -fsanitize=undefined);
#   - code the regression suite does not run: the TAP tests (test/t/:
#     cancellation, several servers) are not run here.
# Whether code in a parallel worker runs into an error can depend on how
# the work was split, which varies from run to run.  UndefinedBehavior-
# Sanitizer writes a stack frame at a time, so reports from processes
# failing at the same moment (parallel workers) can interleave in the
# server log.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
port=54329						# on a socket of our own: any port will do
sanitize=("-fsanitize=address,undefined" -fno-omit-frame-pointer)
start_time=$SECONDS

# Run as a plain script, not with the caller's make flags or job server
unset MAKEFLAGS MFLAGS MAKELEVEL
unset PGHOSTADDR PGSERVICE PGOPTIONS PGDATABASE PGDATA

die() {
	echo "asan-check: $*" >&2
	exit 1
}

# The server must not run as root: as root, run server commands as postgres
as_server() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# The superuser's name, as pg_virtualenv picks it
superuser() {
	local user=${USER:-$(id -un)}
	if [ "$user" = root ]; then echo postgres; else echo "$user"; fi
}

make_workdir() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/gnnjit-asan.XXXXXX")
	W=$(cd -P "$W" && pwd)		# PostgreSQL resolves its own path the same way
	chmod 755 "$W"
	mkdir -p "$W/log" "$W/sock" "$W/reports" "$W/data"
	chmod 700 "$W/data"
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$W/log" "$W/sock" "$W/data"
		runuser -u postgres -- test -x "$W" ||
			die "the postgres user cannot reach $W; set TMPDIR to a directory it can"
	fi
	# a Unix socket path has at most 107 bytes
	[ ${#W} -le 80 ] || die "work directory path too long for a socket: $W"
}

# Tracked and untracked files that are not ignored: sources, not objects
copy_sources() {
	mkdir "$W/gnnjit"
	(
		cd "$top"
		if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
			git ls-files -z --cached --others --exclude-standard
		else
			find . -type f ! -path './.git/*' ! -name '*.o' ! -name '*.so' ! -name '*.bc' -print0
		fi | while IFS= read -r -d '' f; do
			# skip files deleted from the working tree but still tracked
			[ -f "$f" ] && printf '%s\0' "$f"
		done | tar --null -T - -cf -
	) | tar -C "$W/gnnjit" -xf -
}

build_extension() {
	echo "== building gnnjit with ${sanitize[*]}"
	if ! make -C "$W/gnnjit" -s -j"$(nproc)" PG_CONFIG="$pg_config" COPT="${sanitize[*]}" \
		>"$W/build.log" 2>&1; then
		tail -n 50 "$W/build.log"
		die "build failed (log: $W/build.log)"
	fi
	grep -q libasan <<<"$(ldd "$W/gnnjit/gnnjit.so")" || die "gnnjit.so is not linked with libasan"
}

# Copy the installation, keeping every path relative to the executables
make_private_postgres() {
	local dir
	for dir in "$bindir" "$pkglibdir" "$sharedir"; do
		mkdir -p "$W/inst$(dirname "$dir")"
		cp -a "$dir" "$W/inst$dir"
	done
	if [ "$("$W/inst$bindir/pg_config" --pkglibdir)" != "$W/inst$pkglibdir" ] ||
		[ "$("$W/inst$bindir/pg_config" --sharedir)" != "$W/inst$sharedir" ]; then
		die "the copy of PostgreSQL under $W/inst does not find its own files"
	fi
	# the installed gnnjit, if any, must not be picked up
	rm -rf "$W/inst$pkglibdir/gnnjit.so" "$W/inst$pkglibdir/gnnjit_llvm.so" "$W/inst$pkglibdir/bitcode/gnnjit" \
		"$W/inst$pkglibdir/bitcode/gnnjit.index.bc" "$W/inst$sharedir/extension/gnnjit".*
	rm -f "$W/inst$sharedir/extension/gnnjit--"*.sql
	make -C "$W/gnnjit" -s install DESTDIR="$W/inst" PG_CONFIG="$pg_config" COPT="${sanitize[*]}" \
		>>"$W/build.log" 2>&1 || die "make install into $W/inst failed (log: $W/build.log)"
}

# preload.c for the server, canary.c as an extension library
build_helpers() {
	local cc
	cc=$("$pg_config" --cc)
	cc=${cc%% *}
	libasan=$("$cc" -print-file-name=libasan.so)
	[ -f "$libasan" ] || die "$cc has no libasan.so (install the libasan package of gcc)"
	"$cc" -shared -fPIC -O2 -Wall -o "$W/preload.so" "$here/preload.c" -ldl
	"$cc" -shared -fPIC -g -O1 -Wall "${sanitize[@]}" -I"$("$pg_config" --includedir-server)" \
		-o "$W/canary.so" "$here/canary.c"
}

start_server() {
	local user
	user=$(superuser)
	(cd "$W" && as_server "$W/inst$bindir/initdb" -D "$W/data" -U "$user" --auth=trust \
		--no-sync --no-instructions >"$W/log/initdb.log" 2>&1) ||
		{ cat "$W/log/initdb.log"; die "initdb failed"; }
	cat >>"$W/data/postgresql.conf" <<-EOF
		# asan-check: on a socket of its own, no TCP
		listen_addresses = ''
		unix_socket_directories = '$W/sock'
		port = $port
		fsync = off
	EOF
	(cd "$W" && as_server env \
		LD_PRELOAD="$libasan:$W/preload.so" \
		ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:quarantine_size_mb=4${ASAN_OPTIONS:+:$ASAN_OPTIONS}:log_path=$W/log/asan" \
		UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}:log_path=$W/log/asan" \
		"$W/inst$bindir/pg_ctl" -D "$W/data" -l "$W/log/server.log" -w -t 120 start \
		>/dev/null) || { tail -n 30 "$W/log/server.log"; die "the server did not start"; }
	export PGHOST="$W/sock" PGPORT=$port PGUSER=$user
}

stop_server() {
	[ -f "$W/data/postmaster.pid" ] || return 0
	(cd "$W" && as_server "$W/inst$bindir/pg_ctl" -D "$W/data" -w -t 120 -m "${1:-fast}" stop \
		>/dev/null) || true
}

# A backend must map the copy's sanitized gnnjit.so, and libasan
check_isolation() {
	local maps outside
	maps=$("$W/inst$bindir/psql" -X -At -d postgres <<-'EOF'
		LOAD 'gnnjit';
		SELECT pg_backend_pid() AS pid \gset
		\setenv BACKEND_PID :pid
		\! awk '{ print $6 }' /proc/$BACKEND_PID/maps | sort -u
	EOF
	) || die "could not load gnnjit into the server"
	grep -qx "$W/inst$pkglibdir/gnnjit.so" <<<"$maps" ||
		die "the server did not load $W/inst$pkglibdir/gnnjit.so"
	grep -q '/libasan\.so' <<<"$maps" || die "the server runs without libasan"
	outside=$(grep '/gnnjit\.so$' <<<"$maps" | grep -v "^$W/" || true)
	[ -z "$outside" ] || die "the server loaded $outside"
}

# make installcheck of the copy: pg_regress as pg_virtualenv runs it
run_suite() {
	echo "== pg_regress against the sanitized server (socket $PGHOST, port $PGPORT)"
	regress_status=0
	(cd "$W/gnnjit" && make -s installcheck PG_CONFIG="$W/inst$bindir/pg_config") \
		>"$W/regress.out" 2>&1 || regress_status=$?
	grep -E '\.\.\. +(ok|FAILED|failed)' "$W/regress.out" || cat "$W/regress.out"
	ntests=$(grep -cE '\.\.\. +(ok|FAILED|failed)' "$W/regress.out" || true)
	if [ "$regress_status" != 0 ]; then
		[ -f "$W/gnnjit/regression.diffs" ] && head -n 200 "$W/gnnjit/regression.diffs"
	fi
	# crashes during the suite, before the canaries' on purpose
	suite_log_lines=$(wc -l <"$W/log/server.log")
}

# After a report has aborted a process, the postmaster takes a moment to
# restart the others
wait_ready() {
	local _
	for _ in $(seq 120); do
		"$W/inst$bindir/pg_isready" -q && return 0
		sleep 1
	done
	return 1
}

# Each sanitizer's canary must be reported; the ASan one ends its backend
run_canaries() {
	wait_ready || echo "asan-check: the server does not accept connections"
	"$W/inst$bindir/psql" -X -q -d postgres >/dev/null 2>&1 <<-EOF || true
		CREATE FUNCTION pg_temp.canary_ubsan(int) RETURNS int
		  AS '$W/canary.so', 'asan_canary_signed_overflow' LANGUAGE c STRICT;
		CREATE FUNCTION pg_temp.canary_asan(int) RETURNS int
		  AS '$W/canary.so', 'asan_canary_overflow' LANGUAGE c STRICT;
		SELECT pg_temp.canary_ubsan(1);
		SELECT pg_temp.canary_asan(64);
	EOF
}

# One file per report in reports/, from every log: AddressSanitizer's run
# from "==PID==ERROR: AddressSanitizer" to "==PID==ABORTING",
# UndefinedBehaviorSanitizer's are a "runtime error" line and its stack
gather_reports() {
	local f
	for f in "$W/log"/asan.* "$W/log/server.log"; do
		[ -f "$f" ] || continue
		awk -v out="$W/reports/" -v name="${f##*/}" '
			in_ubsan && /^    #[0-9]+ / { print > (out "ubsan-" name "-" n); next }
			{ in_ubsan = 0 }
			/: runtime error: / { n++; in_ubsan = 1; print > (out "ubsan-" name "-" n); next }
			/==[0-9]+==ERROR: [A-Za-z]+Sanitizer/ { n++; in_asan = 1 }
			in_asan { print > (out "asan-" name "-" n) }
			/==[0-9]+==ABORTING/ { in_asan = 0 }
		' "$f"
	done
}

# gnnjit's: gnnjit.so, or a source file of the copy (src/x.c, jit/x.c)
is_gnnjit() {
	grep -qE 'gnnjit\.so|(^|[[:space:](/])(src|jit)/[A-Za-z0-9_]+\.[ch]:[0-9]' "$1"
}

is_canary() {
	grep -qE 'canary\.(c|so)' "$1"
}

# The line that tells reports apart: UBSan's first, ASan's SUMMARY
report_key() {
	grep -m1 -E '^SUMMARY: |: runtime error: ' "$1" || head -n 1 "$1"
}

# Print reports once per key, with how many times each was seen, up to
# the shadow memory dump (kept in the report files)
print_reports() {
	local f key
	declare -A seen=()
	for f in "$@"; do
		key=$(report_key "$f")
		seen[$key]=$((${seen[$key]:-0} + 1))
	done
	for f in "$@"; do
		key=$(report_key "$f")
		[ "${seen[$key]}" = printed ] && continue
		echo "-- seen ${seen[$key]} time(s), e.g. in ${f#"$W/"}:"
		sed '/^Shadow bytes around the buggy address/,$d' "$f"
		echo
		seen[$key]=printed
	done
}

distinct() {
	local f
	for f in "$@"; do report_key "$f"; done | sort -u | grep -c . || true
}

classify_reports() {
	local f
	gnnjit_reports=() other_reports=() canary_asan=0 canary_ubsan=0
	for f in "$W/reports"/*; do
		[ -f "$f" ] || continue
		if is_canary "$f"; then
			case ${f##*/} in
				ubsan-*) canary_ubsan=1 ;;
				*) canary_asan=1 ;;
			esac
		elif is_gnnjit "$f"; then
			gnnjit_reports+=("$f")
		else
			other_reports+=("$f")
		fi
	done
}

cleanup() {
	local status=$?
	[ -n "${W:-}" ] || return
	stop_server immediate
	if [ "$status" = 0 ] && [ -z "${ASAN_CHECK_KEEP:-}" ]; then
		rm -rf "$W"
	else
		echo "asan-check: work directory kept: $W"
	fi
}

main() {
	local failed=0 crashes
	pg_config="$("$PG_CONFIG" --bindir)/pg_config"	# the binary, not Debian's wrapper
	bindir=$("$pg_config" --bindir)
	pkglibdir=$("$pg_config" --pkglibdir)
	sharedir=$("$pg_config" --sharedir)

	W=
	trap cleanup EXIT
	make_workdir
	echo "== work directory $W"
	copy_sources
	build_extension
	build_helpers
	make_private_postgres
	start_server
	check_isolation
	run_suite
	run_canaries
	stop_server fast
	gather_reports
	classify_reports

	crashes=$(head -n "$suite_log_lines" "$W/log/server.log" |
		grep -E 'was terminated by signal|exited with exit code [^01]' || true)
	if [ -n "$crashes" ]; then
		echo "== server processes that died during the suite"
		echo "$crashes"
	fi
	if [ ${#other_reports[@]} -gt 0 ]; then
		echo "== warning: ${#other_reports[@]} sanitizer report(s) not naming gnnjit (PostgreSQL, libraries)"
		print_reports "${other_reports[@]}"
	fi
	if [ ${#gnnjit_reports[@]} -gt 0 ]; then
		echo "== ${#gnnjit_reports[@]} sanitizer report(s) from gnnjit"
		print_reports "${gnnjit_reports[@]}"
		failed=1
	fi
	if [ "$canary_asan" = 0 ] || [ "$canary_ubsan" = 0 ]; then
		echo "== a canary's report is missing (found: AddressSanitizer $canary_asan, UndefinedBehaviorSanitizer $canary_ubsan): reports are being lost"
		failed=1
	fi
	[ "$regress_status" = 0 ] || failed=1

	echo "asan-check: $ntests tests$([ "$regress_status" = 0 ] || echo " (pg_regress FAILED)")," \
		"${#gnnjit_reports[@]} sanitizer reports from gnnjit" \
		"($(distinct "${gnnjit_reports[@]}") distinct)," \
		"${#other_reports[@]} elsewhere, $(((SECONDS - start_time) / 60))m$(((SECONDS - start_time) % 60))s"
	return "$failed"
}

main "$@"
