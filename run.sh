#!/usr/bin/env bash
# run.sh: builds the suite, installs it into ./run/ and runs it there.
#
#   ./run.sh            install what is missing (apt), build, install into
#                       ./run/, set up example.test with demo@example.test
#                       (first time), (re)start every daemon built so far
#   ./run.sh stop       stop the daemons
#   ./run.sh status     show which daemons run and what listens where
#   ./run.sh restart    stop, then start without rebuilding
#
# The build lives in ./build-run (configured with --prefix=$PWD/run), the
# instance in ./run.  A second ./run.sh rebuilds only what changed and
# keeps the instance's files, mail and password.  The daemons run in the
# foreground as far as they know: run.sh puts each in the background with
# its output in run/var/log/NAME.log and its pid in run/var/run/NAME.pid.
# Environment: RUN_JOBS (make -j, default: nproc).
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

BUILD=$top/build-run
PREFIX=$top/run
DOMAIN=example.test
ACCOUNT=demo
PWFILE=$PREFIX/etc/demo-password
JOBS=${RUN_JOBS:-$(nproc 2>/dev/null || echo 2)}
# The daemons use this instance whatever else the environment says.
export COURIER_INSTANCE=$PREFIX

# The daemons run.sh knows, in start order, each with the settings files
# (in run/etc) whose ports it serves.  One that is not installed in
# run/sbin yet is skipped.
DAEMONS=(
	"authdaemond:"
	"courierd:"
	"esmtpd:esmtpd esmtpd-ssl esmtpd-msa"
	"imapd:imapd imapd-ssl"
	"pop3d:pop3d pop3d-ssl"
	"webmaild:webmail"
	"webadmind:webadmin"
)

say() { printf 'run.sh: %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------ build
build() {
	# shellcheck source=scripts/deps.sh
	. "$top/scripts/deps.sh"
	install_deps run || die "could not install the build dependencies (see above)"

	if [ ! -x configure ] || [ ! -f Makefile.in ] ||
	   [ -n "$(find configure.ac Makefile.am -newer configure 2>/dev/null)" ]; then
		say "autoreconf"
		autoreconf -fi >/dev/null 2>&1 || autoreconf -fi ||
			die "autoreconf failed"
	fi
	mkdir -p "$BUILD"
	if [ ! -f "$BUILD/Makefile" ] ||
	   [ "$(cat "$BUILD/.configured-with" 2>/dev/null)" != "--prefix=$PREFIX" ]; then
		say "configure --prefix=$PREFIX (in build-run/)"
		(cd "$BUILD" && "$top/configure" --prefix="$PREFIX" >configure.out 2>&1) || {
			tail -30 "$BUILD/configure.out"
			die "configure failed (build-run/configure.out)"
		}
		echo "--prefix=$PREFIX" >"$BUILD/.configured-with"
	fi
	say "make -j$JOBS (in build-run/)"
	make -C "$BUILD" -j"$JOBS" >"$BUILD/make.out" 2>&1 || {
		grep -E 'error' "$BUILD/make.out" | head -30 || true
		tail -15 "$BUILD/make.out"
		die "the build failed (build-run/make.out)"
	}
}

install_instance() {
	say "make install (into run/)"
	make -C "$BUILD" install >"$BUILD/install.out" 2>&1 || {
		tail -20 "$BUILD/install.out"
		die "make install failed (build-run/install.out)"
	}
	[ -x "$PREFIX/sbin/courier-setup" ] ||
		die "run/sbin/courier-setup is missing after make install"
	# Idempotent: the first time it makes everything and a password;
	# afterwards it adds only what is missing and keeps the rest.
	"$PREFIX/sbin/courier-setup" --instance "$PREFIX" --domain "$DOMAIN" \
		--account "$ACCOUNT" --save-password "$PWFILE" >"$BUILD/setup.out" 2>&1 || {
		cat "$BUILD/setup.out"
		die "courier-setup failed"
	}
	say "courier-setup: $(grep -c '^  \(created\|rewrote\|added\)' "$BUILD/setup.out" || true) created," \
		"$(grep -c '^  kept ' "$BUILD/setup.out" || true) kept as they were"
	demo_settings
	check_queue_user
}

# The demo takes mail from any sender domain: swaks' default sender is
# root@HOSTNAME, whose domain has no DNS, and this machine may have no
# DNS at all.  A real site keeps courier-setup's BOFHCHECKDNS=1 (Courier's
# default: the sender's domain must exist and have a mail server).
demo_settings() {
	local f=$PREFIX/etc/esmtpd
	[ -f "$f" ] || return 0
	grep -q '^BOFHCHECKDNS=0' "$f" && return 0
	printf '\n# run.sh (the demo): no DNS check of the sender domain\nBOFHCHECKDNS=0\n' >>"$f"
}

# As root, courier-setup gave the queue to its queue user (daemon), which
# esmtpd drops to; that user must be able to pass every folder above
# run/, else esmtpd stays root (and says so in its log).
check_queue_user() {
	local owner
	[ "$(id -u)" = 0 ] || return 0
	owner=$(stat -c %U "$PREFIX/var/queue" 2>/dev/null) || return 0
	[ "$owner" != root ] || return 0
	command -v runuser >/dev/null 2>&1 || return 0
	if ! runuser -u "$owner" -- test -w "$PREFIX/var/queue" 2>/dev/null; then
		say "warning: the queue user $owner cannot reach $PREFIX (a folder" \
			"above it is closed to others), so esmtpd will keep running as" \
			"root; let it pass (chmod o+x on the folders above) or clone" \
			"the repository elsewhere"
	fi
}

# ------------------------------------------------------------ daemons
pidfile() { echo "$PREFIX/var/run/$1.pid"; }

# running NAME: prints the daemon's pid if its pid file names a live
# process that is that daemon.
running() {
	local f pid exe
	f=$(pidfile "$1")
	[ -f "$f" ] || return 1
	pid=$(head -n1 "$f" 2>/dev/null | tr -dc '0-9')
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	# A reused pid belongs to some other program: not ours.  (The daemon
	# may be a binary or a script, so look at its command line.)
	if [ -r "/proc/$pid/cmdline" ]; then
		tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -qxF "$PREFIX/sbin/$1" || return 1
	fi
	echo "$pid"
}

# ports NAME FILES...: prints the ports the settings files name
# (PORT=, SSLPORT=), skipping a file whose *START setting is NO.
ports() {
	local f
	for f in "$@"; do
		f=$PREFIX/etc/$f
		[ -f "$f" ] || continue
		grep -qiE '^[A-Z]*START="?no"?[[:space:]]*$' "$f" && continue
		sed -nE 's/^(SSL)?PORT="?([0-9]+)"?[[:space:]]*$/\2/p' "$f"
	done
}

address_of() {
	sed -nE 's/^(SSL)?ADDRESS="?([^"]*)"?[[:space:]]*$/\2/p' "$PREFIX/etc/$1" 2>/dev/null | head -n1
}

listening() { # PORT: true when something listens on the TCP port
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

installed_daemons() {
	local d
	for d in "${DAEMONS[@]}"; do
		[ -x "$PREFIX/sbin/${d%%:*}" ] && echo "${d%%:*}"
	done
	return 0
}

start_one() { # NAME FILES...
	local name=$1 pid log p i ok
	shift
	log=$PREFIX/var/log/$name.log
	if pid=$(running "$name"); then
		say "$name already runs (pid $pid)"
		return 0
	fi
	for p in $(ports "$@"); do
		if listening "$p"; then
			say "$name: port $p is already taken by another program"
			return 1
		fi
	done
	mkdir -p "$PREFIX/var/log" "$PREFIX/var/run"
	printf '\n--- %s: run.sh starts %s\n' "$(date '+%F %T')" "$name" >>"$log"
	setsid "$PREFIX/sbin/$name" </dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$(pidfile "$name")"
	# Ready when every port listens; a daemon without ports when it is
	# still alive a moment later.
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$(pidfile "$name")"
			say "$name exited at start; the end of run/var/log/$name.log:"
			tail -n 20 "$log" | sed 's/^/    /'
			return 1
		fi
		ok=yes
		for p in $(ports "$@"); do
			listening "$p" || { ok=no; break; }
		done
		if [ "$ok" = yes ] && { [ -n "$(ports "$@")" ] || [ "$i" -ge 5 ]; }; then
			say "started $name (pid $pid)"
			return 0
		fi
		sleep 0.1
	done
	say "$name (pid $pid) started but does not listen on all of: $(ports "$@" | tr '\n' ' ')"
	return 1
}

stop_one() { # NAME
	local name=$1 pid i
	if ! pid=$(running "$name"); then
		rm -f "$(pidfile "$name")"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "$name (pid $pid) did not stop in 10 s: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$(pidfile "$name")"
	say "stopped $name (pid $pid)"
}

start_all() {
	local d name files failed=0 any=no
	for d in "${DAEMONS[@]}"; do
		name=${d%%:*}
		files=${d#*:}
		[ -x "$PREFIX/sbin/$name" ] || continue
		any=yes
		# shellcheck disable=SC2086
		start_one "$name" $files || failed=$((failed + 1))
	done
	if [ "$any" = no ]; then
		say "no daemon is installed yet in run/sbin (looked for" \
			"${DAEMONS[*]%%:*}): nothing to start."
	fi
	return "$failed"
}

stop_all() {
	local i name
	# In reverse order: the network daemons before authdaemond.
	for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
		name=${DAEMONS[i]%%:*}
		stop_one "$name"
	done
}

# ------------------------------------------------------------ reports
show_listening() {
	local d name pid found=no line
	for d in "${DAEMONS[@]}"; do
		name=${d%%:*}
		pid=$(running "$name") || continue
		found=yes
		if command -v ss >/dev/null 2>&1; then
			# A daemon with no TCP port (authdaemond) matches nothing.
			line=$(ss -Hltnp 2>/dev/null | grep -E "pid=$pid," |
				awk '{print $4}' | sort -u | tr '\n' ' ' || true)
			printf '  %-10s pid %-7s as %-7s listens on %s\n' "$name" "$pid" \
				"$(ps -o user= -p "$pid" 2>/dev/null || echo '?')" "${line:-(no TCP port)}"
		else
			printf '  %-10s pid %-7s ports %s\n' "$name" "$pid" "$(ports ${d#*:} | tr '\n' ' ')"
		fi
	done
	[ "$found" = yes ] || echo "  no daemon runs"
}

show_configured() {
	local f label port addr daemon note
	echo "Configured ports (run/etc):"
	for f in esmtpd:SMTP:esmtpd esmtpd-ssl:SMTPS:esmtpd \
		esmtpd-msa:submission:esmtpd imapd:IMAP:imapd \
		imapd-ssl:IMAPS:imapd pop3d:POP3:pop3d pop3d-ssl:POP3S:pop3d \
		webmail:webmail:webmaild webadmin:webadmin:webadmind; do
		label=${f#*:}
		daemon=${label#*:}
		label=${label%%:*}
		f=${f%%:*}
		port=$(ports "$f" | head -n1)
		addr=$(address_of "$f")
		note=""
		[ -x "$PREFIX/sbin/$daemon" ] ||
			note="  not served: $daemon is not built yet"
		[ -n "$port" ] && printf '  %-11s %s:%s  (run/etc/%s)%s\n' "$label" "${addr:-127.0.0.1}" "$port" "$f" "$note"
	done
	return 0
}

show_account() {
	echo "Account:  $ACCOUNT@$DOMAIN"
	if [ -r "$PWFILE" ]; then
		echo "Password: $(head -n1 "$PWFILE")   (kept in run/etc/demo-password)"
	else
		echo "Password: not known (run/etc/demo-password is gone); set one with"
		echo "          run/sbin/courier-setup --instance run --domain $DOMAIN --account $ACCOUNT --password NEW"
	fi
}

status() {
	echo "Instance: $PREFIX"
	show_account
	show_configured
	echo "Daemons:"
	show_listening
	if [ -z "$(installed_daemons)" ]; then
		echo "  (none is installed yet in run/sbin)"
	fi
}

# ------------------------------------------------------------ main
cmd=${1:-start}
case $cmd in
start)
	build
	if [ -n "$(installed_daemons)" ] || ls "$PREFIX"/var/run/*.pid >/dev/null 2>&1; then
		stop_all
	fi
	install_instance
	rc=0
	start_all || rc=$?
	echo
	status
	[ "$rc" -eq 0 ] || die "$rc daemon(s) did not start (see run/var/log/)"
	;;
restart)
	[ -x "$PREFIX/sbin/courier-setup" ] || die "nothing installed yet: run ./run.sh first"
	stop_all
	rc=0
	start_all || rc=$?
	echo
	status
	[ "$rc" -eq 0 ] || die "$rc daemon(s) did not start (see run/var/log/)"
	;;
stop)
	stop_all
	say "all stopped"
	;;
status)
	[ -d "$PREFIX" ] || die "no instance yet in $PREFIX: run ./run.sh first"
	status
	;;
-h|--help|help)
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
	;;
*)
	die "unknown command: $cmd (start, stop, status, restart)"
	;;
esac
