# bench/lib.sh: helpers for the benchmark scripts (sourced by bash).
#
#   bench_init NAME               starts a benchmark: a scratch folder
#                                 $BENCH_TMP (removed at exit), a header line
#   bench_require_peer PROG PKG   makes sure the peer PROG is there (installs
#                                 Debian package PKG if missing and we are
#                                 root); exits 2 with a message otherwise
#   bench_time_median N CMD...    runs CMD N times (output discarded), prints
#                                 the median wall time in seconds; fails if
#                                 any run fails.  With BENCH_INPUT=FILE each
#                                 run reads FILE as its standard input
#   bench_peak_rss CMD...         runs CMD once, prints its peak resident
#                                 memory (max RSS) in KiB (BENCH_INPUT too)
#   bench_ratio LABEL OURS PEER UNIT PEERNAME
#                                 prints "LABEL: ours X UNIT / PEERNAME Y UNIT
#                                 = R" (R = OURS / PEER, 2 decimals)
#   bench_suite_bin NAME          path of the suite's program NAME (from
#                                 $BENCH_PREFIX, ./run, or build folders)
#
# Figures use a dot as decimal separator whatever the locale.

export LC_ALL=C

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_init() {
	BENCH_NAME=$1
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-$1.XXXXXX")
	trap 'rm -rf "$BENCH_TMP"' EXIT
	printf '== %s (%s, %s CPUs) ==\n' "$1" "$(date -u '+%F %T UTC')" \
		"$(nproc 2>/dev/null || echo '?')"
}

bench_require_peer() {
	local prog=$1 pkg=$2
	command -v "$prog" >/dev/null 2>&1 && return 0
	if [ -f "$BENCH_TOP/scripts/deps.sh" ]; then
		# shellcheck source=../scripts/deps.sh
		. "$BENCH_TOP/scripts/deps.sh"
		deps_install_missing "$pkg" >&2 || true
	fi
	command -v "$prog" >/dev/null 2>&1 && return 0
	echo "bench: the peer $prog (Debian package $pkg) is not available" >&2
	exit 2
}

bench_suite_bin() {
	local name=$1 d
	for d in ${BENCH_PREFIX:+"$BENCH_PREFIX/bin" "$BENCH_PREFIX/sbin"} \
		"$BENCH_TOP/run/bin" "$BENCH_TOP/run/sbin" \
		"$BENCH_TOP"/build*/ "$BENCH_TOP"/build*/*/; do
		if [ -x "$d/$name" ] && [ -f "$d/$name" ]; then
			echo "${d%/}/$name"
			return 0
		fi
	done
	echo "bench: $name is not built (set BENCH_PREFIX or run ./run.sh)" >&2
	return 1
}

# _bench_now: seconds since the epoch with microseconds.
_bench_now() {
	printf '%s' "${EPOCHREALTIME/,/.}"
}

bench_time_median() {
	local n=$1 i t0 t1
	shift
	[ "$n" -ge 1 ] || { echo "bench: N must be >= 1" >&2; return 1; }
	local times=()
	for ((i = 0; i < n; i++)); do
		t0=$(_bench_now)
		"$@" <"${BENCH_INPUT:-/dev/stdin}" >/dev/null 2>&1 || {
			echo "bench: command failed: $*" >&2
			return 1
		}
		t1=$(_bench_now)
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
	done
	printf '%s\n' "${times[@]}" | bench_median
}

# bench_median [FORMAT]: the median of the numbers on standard input, one
# a line, printed with FORMAT (default %.6f).
bench_median() {
	sort -g | awk -v f="${1:-%.6f}" '
		{ v[NR] = $1 }
		END {
			if (NR % 2) m = v[(NR + 1) / 2]
			else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf f "\n", m
		}'
}

bench_peak_rss() {
	local out rc
	out=$BENCH_TMP/rss.$$
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%M' -o "$out" "$@" \
			<"${BENCH_INPUT:-/dev/stdin}" >/dev/null 2>&1
		rc=$?
	else
		python3 -c '
import resource, subprocess, sys
r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
open(sys.argv[1], "w").write("%d\n" %
    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r.returncode)' "$out" "$@" <"${BENCH_INPUT:-/dev/stdin}"
		rc=$?
	fi
	if [ "$rc" -ne 0 ]; then
		echo "bench: command failed: $*" >&2
		return 1
	fi
	tail -n1 "$out"
	rm -f "$out"
}

bench_ratio() {
	local label=$1 ours=$2 peer=$3 unit=$4 peername=$5
	awk -v l="$label" -v o="$ours" -v p="$peer" -v u="$unit" -v n="$peername" '
		BEGIN {
			if (p + 0 == 0) r = "inf"; else r = sprintf("%.2f", o / p)
			printf "%s: ours %s %s / %s %s %s = %s\n", l, o, u, n, p, u, r
		}'
}
