#!/bin/bash
# bench/auth-logins-pgsql.sh: authdaemond with the PostgreSQL module.
#
# Starts a real PostgreSQL on 127.0.0.1 in a scratch folder (the same
# commands as tests/integration/servers.py's PostgresServer, which it
# uses), loads 10,000 accounts user<N>@d<N%100>.test into a table indexed
# on the login, configures authpgsqlrc, and measures logins per second
# through authdaemond's socket (Courier's AUTH request, 4 clients at once,
# 5 workers, each with its own connection to the server), for the same
# hashes as bench/auth-logins.sh's userdb run (yescrypt, SHA-512 crypt,
# {SSHA256}), so the two are comparable; then the lookup (PRE) rate.
# The userdb figures of the same hash are measured in the same run and the
# ratio printed (PostgreSQL / userdb).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bench_init auth-logins-pgsql
for p in authdaemond makeuserdb userdbpw; do
	bench_suite_bin "$p" >/dev/null || exit 1
done
AUTHDAEMOND=$(bench_suite_bin authdaemond)
MAKEUSERDB=$(bench_suite_bin makeuserdb)
USERDBPW=$(bench_suite_bin userdbpw)
CLIENT="python3 $BENCH_TOP/bench/auth-client.py"
LOGINS=${BENCH_LOGINS:-400}
LOOKUPS=${BENCH_LOOKUPS:-4000}
N=10000

inst=$BENCH_TMP/inst
export COURIER_INSTANCE=$inst
mkdir -p "$inst/etc" "$inst/var/run"
sock=$inst/var/run/authdaemon/socket

# PostgreSQL through servers.py: prints "port user password database dir
# bindir runas" and leaves the server running (stopped by pg_stop below).
pg=$(cd "$BENCH_TOP/tests/integration" && SUITE_REQUIRE_SERVERS=1 /usr/bin/python3 -c '
import servers
s = servers.PostgresServer()
try:
    s.start()
except BaseException as e:
    import sys
    print("cannot start PostgreSQL: %s" % e, file=sys.stderr)
    s.stop()
    sys.exit(1)
print(s.port, s.user, s.password, s.database, s.dir, s.bindir,
      s._runas or "-")
') || { echo "bench: PostgreSQL did not start" >&2; exit 2; }
read -r pg_port pg_user pg_pass pg_db pg_dir pg_bindir pg_runas <<<"$pg"

dpid=
pg_stop() {
	local argv=("$pg_bindir/pg_ctl" -D "$pg_dir/data" -m fast -w stop)
	[ "$pg_runas" != - ] && argv=(runuser -u "$pg_runas" -- "${argv[@]}")
	"${argv[@]}" >/dev/null 2>&1 || true
	rm -rf "$pg_dir"
}
start() {
	"$AUTHDAEMOND" -f >"$inst/authdaemond.log" 2>&1 &
	dpid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	if [ ! -S "$sock" ]; then
		echo "bench: authdaemond did not start:" >&2
		cat "$inst/authdaemond.log" >&2
		exit 1
	fi
	sleep 0.5
}
stop() {
	[ -n "$dpid" ] || return 0
	kill -TERM "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	dpid=
}
trap 'stop; pg_stop; rm -rf "$BENCH_TMP"' EXIT

psql_run() {
	PGPASSWORD=$pg_pass "$pg_bindir/psql" -X -q -At -v ON_ERROR_STOP=1 \
		-h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d "$pg_db" -c "$1"
}
psql_run "CREATE TABLE users (id VARCHAR(255) PRIMARY KEY,
	crypt VARCHAR(255), clear VARCHAR(255), uid INT, gid INT,
	home VARCHAR(255), name VARCHAR(255), maildir VARCHAR(255),
	quota VARCHAR(64), options VARCHAR(255))"

cat >"$inst/etc/authpgsqlrc" <<RC
PGSQL_HOST		127.0.0.1
PGSQL_PORT		$pg_port
PGSQL_USERNAME		$pg_user
PGSQL_PASSWORD		$pg_pass
PGSQL_DATABASE		$pg_db
PGSQL_USER_TABLE	users
PGSQL_CRYPT_PWFIELD	crypt
PGSQL_CLEAR_PWFIELD	clear
PGSQL_LOGIN_FIELD	id
PGSQL_HOME_FIELD	home
PGSQL_NAME_FIELD	name
PGSQL_MAILDIR_FIELD	maildir
PGSQL_QUOTA_FIELD	quota
PGSQL_AUXOPTIONS_FIELD	options
RC
chmod 600 "$inst/etc/authpgsqlrc"

rc() { # MODULE
	cat >"$inst/etc/authdaemonrc" <<RC
authmodulelist="$1"
daemons=5
authdaemonvar=$inst/var/run/authdaemon
AUTHFAIL_USER=0
AUTHFAIL_IP=0
RC
}

u=$(id -u)
load_pgsql() { # HASH
	psql_run "TRUNCATE users"
	psql_run "INSERT INTO users (id, crypt, clear, uid, gid, home, name,
		maildir, quota, options)
		SELECT 'user' || i || '@d' || (i % 100) || '.test', '$1', '',
		$u, $u, '/h/' || i, '', '', '', ''
		FROM generate_series(0, $((N - 1))) AS i; ANALYZE users"
	[ "$(psql_run 'SELECT count(*) FROM users')" = "$N" ]
}
load_userdb() { # HASH
	awk -v n="$N" -v h="$1" -v u="$u" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "user%d@d%d.test\tuid=%s|gid=%s|home=/h/%d|systempw=%s\n",
				i, i % 100, u, u, i, h
	}' >"$inst/etc/userdb"
	chmod 600 "$inst/etc/userdb"
	"$MAKEUSERDB" -q
}

measure() { # MODULE MODE COUNT -> "rate median"
	rc "$1"
	start
	# warm up: every worker opens its connection
	$CLIENT "$sock" "$2" 20 5 "$N" 'bench pw' >/dev/null
	$CLIENT "$sock" "$2" "$3" 4 "$N" 'bench pw'
	stop
}

for scheme in default sha512-crypt ssha256; do
	hash=$(echo 'bench pw' | "$USERDBPW" -scheme "$scheme")
	load_pgsql "$hash"
	load_userdb "$hash"
	read -r prate plat <<<"$(measure authpgsql login "$LOGINS")"
	read -r urate ulat <<<"$(measure authuserdb login "$LOGINS")"
	printf 'logins, 10,000 accounts, %-12s pgsql %8s logins/s (median %s ms), userdb %8s logins/s (median %s ms)\n' \
		"$scheme:" "$prate" "$plat" "$urate" "$ulat"
	bench_ratio "logins/s, $scheme, PostgreSQL vs userdb" \
		"$prate" "$urate" logins/s userdb
done

read -r prate plat <<<"$(measure authpgsql pre "$LOOKUPS")"
read -r urate ulat <<<"$(measure authuserdb pre "$LOOKUPS")"
printf 'lookups (PRE), 10,000 accounts: pgsql %s lookups/s (median %s ms), userdb %s lookups/s (median %s ms)\n' \
	"$prate" "$plat" "$urate" "$ulat"
bench_ratio "lookups/s, PostgreSQL vs userdb" "$prate" "$urate" lookups/s userdb
