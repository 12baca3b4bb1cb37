#!/usr/bin/env bash
# bench/maildrop-filter.sh: N messages (default 10,000) through a 50-rule
# filter file into maildir folders, one maildrop process per message as an
# MTA runs it, with our maildrop and Debian's /usr/bin/maildrop side by side
# in the same run.  Two drivers run each message: bench/spawn-each.c (fork
# and exec, stdin the message, wait: what an MTA's delivery agent does)
# and a shell loop (the shell's own fork per message weighs on both).
# Debian's runs twice: as shipped (`debian`: it fsyncs the message file
# but not the folder it links it into, so a crash can lose a message it
# said it delivered) and into a maildir under a dirsync folder
# (`debian-dirsync`: chattr +D, every create, link and unlink written
# synchronously, so that its link into new/ is on disk before it exits,
# as ours is with its fsync of new/; the same treatment
# bench/postfix-instance.sh gives Postfix).
# Prints messages/s for each and the speed ratios (ours / Debian's as
# shipped, and ours / debian-dirsync; the goal is 3 or more) per driver,
# the time per message each takes beyond the driver (/bin/true measured
# in the same run), the load average, and checks that all three put the
# same number of messages in each folder.
# Usage: bench/maildrop-filter.sh [N]   (BENCH_PREFIX=/path picks our build)
set -eu
. "$(dirname "$0")/lib.sh"
N=${1:-10000}
bench_init maildrop-filter
bench_require_peer /usr/bin/maildrop maildrop
OURS=$(bench_suite_bin maildrop)

# 200 varied messages, cycled: the differential tests' corpus, committed
# (gen.py writes it again only when it is missing: it removes the folder
# first, which a test run at the same time would trip over)
[ -e "$BENCH_TOP/tests/integration/maildrop-corpus/messages/m199.eml" ] ||
	python3 "$BENCH_TOP/tests/integration/maildrop-corpus/gen.py" >/dev/null
MSGS=("$BENCH_TOP"/tests/integration/maildrop-corpus/messages/*.eml)
printf '%s\n' "${MSGS[@]}" > "$BENCH_TMP/messages.list"
SPAWN=$BENCH_TMP/spawn-each
cc -O2 -o "$SPAWN" "$BENCH_TOP/bench/spawn-each.c"

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
# spawn_chunk BIN HOME FIRST COUNT: the same through spawn-each
spawn_chunk() {
	(cd "$2" && "$SPAWN" "$BENCH_TMP/messages.list" "$3" "$4" "$1" \
		"$FILTER") || { echo "bench: $1 failed" >&2; exit 1; }
}
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a + b }'; }

# Ours, Debian's (as shipped and dirsync) and the driver alone (/bin/true
# in place of maildrop: the fork and exec, which all pay alike) take
# turns by chunks of 500 messages, with each driver, so that a load that
# comes and goes on the machine weighs on all alike.
for d in ours peer ours-sh peer-sh; do prepare "$BENCH_TMP/$d"; done
for d in peerds peerds-sh; do
	mkdir -p "$BENCH_TMP/$d"
	chattr +D "$BENCH_TMP/$d" || {
		echo "bench: chattr +D $BENCH_TMP/$d failed (the file system" \
			"has no dirsync attribute?)" >&2
		exit 2
	}
	prepare "$BENCH_TMP/$d"
	lsattr -d "$BENCH_TMP/$d/Maildir/new" | grep -q '^[^ ]*D' || {
		echo "bench: $BENCH_TMP/$d/Maildir/new is not dirsync" >&2
		exit 2
	}
done
mkdir -p "$BENCH_TMP/loop"
echo "ours: $OURS ($(ldd "$OURS" | grep -c '=>') shared libraries)"
echo "debian: /usr/bin/maildrop ($(ldd /usr/bin/maildrop | grep -c '=>') shared libraries)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_ours=0 t_peer=0 t_peerds=0 t_loop=0 s_ours=0 s_peer=0 s_peerds=0 s_loop=0
CHUNK=500
for ((first = 0; first < N; first += CHUNK)); do
	count=$((N - first < CHUNK ? N - first : CHUNK))
	t_ours=$(add "$t_ours" "$(spawn_chunk "$OURS" "$BENCH_TMP/ours" $first $count)")
	t_peer=$(add "$t_peer" "$(spawn_chunk /usr/bin/maildrop "$BENCH_TMP/peer" $first $count)")
	t_peerds=$(add "$t_peerds" "$(spawn_chunk /usr/bin/maildrop "$BENCH_TMP/peerds" $first $count)")
	t_loop=$(add "$t_loop" "$(spawn_chunk /bin/true "$BENCH_TMP/loop" $first $count)")
	s_ours=$(add "$s_ours" "$(run_chunk "$OURS" "$BENCH_TMP/ours-sh" $first $count)")
	s_peer=$(add "$s_peer" "$(run_chunk /usr/bin/maildrop "$BENCH_TMP/peer-sh" $first $count)")
	s_peerds=$(add "$s_peerds" "$(run_chunk /usr/bin/maildrop "$BENCH_TMP/peerds-sh" $first $count)")
	s_loop=$(add "$s_loop" "$(run_chunk /bin/true "$BENCH_TMP/loop" $first $count)")
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
for pair in "ours peer" "ours peerds" "ours-sh peer-sh" "ours-sh peerds-sh"; do
	set -- $pair
	for d in Maildir Maildir/.Spam Maildir/.Lists; do
		a=$(ls "$BENCH_TMP/$1/$d/new" | wc -l)
		b=$(ls "$BENCH_TMP/$2/$d/new" | wc -l)
		printf '%-16s %-8s %6d  %-8s %6d\n' "$d" "$1" "$a" "$2" "$b"
		[ "$a" = "$b" ] || { echo "bench: deliveries differ" >&2; exit 1; }
	done
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
echo "load average: $load_start at the start, $load_end at the end"
# report DRIVER OURS PEER PEERDS LOOP: rates, the ratios (to Debian's as
# shipped and to Debian's on a dirsync folder), and the time beyond the
# driver's own fork and exec
report() {
	local r_ours r_peer r_peerds
	r_ours=$(awk -v n="$N" -v t="$2" 'BEGIN { printf "%.0f", n / t }')
	r_peer=$(awk -v n="$N" -v t="$3" 'BEGIN { printf "%.0f", n / t }')
	r_peerds=$(awk -v n="$N" -v t="$4" 'BEGIN { printf "%.0f", n / t }')
	printf '%s: %d messages, 50+2 rules; ours %.2f s, debian %.2f s, debian-dirsync %.2f s, driver alone %.2f s\n' \
		"$1" "$N" "$2" "$3" "$4" "$5"
	bench_ratio "maildrop filter speed ($1)" "$r_ours" "$r_peer" msg/s \
		"debian-maildrop"
	bench_ratio "maildrop filter speed ($1, durable)" "$r_ours" \
		"$r_peerds" msg/s "debian-dirsync"
	awk -v n="$N" -v o="$2" -v p="$3" -v q="$4" -v l="$5" -v d="$1" 'BEGIN {
		mo = (o - l) * 1000 / n; mp = (p - l) * 1000 / n
		mq = (q - l) * 1000 / n
		r = "inf"; rq = "inf"
		if (mo > 0) {
			r = sprintf("%.2f", mp / mo)
			rq = sprintf("%.2f", mq / mo)
		}
		printf "%s: per message beyond the driver (%.3f ms): ours %.3f ms / debian-maildrop %.3f ms = %s, debian-dirsync %.3f ms = %s\n",
			d, l * 1000 / n, mo, mp, r, mq, rq }'
}
report "fork+exec driver" "$t_ours" "$t_peer" "$t_peerds" "$t_loop"
report "shell loop" "$s_ours" "$s_peer" "$s_peerds" "$s_loop"
