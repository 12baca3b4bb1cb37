#!/usr/bin/env bash
# bench/maildrop-filter.sh: N messages (default 10,000) through a 50-rule
# filter file into maildir folders, one maildrop process per message as an
# MTA runs it, with our maildrop and Debian's /usr/bin/maildrop side by side
# in the same run.  Prints messages/s for each and the speed ratio
# (ours / Debian's; the goal is 3 or more), the time per message each
# takes beyond the loop that runs it (/bin/true measured in the same run),
# the load average, and checks that both put the same number of messages
# in each folder.
# Usage: bench/maildrop-filter.sh [N]   (BENCH_PREFIX=/path picks our build)
set -eu
. "$(dirname "$0")/lib.sh"
N=${1:-10000}
bench_init maildrop-filter
bench_require_peer /usr/bin/maildrop maildrop
OURS=$(bench_suite_bin maildrop)

# 200 varied messages, cycled
python3 "$BENCH_TOP/tests/integration/maildrop-corpus/gen.py" >/dev/null
MSGS=("$BENCH_TOP"/tests/integration/maildrop-corpus/messages/*.eml)

FILTER=$BENCH_TMP/filter
{
	echo 'DEFAULT="./Maildir"'
	words=(money offer meeting agenda invoice report unsubscribe click
	       pills password photos digest thread weekly secret lazy)
	for i in $(seq 1 50); do
		w=${words[$((i % ${#words[@]}))]}
		case $((i % 5)) in
		0) cond="/^Subject:.*$w$i/" ;;
		1) cond="/$w$i/:b" ;;
		2) cond="/^(From|To|Cc):.*user$i@/" ;;
		3) cond="/^X-Spam-Score: $i\\./ || /^List-Id: .*list$i/" ;;
		4) cond="/$w.*$i/:hb,1,2 > 3" ;;
		esac
		printf 'if (%s)\n{\n  to "Maildir/.F%d/"\n}\n' "$cond" $((i % 10))
	done
	# a few rules that do match, at the end (all 50 were evaluated)
	echo 'if (/^Subject: .*(pills|BUY)/)'
	echo '{'
	echo '  to "Maildir/.Spam/"'
	echo '}'
	echo 'if (/^List-Id:/)'
	echo '{'
	echo '  to "Maildir/.Lists/"'
	echo '}'
} > "$FILTER"
chmod 600 "$FILTER"

# prepare HOME: the maildir folders the filter delivers to
prepare() {
	local d
	for d in "" .Spam .Lists .F0 .F1 .F2 .F3 .F4 .F5 .F6 .F7 .F8 .F9; do
		mkdir -p "$1/Maildir/$d"/{tmp,new,cur}
	done
}

# run_chunk BIN HOME FIRST COUNT: messages FIRST.. FIRST+COUNT-1, one
# process each; prints the wall time in seconds
run_chunk() {
	local bin=$1 home=$2 i=$3 end=$(($3 + $4)) start stop
	cd "$home"
	start=$(_bench_now)
	while [ $i -lt $end ]; do
		"$bin" "$FILTER" < "${MSGS[$((i % ${#MSGS[@]}))]}" || {
			echo "bench: $bin failed on message $i" >&2; exit 1; }
		i=$((i + 1))
	done
	stop=$(_bench_now)
	cd - >/dev/null
	awk -v s="$start" -v e="$stop" 'BEGIN { printf "%.6f\n", e - s }'
}

# Ours, Debian's and the loop alone (/bin/true in place of maildrop: the
# shell's fork and exec, which both pay alike) take turns by chunks of
# 500 messages, so that a load that comes and goes on the machine weighs
# on all three alike.
prepare "$BENCH_TMP/ours"
prepare "$BENCH_TMP/peer"
mkdir -p "$BENCH_TMP/loop"
echo "ours: $OURS ($(ldd "$OURS" | grep -c '=>') shared libraries)"
echo "debian: /usr/bin/maildrop ($(ldd /usr/bin/maildrop | grep -c '=>') shared libraries)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_ours=0
t_peer=0
t_loop=0
CHUNK=500
for ((first = 0; first < N; first += CHUNK)); do
	count=$((N - first < CHUNK ? N - first : CHUNK))
	t=$(run_chunk "$OURS" "$BENCH_TMP/ours" $first $count)
	t_ours=$(awk -v a="$t_ours" -v b="$t" 'BEGIN { printf "%.6f", a + b }')
	t=$(run_chunk /usr/bin/maildrop "$BENCH_TMP/peer" $first $count)
	t_peer=$(awk -v a="$t_peer" -v b="$t" 'BEGIN { printf "%.6f", a + b }')
	t=$(run_chunk /bin/true "$BENCH_TMP/loop" $first $count)
	t_loop=$(awk -v a="$t_loop" -v b="$t" 'BEGIN { printf "%.6f", a + b }')
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
for d in Maildir Maildir/.Spam Maildir/.Lists; do
	a=$(ls "$BENCH_TMP/ours/$d/new" | wc -l)
	b=$(ls "$BENCH_TMP/peer/$d/new" | wc -l)
	printf '%-16s ours %6d  debian %6d\n' "$d" "$a" "$b"
	[ "$a" = "$b" ] || { echo "bench: deliveries differ" >&2; exit 1; }
done
# what one delivery asks of the kernel (strace -c), when strace is there
if command -v strace >/dev/null 2>&1; then
	for who in ours peer; do
		bin=$OURS
		[ $who = peer ] && bin=/usr/bin/maildrop
		(cd "$BENCH_TMP/$who" &&
		 strace -f -c -o "$BENCH_TMP/strace.$who" "$bin" "$FILTER" \
			< "${MSGS[0]}") || true
		awk -v who="$who" '$NF == "total" { calls = $4 }
			$NF == "fsync" { f = $4 }
			END { printf "syscalls per delivery: %s %d (fsync %d)\n",
			      who, calls, f }' "$BENCH_TMP/strace.$who"
	done
fi
r_ours=$(awk -v n="$N" -v t="$t_ours" 'BEGIN { printf "%.0f", n / t }')
r_peer=$(awk -v n="$N" -v t="$t_peer" 'BEGIN { printf "%.0f", n / t }')
printf 'messages: %d, 50+2 rules; ours %.2f s, debian %.2f s, loop alone %.2f s\n' \
	"$N" "$t_ours" "$t_peer" "$t_loop"
echo "load average: $load_start at the start, $load_end at the end"
bench_ratio "maildrop filter speed" "$r_ours" "$r_peer" msg/s "debian-maildrop"
# what maildrop itself takes, beyond the loop's fork and exec
awk -v n="$N" -v o="$t_ours" -v p="$t_peer" -v l="$t_loop" 'BEGIN {
	mo = (o - l) * 1000 / n; mp = (p - l) * 1000 / n
	r = "inf"
	if (mo > 0)
		r = sprintf("%.2f", mp / mo)
	printf "per message beyond the loop (%.3f ms): ours %.3f ms / debian-maildrop %.3f ms = %s\n",
		l * 1000 / n, mo, mp, r }'
