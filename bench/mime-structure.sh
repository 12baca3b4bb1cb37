#!/usr/bin/env bash
# bench/mime-structure.sh: walks the MIME structure of big messages with
# our reformime -i and Debian's (maildrop) /usr/bin/reformime -i, side by
# side: median time of RUNS runs each and peak RSS, for 5, 50 and 100 MB
# messages with 1,000 parts, and a 50 MB message with 250 parts (Courier's
# library stops at 300 parts, so that one is the fair comparison).
# Usage: bench/mime-structure.sh [BUILDDIR] [RUNS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/build}
runs=${2:-5}
ours="$builddir/maildrop/reformime"
theirs=/usr/bin/reformime
[ -x "$ours" ] || { echo "build $ours first (make maildrop/reformime)"; exit 2; }
[ -x "$theirs" ] || { echo "install Debian's maildrop for $theirs"; exit 2; }
[ -x /usr/bin/time ] || { echo "apt-get install time"; exit 2; }
work=$(mktemp -d /tmp/mime-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Median wall time (seconds) of $runs runs of "$1 -i < $2".
time_tool() {
	local tool=$1 msg=$2 i
	for i in $(seq "$runs"); do
		local s e
		s=$(date +%s.%N)
		"$tool" -i < "$msg" > /dev/null
		e=$(date +%s.%N)
		echo "$e - $s" | bc -l
	done | median
}

peak_kb() {
	/usr/bin/time -v "$1" -i < "$2" 2>&1 >/dev/null |
		awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}'
}

printf '%-16s %10s %10s %8s %12s %12s\n' message ours_s courier_s ratio ours_rss_kb courier_rss_kb
for spec in 5:1000 50:1000 100:1000 50:250; do
	mb=${spec%%:*}; parts=${spec##*:}
	msg="$work/msg-${mb}M-${parts}p.eml"
	python3 "$top/bench/gen-mime-message.py" "$mb" "$parts" "$msg"
	cat "$msg" > /dev/null	# warm the page cache for both
	# Alternate the tools so neither gets a warmer machine.
	t_ours=$(time_tool "$ours" "$msg")
	t_theirs=$(time_tool "$theirs" "$msg")
	r_ours=$(peak_kb "$ours" "$msg")
	r_theirs=$(peak_kb "$theirs" "$msg")
	ratio=$(echo "scale=2; $t_theirs / $t_ours" | bc -l)
	printf '%-16s %10.4f %10.4f %7sx %12s %12s\n' "${mb}MB/${parts}p" \
		"$t_ours" "$t_theirs" "$ratio" "$r_ours" "$r_theirs"
done
echo "ratio = courier time / our time (higher is better for us); RSS in KiB"
