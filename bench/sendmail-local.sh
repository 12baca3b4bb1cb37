#!/usr/bin/env bash
# bench/sendmail-local.sh: messages per second from sendmail to Maildir.
#
#   bash bench/sendmail-local.sh [MESSAGES] [ACCOUNTS] [SENDERS]
#
# Makes a throw-away instance with ACCOUNTS (default 100) virtual accounts,
# starts authdaemond and courierd, and submits MESSAGES (default 10000)
# messages of 4 KB with our sendmail, SENDERS (default 4) at a time, each
# to one account in turn.  Prints the submission rate, the end-to-end rate
# (first submit to last message in its Maildir), the delivery rate alone
# (BENCH_DRAIN messages queued with courierd stopped, then drained) and
# the fsync/fdatasync calls per message (counted with strace over a
# sample of 50 messages).
# Every message is fsynced (data, control file, queue folder) before
# sendmail returns, and again in the Maildir before it leaves the queue.
#
# The peer named by the issue is Postfix's sendmail to its local delivery;
# it is not measured by this script yet (no private Postfix instance is
# set up here): the figure printed is ours alone.
set -eu
. "$(dirname "$0")/lib.sh"

messages=${1:-10000}
accounts=${2:-100}
senders=${3:-4}

bench_init sendmail-local
setup=$(bench_suite_bin courier-setup)
sendmail=$(bench_suite_bin sendmail)
courierd=$(bench_suite_bin courierd)
authdaemond=$(bench_suite_bin authdaemond)
root=$BENCH_TMP/instance
chmod 755 "$BENCH_TMP"
user_args=()
[ "$(id -u)" = 0 ] && user_args=(--user nobody)
COURIER_INSTANCE=$root "$setup" --instance "$root" --domain bench.test \
	--account u0 --password benchpass --ports-base 39000 \
	"${user_args[@]}" >/dev/null
export COURIER_INSTANCE=$root

# More accounts: copies of u0's userdb line, each with its Maildir.
line=$(grep -P '^u0@bench.test\t' "$root/etc/userdb")
owner=$(stat -c %u:%g "$root/var/vmail/bench.test/u0")
for i in $(seq 1 $((accounts - 1))); do
	home=$root/var/vmail/bench.test/u$i
	mkdir -p "$home/Maildir/tmp" "$home/Maildir/new" "$home/Maildir/cur"
	chown -R "$owner" "$home"
	chmod -R go-rwx "$home"
	printf '%s\n' "$line" | sed "s#u0#u$i#g" >>"$root/etc/userdb"
done

"$authdaemond" >"$BENCH_TMP/authdaemond.log" 2>&1 &
apid=$!
sleep 1
"$courierd" >"$BENCH_TMP/courierd.log" 2>&1 &
cpid=$!
trap 'kill $cpid $apid 2>/dev/null; wait 2>/dev/null; rm -rf "$BENCH_TMP"' EXIT
sleep 0.5

# A 4 KB message.
{
	printf 'From: bench@bench.test\nSubject: bench\n\n'
	head -c 3000 /dev/urandom | base64 -w 76
} >"$BENCH_TMP/msg"
size=$(stat -c %s "$BENCH_TMP/msg")

delivered() {
	find "$root/var/vmail/bench.test" -path '*/new/*' -type f | wc -l
}

send_range() { # FIRST LAST
	local i
	for i in $(seq "$1" "$2"); do
		"$sendmail" -f bench@bench.test "u$((i % accounts))@bench.test" \
			<"$BENCH_TMP/msg" || exit 1
	done
}

start=$(date +%s.%N)
per=$(( (messages + senders - 1) / senders ))
pids=()
for s in $(seq 0 $((senders - 1))); do
	first=$((s * per)); last=$(( (s + 1) * per - 1 ))
	[ "$last" -ge "$messages" ] && last=$((messages - 1))
	[ "$first" -gt "$last" ] && continue
	send_range "$first" "$last" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
submitted=$(date +%s.%N)
while [ "$(delivered)" -lt "$messages" ]; do
	sleep 0.1
	kill -0 $cpid 2>/dev/null || { echo "courierd died"; tail "$BENCH_TMP/courierd.log"; exit 1; }
done
done_at=$(date +%s.%N)

awk -v n="$messages" -v s="$start" -v m="$submitted" -v d="$done_at" \
	-v size="$size" -v a="$accounts" -v p="$senders" 'BEGIN {
	printf "%d messages of %d bytes to %d accounts, %d senders at once\n", n, size, a, p
	printf "submitted: %.0f messages/s (%.2f s)\n", n / (m - s), m - s
	printf "delivered to Maildir: %.0f messages/s (%.2f s end to end)\n", n / (d - s), d - s
}'

# Delivery alone: with courierd stopped, DRAIN (BENCH_DRAIN, default 2000;
# 0 skips it) messages are queued, then courierd is started and timed
# until the last one is in its Maildir (courierd, courierlocal and
# authdaemond only, nothing else competing).
drain=${BENCH_DRAIN:-2000}
if [ "$drain" -gt 0 ]; then
	kill "$(cat "$root/var/run/courierd.pid")"
	wait $cpid 2>/dev/null || true
	base=$(delivered)
	pids=()
	per=$(( (drain + senders - 1) / senders ))
	for s in $(seq 0 $((senders - 1))); do
		first=$((s * per)); last=$(( (s + 1) * per - 1 ))
		[ "$last" -ge "$drain" ] && last=$((drain - 1))
		[ "$first" -gt "$last" ] && continue
		send_range "$first" "$last" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	sync
	sleep 1
	load_at=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(date +%s.%N)
	"$courierd" >>"$BENCH_TMP/courierd.log" 2>&1 &
	cpid=$!
	while [ "$(delivered)" -lt $((base + drain)) ]; do
		sleep 0.05
		kill -0 $cpid 2>/dev/null || { echo "courierd died"; exit 1; }
	done
	t1=$(date +%s.%N)
	awk -v n="$drain" -v a="$t0" -v b="$t1" -v l="$load_at" 'BEGIN {
		printf "delivery alone (queue drained by courierd): %d messages in %.2f s, %.0f messages/s (load %s)\n", n, b - a, n / (b - a), l }'
fi

# fsync calls per message: 50 more messages under strace.
if command -v strace >/dev/null 2>&1; then
	kill $cpid; wait $cpid 2>/dev/null || true
	base=$(delivered)
	strace -f -c -e trace=fsync,fdatasync -o "$BENCH_TMP/strace-d" \
		"$courierd" >>"$BENCH_TMP/courierd.log" 2>&1 &
	cpid=$!
	sleep 0.5
	for i in $(seq 1 50); do
		strace -f -c -e trace=fsync,fdatasync -o "$BENCH_TMP/strace-s.$i" \
			"$sendmail" -f bench@bench.test "u$((i % accounts))@bench.test" \
			<"$BENCH_TMP/msg"
	done
	while [ "$(delivered)" -lt $((base + 50)) ]; do sleep 0.1; done
	sleep 0.5
	# stop courierd itself (strace waits for it, then writes its counts)
	kill "$(cat "$root/var/run/courierd.pid")"
	wait $cpid 2>/dev/null || true
	calls() { awk '$NF == "fsync" || $NF == "fdatasync" { s += $4 } END { print s + 0 }' "$@"; }
	s=$(cat "$BENCH_TMP"/strace-s.* | calls)
	d=$(calls "$BENCH_TMP/strace-d")
	awk -v s="$s" -v d="$d" 'BEGIN {
		printf "fsync+fdatasync per message: %.2f (submit %.2f, queue and delivery %.2f)\n", (s + d) / 50, s / 50, d / 50 }'
else
	echo "fsync count: strace is not installed"
fi
echo "peer: Postfix not measured by this script (see its header)"
