# shellcheck shell=bash
# Shared memory in huge pages for a benchmark's throwaway cluster.
#
#   . bench/hugepages.sh
#   reserve_huge_pages SHARED_MB      # sets HUGE_PAGES to on or try
#   pg_virtualenv -t -o huge_pages=$HUGE_PAGES ... || status=$?
#   release_huge_pages
#
# Reserves 2 MB pages for SHARED_MB of PostgreSQL shared memory (shared
# buffers plus min_dynamic_shared_memory, which the parallel GnnScan's
# graph and layer buffers come from); release_huge_pages undoes it.
# Without root, or with GNN_BENCH_HUGE_PAGES=0, nothing is reserved and
# HUGE_PAGES is try.
#
# Why: a process's first touch of a 4 kB page of shared memory costs a
# fault, and every new session and parallel worker touches the shared
# buffers and the graph anew; on the virtual machine measured, a first
# write to 1 GB in 4 kB pages took 1.2 s, in 2 MB pages 0.07 s.  Huge
# pages are PostgreSQL's own advice for large shared memory.
HUGE_PAGES=try
HUGE_PAGES_OLD=

reserve_huge_pages() {
	local need=$(($1 / 2 + 128))
	local sysctl=/proc/sys/vm/nr_hugepages

	if [ "${GNN_BENCH_HUGE_PAGES:-1}" = 1 ] && [ -w "$sysctl" ]; then
		HUGE_PAGES_OLD=$(cat "$sysctl")
		[ "$HUGE_PAGES_OLD" -ge "$need" ] || echo "$need" > "$sysctl"
		if [ "$(cat "$sysctl")" -ge "$need" ]; then
			HUGE_PAGES=on
			echo "huge pages: $need reserved for $1 MB of shared memory"
			return
		fi
		release_huge_pages
	fi
	echo "huge pages: none reserved (needs root); huge_pages = try"
}

release_huge_pages() {
	if [ -n "$HUGE_PAGES_OLD" ]; then
		echo "$HUGE_PAGES_OLD" > /proc/sys/vm/nr_hugepages
		HUGE_PAGES_OLD=
	fi
}
