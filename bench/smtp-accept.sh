#!/usr/bin/env bash
# bench/smtp-accept.sh: SMTP messages per second into Maildir, and memory
# with idle connections, ours against Postfix in the same run.
#
#   bash bench/smtp-accept.sh [MESSAGES] [CLIENTS] [IDLE] [ROUNDS]
#
# Makes a throw-away instance of the suite (esmtpd, courierd, authdaemond)
# and two private Postfix instances (bench/postfix-instance.sh): one with
# the dirsync attribute on its folders, so that an acknowledged message is
# durable by name as ours is, and one as Debian ships it.  Each has 100
# accounts u0..u99@bench.test delivered to Maildir (Postfix: virtual(8)).
# bench/smtp-load.py sends MESSAGES (10000) messages of 4 KB from CLIENTS
# (10) connections at once, PIPELINING, round robin over the accounts, to
# each server in turn, ROUNDS (2) times alternating the order, with a sync
# and a rest before each run.  Prints per run the acceptance rate (first
# connect to the last 250) and the delivery rate (first connect to the last
# message in its Maildir), then the ratios of the medians.  Then the total
# RSS and PSS of all the processes of each server, at rest and with IDLE
# (1000) idle connections that have had their greeting.
#
# BENCH_PER_CONN=K sends K messages per connection and reconnects (default
# 0: one connection per client for the whole run).  BENCH_PREFIX selects
# the installed suite (see bench/README.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix-instance.sh"

messages=${1:-10000}
clients=${2:-10}
idle=${3:-1000}
rounds=${4:-2}
per_conn=${BENCH_PER_CONN:-0}
accounts=100
port_ours=39101 # courier-setup --ports-base 39101: SMTP is the first
port_pf=39125
port_pfd=39126

bench_init smtp-accept
bench_require_peer postfix postfix
[ "$(id -u)" = 0 ] || { echo "bench: needs root (Postfix instances)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
setup=$(bench_suite_bin courier-setup)
courierd=$(bench_suite_bin courierd)
authdaemond=$(bench_suite_bin authdaemond)
esmtpd=$(bench_suite_bin esmtpd)
load=$BENCH_TOP/bench/smtp-load.py
chmod 755 "$BENCH_TMP"
echo "peer: Postfix $(postconf -d -h mail_version 2>/dev/null) (Debian)"
echo "ours: $esmtpd"

# ---------------------------------------------------------------- ours
root=$BENCH_TMP/ours
COURIER_INSTANCE=$root "$setup" --instance "$root" --domain bench.test \
	--account u0 --password benchpass --ports-base "$port_ours" \
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
# room for the load and for the idle connections, all from 127.0.0.1
sed -i -e 's/^MAXDAEMONS=.*/MAXDAEMONS=5000/' -e 's/^MAXPERIP=.*/MAXPERIP=5000/' \
	-e 's/^MAXPERC=.*/MAXPERC=5000/' "$root/etc/esmtpd"
# the load's sender domain (bench.test) has no DNS: no sender-domain DNS
# check (courier-setup's default is Courier's BOFHCHECKDNS=1), as run.sh's
# demo; Postfix checks nothing of the kind by default either
printf '\n# bench: no DNS check of the sender domain\nBOFHCHECKDNS=0\n' \
	>>"$root/etc/esmtpd"
"$authdaemond" >"$BENCH_TMP/authdaemond.log" 2>&1 &
apid=$!
"$courierd" >"$BENCH_TMP/courierd.log" 2>&1 &
cpid=$!
sleep 0.5
"$esmtpd" >"$BENCH_TMP/esmtpd.log" 2>&1 &
epid=$!

# ---------------------------------------------------------------- Postfix
pf=$BENCH_TMP/postfix
pfd=$BENCH_TMP/postfix-dirsync
uid=$(stat -c %u "$root/var/vmail/bench.test/u0")
gid=$(stat -c %g "$root/var/vmail/bench.test/u0")
cleanup() {
	postfix_instance_stop "$pf" 2>/dev/null || true
	postfix_instance_stop "$pfd" 2>/dev/null || true
	kill "$epid" "$cpid" "$apid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
postfix_instance_create "$pf" "$port_pf" bench.test "$accounts" "$uid" "$gid" 0
postfix_instance_create "$pfd" "$port_pfd" bench.test "$accounts" "$uid" "$gid" 1
postfix_instance_start "$pf"
postfix_instance_start "$pfd"

wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: nothing listens on port $1" >&2
	return 1
}
wait_port "$port_ours"
wait_port "$port_pf"
wait_port "$port_pfd"

# run NAME PORT MAILDIRS: one measured run, appends "NAME acc del" to results
results=$BENCH_TMP/results
run() {
	local name=$1 port=$2 dirs=$3 out
	sync
	sleep 3
	out=$(python3 "$load" send --port "$port" --messages "$messages" \
		--clients "$clients" --size 4096 --accounts "$accounts" \
		--per-conn "$per_conn" --maildirs "$dirs") || {
		echo "bench: the run against $name failed:" >&2
		echo "$out" >&2
		return 1
	}
	local acc del
	acc=$(sed -n 's/^accepted_s=//p' <<<"$out")
	del=$(sed -n 's/^delivered_s=//p' <<<"$out")
	awk -v n="$name" -v m="$messages" -v a="$acc" -v d="$del" 'BEGIN {
		printf "  %-16s accepted %6.0f msg/s (%.2f s), in Maildir %6.0f msg/s (%.2f s)\n",
			n, m / a, a, m / d, d }'
	echo "$name $(awk -v m="$messages" -v a="$acc" 'BEGIN { print m / a }') $(awk -v m="$messages" -v d="$del" 'BEGIN { print m / d }')" >>"$results"
}

printf '%d messages of 4 KB, %d clients at once, %s, %d accounts\n' \
	"$messages" "$clients" \
	"$([ "$per_conn" = 0 ] && echo 'one connection each' || echo "$per_conn messages a connection")" \
	"$accounts"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
ours_dirs=$root/var/vmail/bench.test
# warm-up: 200 messages each, not counted
for p in "$port_ours:$ours_dirs" "$port_pfd:$pfd/vmail/bench.test" "$port_pf:$pf/vmail/bench.test"; do
	python3 "$load" send --port "${p%%:*}" --messages 200 --clients "$clients" \
		--accounts "$accounts" --maildirs "${p#*:}" >/dev/null
done
for ((r = 1; r <= rounds; r++)); do
	echo "round $r:"
	if ((r % 2)); then
		run ours "$port_ours" "$ours_dirs"
		run postfix-dirsync "$port_pfd" "$pfd/vmail/bench.test"
		run postfix "$port_pf" "$pf/vmail/bench.test"
	else
		run postfix "$port_pf" "$pf/vmail/bench.test"
		run postfix-dirsync "$port_pfd" "$pfd/vmail/bench.test"
		run ours "$port_ours" "$ours_dirs"
	fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { # NAME COLUMN
	awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$results" |
		bench_median %.0f
}
for what in 2:accepted 3:delivered; do
	col=${what%%:*}
	o=$(median ours "$col")
	bench_ratio "${what#*:} (msg/s, higher is better), durable" "$o" \
		"$(median postfix-dirsync "$col")" msg/s postfix-dirsync
	bench_ratio "${what#*:} (msg/s, higher is better), as shipped" "$o" \
		"$(median postfix "$col")" msg/s postfix
done

# ---------------------------------------------------------------- memory
mem() { # NAME PORT PIDS
	local out
	out=$(python3 "$load" idle --port "$2" --connections "$idle" --pids "$3") || {
		echo "bench: idle connections to $1 failed:" >&2
		echo "$out" >&2
		return 1
	}
	awk -v n="$1" -v k="$idle" '
		{ split($0, kv, "="); v[kv[1]] = kv[2] }
		END {
			printf "  %-16s at rest %d processes, RSS %.1f MiB, PSS %.1f MiB; with %d idle: %d processes, RSS %.1f MiB, PSS %.1f MiB (%.1f KiB PSS a connection)\n",
				n, v["procs_base"], v["rss_base_kib"] / 1024, v["pss_base_kib"] / 1024,
				v["connected"], v["procs"], v["rss_kib"] / 1024, v["pss_kib"] / 1024,
				(v["pss_kib"] - v["pss_base_kib"]) / k
			print v["pss_kib"] > "/dev/stderr"
		}' <<<"$out" 2>"$BENCH_TMP/pss.$1"
}
echo "memory, all processes of the server, $idle idle connections:"
mem ours "$port_ours" "$epid,$cpid,$apid"
mem postfix "$port_pf" "$(postfix_instance_pid "$pf")"
bench_ratio "PSS with $idle idle connections (KiB, lower is better)" \
	"$(cat "$BENCH_TMP/pss.ours")" "$(cat "$BENCH_TMP/pss.postfix")" KiB postfix
