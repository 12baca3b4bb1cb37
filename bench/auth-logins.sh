#!/bin/bash
# bench/auth-logins.sh: authdaemond with the userdb module.
#
#  1. logins per second through authdaemond's socket (Courier's AUTH
#     request, 4 clients at once, 5 workers) with 10,000 accounts, for the
#     default hash (yescrypt), SHA-512 crypt and {SSHA256} (the last shows
#     the daemon's own cost: the hash dominates the others);
#  2. the userdb lookup (PRE, end to end through the daemon) with 1,000
#     and with 1,000,000 accounts, and the ratio: a B-tree lookup in LMDB
#     does not slow down as accounts are added.
# Also makeuserdb's time for 1,000,000 accounts.  No peer is run: Debian's
# Courier authdaemond cannot run in a scratch instance (it reads
# /etc/courier), so the figures stand alone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bench_init auth-logins
for p in authdaemond makeuserdb userdbpw authtest; do
	bench_suite_bin "$p" >/dev/null || exit 1
done
AUTHDAEMOND=$(bench_suite_bin authdaemond)
MAKEUSERDB=$(bench_suite_bin makeuserdb)
USERDBPW=$(bench_suite_bin userdbpw)
CLIENT="python3 $(dirname "$0")/auth-client.py"
LOGINS=${BENCH_LOGINS:-400}
LOOKUPS=${BENCH_LOOKUPS:-4000}

inst=$BENCH_TMP/inst
export COURIER_INSTANCE=$inst
mkdir -p "$inst/etc" "$inst/var/run"
cat >"$inst/etc/authdaemonrc" <<RC
authmodulelist="authuserdb"
daemons=5
authdaemonvar=$inst/var/run/authdaemon
AUTHFAIL_USER=0
AUTHFAIL_IP=0
RC
sock=$inst/var/run/authdaemon/socket

make_userdb() { # N HASH
	awk -v n="$1" -v h="$2" -v u="$(id -u)" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "user%d@d%d.test\tuid=%s|gid=%s|home=/h/%d|systempw=%s\n",
				i, i % 100, u, u, i, h
	}' >"$inst/etc/userdb"
	chmod 600 "$inst/etc/userdb"
}

start() {
	"$AUTHDAEMOND" >"$inst/authdaemond.log" 2>&1 &
	dpid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	sleep 0.5
}
stop() {
	kill -TERM "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
}
trap 'stop; rm -rf "$BENCH_TMP"' EXIT

for scheme in default sha512-crypt ssha256; do
	hash=$(echo 'bench pw' | "$USERDBPW" -scheme "$scheme")
	make_userdb 10000 "$hash"
	"$MAKEUSERDB" -q
	start
	read -r rate lat < <($CLIENT "$sock" login "$LOGINS" 4 10000 'bench pw')
	stop
	printf 'logins, 10,000 accounts, %-12s %8s logins/s (median %s ms)\n' \
		"$scheme:" "$rate" "$lat"
done

declare -A pre
for n in 1000 1000000; do
	make_userdb "$n" '{SSHA256}x'
	t0=$EPOCHREALTIME
	"$MAKEUSERDB" -q
	t1=$EPOCHREALTIME
	printf 'makeuserdb, %d accounts: %.2f s, userdb.dat %d KiB\n' "$n" \
		"$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN{print b-a}')" \
		"$(( $(stat -c %s "$inst/etc/userdb.dat") / 1024 ))"
	start
	# warm up the map, then measure
	$CLIENT "$sock" pre 500 4 "$n" x >/dev/null
	read -r rate lat < <($CLIENT "$sock" pre "$LOOKUPS" 4 "$n" x)
	stop
	pre[$n]=$lat
	printf 'lookups (PRE), %d accounts: %s lookups/s (median %s ms)\n' \
		"$n" "$rate" "$lat"
done
bench_ratio "lookup median latency, 1,000,000 vs 1,000 accounts" \
	"${pre[1000000]}" "${pre[1000]}" ms "1,000 accounts"
