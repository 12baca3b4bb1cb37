#!/usr/bin/env bash
# bench/sendmail-postfix.sh: messages per second from sendmail to Maildir,
# ours against Postfix's sendmail in the same run, and fsyncs per message.
#
#   bash bench/sendmail-postfix.sh [MESSAGES] [ACCOUNTS] [SENDERS] [ROUNDS]
#
# Makes a throw-away instance of the suite (courierd, authdaemond) and two
# private Postfix instances (bench/postfix-instance.sh: one with the
# dirsync attribute, so that a message is durable by name when sendmail
# returns, as ours is; one as Debian ships it), each with ACCOUNTS (100)
# accounts u<N>@bench.test delivered to Maildir (Postfix: virtual(8)).
# SENDERS (10) shell loops at once run `sendmail -f bench@bench.test
# u<i % ACCOUNTS>@bench.test <message` for MESSAGES (10000) messages of
# 4 KB in all, against each system in turn, ROUNDS (2) times alternating
# the order, with a sync and a rest before each run.  Prints per run the
# submission rate (the last sendmail returned) and the delivery rate (the
# last message in its Maildir), the ratios of the medians, then the
# fsync/fdatasync/sync_file_range calls per message of each system
# (strace -f -c over 200 more messages: every sendmail and every process
# of the server, forked ones included).  The Postfix as shipped is only
# measured with BENCH_SHIPPED=1 (its sendmail is as slow as the durable
# one: the cost is in starting sendmail and postdrop, not in the disk).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix-instance.sh"

messages=${1:-10000}
accounts=${2:-100}
senders=${3:-10}
rounds=${4:-2}
sample=200

bench_init sendmail-postfix
bench_require_peer postfix postfix
bench_require_peer strace strace
[ "$(id -u)" = 0 ] || { echo "bench: needs root (Postfix instances)" >&2; exit 2; }
setup=$(bench_suite_bin courier-setup)
sendmail=$(bench_suite_bin sendmail)
courierd=$(bench_suite_bin courierd)
authdaemond=$(bench_suite_bin authdaemond)
load=$BENCH_TOP/bench/smtp-load.py
chmod 755 "$BENCH_TMP"
echo "peer: Postfix $(postconf -d -h mail_version 2>/dev/null) (Debian), /usr/sbin/sendmail"
echo "ours: $sendmail"

# ---------------------------------------------------------------- ours
root=$BENCH_TMP/ours
COURIER_INSTANCE=$root "$setup" --instance "$root" --domain bench.test \
	--account u0 --password benchpass --ports-base 39201 \
	--user nobody >/dev/null
export COURIER_INSTANCE=$root
line=$(grep -P '^u0@bench.test\t' "$root/etc/userdb")
owner=$(stat -c %u:%g "$root/var/vmail/bench.test/u0")
for ((i = 1; i < accounts; i++)); do
	home=$root/var/vmail/bench.test/u$i
	mkdir -p "$home/Maildir/tmp" "$home/Maildir/new" "$home/Maildir/cur"
	chown -R "$owner" "$home"
	chmod -R go-rwx "$home"
	printf '%s\n' "$line" | sed "s#u0#u$i#g" >>"$root/etc/userdb"
done
"$authdaemond" >"$BENCH_TMP/authdaemond.log" 2>&1 &
apid=$!
sleep 0.5
"$courierd" >"$BENCH_TMP/courierd.log" 2>&1 &
cpid=$!

# ---------------------------------------------------------------- Postfix
pf=$BENCH_TMP/postfix
pfd=$BENCH_TMP/postfix-dirsync
uid=${owner%:*}
gid=${owner#*:}
cleanup() {
	postfix_instance_stop "$pf" 2>/dev/null || true
	postfix_instance_stop "$pfd" 2>/dev/null || true
	kill "$cpid" "$apid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
postfix_instance_create "$pf" 39225 bench.test "$accounts" "$uid" "$gid" 0
postfix_instance_create "$pfd" 39226 bench.test "$accounts" "$uid" "$gid" 1
postfix_instance_start "$pf"
postfix_instance_start "$pfd"
sleep 0.5

# The message: 4 KB, the same bytes for everyone.
python3 - "$BENCH_TMP/msg" <<'EOF'
import sys
line = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/=-_"
out = bytearray(b"From: <bench@bench.test>\nTo: <rcpt@bench.test>\n"
                b"Subject: bench\nMIME-Version: 1.0\n"
                b"Content-Type: text/plain; charset=us-ascii\n\n")
i = 0
while len(out) < 4096 - 70:
    r = i % len(line)
    out += line[r:] + line[:r] + b"\n"
    i += 1
open(sys.argv[1], "wb").write(out)
EOF

# sm_argv NAME: sets argv to that system's sendmail command and exports
# MAIL_CONFIG (Postfix's config folder; ours does not read it)
sm_argv() {
	case $1 in
	ours) argv=("$sendmail"); export MAIL_CONFIG=/nonexistent ;;
	postfix) argv=(/usr/sbin/sendmail -C "$pf/etc"); export MAIL_CONFIG=$pf/etc ;;
	postfix-dirsync) argv=(/usr/sbin/sendmail -C "$pfd/etc"); export MAIL_CONFIG=$pfd/etc ;;
	esac
}
maildirs_ours=$root/var/vmail/bench.test
maildirs_postfix=$pf/vmail/bench.test
maildirs_postfix_dirsync=$pfd/vmail/bench.test
maildirs() { local v=maildirs_${1//-/_}; echo "${!v}"; }

count_new() { python3 "$load" count "$1"; }

# submit NAME FIRST COUNT: SENDERS loops at once, messages FIRST.. in turn
submit() {
	local name=$1 first=$2 count=$3 s pids=() argv
	for ((s = 0; s < senders; s++)); do
		(
			sm_argv "$name"
			for ((i = first + s; i < first + count; i += senders)); do
				"${argv[@]}" -f bench@bench.test \
					"u$((i % accounts))@bench.test" <"$BENCH_TMP/msg" ||
					{ echo "bench: $name sendmail failed" >&2; exit 1; }
			done
		) &
		pids+=($!)
	done
	local rc=0
	for s in "${pids[@]}"; do wait "$s" || rc=1; done
	return $rc
}

# wait_delivered DIR TARGET: until DIR/*/Maildir/new holds TARGET files
wait_delivered() { python3 "$load" wait "$1" "$2"; }

results=$BENCH_TMP/results
run() { # NAME
	local name=$1 dirs base t0 t1 t2
	dirs=$(maildirs "$name")
	base=$(count_new "$dirs")
	sync
	sleep 3
	t0=$(_bench_now)
	submit "$name" 0 "$messages"
	t1=$(_bench_now)
	wait_delivered "$dirs" $((base + messages))
	t2=$(_bench_now)
	awk -v n="$name" -v m="$messages" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
		printf "  %-16s submitted %5.0f msg/s (%.2f s), in Maildir %5.0f msg/s (%.2f s)\n",
			n, m / (b - a), b - a, m / (c - a), c - a
		printf "%s %f %f\n", n, m / (b - a), m / (c - a) > "/dev/stderr" }' 2>>"$results"
}

printf '%d messages of %d bytes to %d accounts, %d senders at once\n' \
	"$messages" "$(stat -c %s "$BENCH_TMP/msg")" "$accounts" "$senders"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
systems="ours postfix-dirsync"
[ "${BENCH_SHIPPED:-0}" = 1 ] && systems="$systems postfix"
for name in $systems; do # warm-up, not counted
	base=$(count_new "$(maildirs $name)")
	submit "$name" 0 100
	wait_delivered "$(maildirs $name)" $((base + 100))
done
for ((r = 1; r <= rounds; r++)); do
	echo "round $r:"
	order=$systems
	((r % 2)) || order=$(tr ' ' '\n' <<<"$systems" | tac | tr '\n' ' ')
	for name in $order; do run "$name"; done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { # NAME COLUMN
	awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$results" |
		bench_median %.0f
}
for what in 2:submitted 3:delivered; do
	col=${what%%:*}
	o=$(median ours "$col")
	bench_ratio "${what#*:} (msg/s, higher is better), durable" "$o" \
		"$(median postfix-dirsync "$col")" msg/s postfix-dirsync
	[ "${BENCH_SHIPPED:-0}" = 1 ] || continue
	bench_ratio "${what#*:} (msg/s, higher is better), as shipped" "$o" \
		"$(median postfix "$col")" msg/s postfix
done

# ---------------------------------------------------------------- fsyncs
# strace NAME PIDS: attaches to the server's processes (and what they
# fork), runs $sample sendmails under strace too, waits for delivery.
fsyncs() {
	local name=$1 pids=$2 dirs base spid args=() p argv
	dirs=$(maildirs "$name")
	base=$(count_new "$dirs")
	for p in ${pids//,/ }; do args+=(-p "$p"); done
	strace -f -c -e trace=fsync,fdatasync,sync_file_range,syncfs,sync \
		-o "$BENCH_TMP/strace.$name.server" "${args[@]}" 2>/dev/null &
	spid=$!
	sleep 1
	for ((i = 0; i < sample; i++)); do
		sm_argv "$name"
		strace -f -c -e trace=fsync,fdatasync,sync_file_range,syncfs,sync \
			-o "$BENCH_TMP/strace.$name.client.$i" \
			"${argv[@]}" -f bench@bench.test "u$((i % accounts))@bench.test" \
			<"$BENCH_TMP/msg" >/dev/null 2>&1
	done
	wait_delivered "$dirs" $((base + sample))
	sleep 1
	kill -INT "$spid"
	wait "$spid" 2>/dev/null || true
	local calls
	calls() { awk '$NF ~ /^(fsync|fdatasync|sync_file_range|syncfs|sync)$/ { s += $4 } END { print s + 0 }' "$@"; }
	local c s
	c=$(cat "$BENCH_TMP"/strace."$name".client.* | calls)
	s=$(calls "$BENCH_TMP/strace.$name.server")
	rm -f "$BENCH_TMP"/strace."$name".client.*
	awk -v n="$name" -v c="$c" -v s="$s" -v k="$sample" 'BEGIN {
		printf "  %-16s %.2f a message (sendmail %.2f, server %.2f)\n", n, (c + s) / k, c / k, s / k }'
}
pf_pids() { # DIR: the master and its children
	local m
	m=$(postfix_instance_pid "$1")
	echo "$m $(ps -o pid= --ppid "$m" | tr '\n' ' ')"
}
echo "fsync + fdatasync + sync_file_range calls, $sample messages:"
fsyncs ours "$cpid $apid $(ps -o pid= --ppid "$cpid" | tr '\n' ' ')"
fsyncs postfix-dirsync "$(pf_pids "$pfd")"
if [ "${BENCH_SHIPPED:-0}" = 1 ]; then fsyncs postfix "$(pf_pids "$pf")"; fi
echo "(postfix-dirsync also writes every folder change synchronously, which no call shows)"
