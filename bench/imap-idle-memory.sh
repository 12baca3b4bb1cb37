#!/usr/bin/env bash
# bench/imap-idle-memory.sh: resident memory per idle logged-in IMAP connection with 1,000 open, ours against Dovecot and Courier-IMAP.
#
# Usage: bench/imap-idle-memory.sh [CONNECTIONS] [MESSAGES]
#        (defaults 1000 connections on an INBOX of 1000 messages)
#
# Every server gets its own copy of one maildir (bench/imap-gen-maildir.py,
# seed $BENCH_SEED, default 1).  bench/imap-bench.py opens CONNECTIONS
# sessions, each with INBOX selected (after a first session has built the
# server's index), leaves them idle for 2 s, then sums the PSS and RSS
# (/proc/PID/smaps_rollup) of every process serving them and divides by
# CONNECTIONS.  PSS counts a page shared by k processes as 1/k to each:
# it is what a connection really costs; RSS counts shared pages in full.
#
#   ours, dovecot, courier   pre-authenticated sessions over pipes, one
#                            process each (`imapd DIR`; Dovecot's `imap`;
#                            Courier's `imapd DIR`).  For Dovecot and
#                            Courier this is the process a logged-in
#                            connection has (Courier's imaplogin execs
#                            imapd; Dovecot's imap-login hands the
#                            connection over to an imap process when
#                            there is no TLS).
#   ours-daemon              ours as it runs: a scratch instance made by
#                            courier-setup, its authdaemond and imapd,
#                            CONNECTIONS clients over TCP with LOGIN, and
#                            every process imapd started for them (the
#                            pre-login process that relays bytes, and the
#                            session).  Needs an installed tree: set
#                            BENCH_PREFIX (make install prefix=...).
#
# IMAPD=PATH picks our imapd; PEERS_ROOT and BENCH_SERVERS as in
# imap-folder.sh.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init imap-idle-memory
n=${1:-1000}
msgs=${2:-1000}
seed=${BENCH_SEED:-1}
imapd=${IMAPD:-$(bench_suite_bin imapd)}
peers=${PEERS_ROOT:-/tmp/imap-peers}
here=$(cd "$(dirname "$0")" && pwd)
prefix=${BENCH_PREFIX:-}
if [ -z "$prefix" ] && [ -x "$(dirname "$imapd")/courier-setup" ]; then
	prefix=$(cd "$(dirname "$imapd")/.." && pwd)
fi

bench_require_peer /usr/lib/dovecot/imap dovecot-imapd
[ -x /usr/libexec/gam_server ] || bench_require_peer /usr/libexec/gam_server gamin
if [ ! -x "$peers/root/usr/bin/imapd" ]; then
	mkdir -p "$peers" && (cd "$peers" &&
		apt-get download courier-imap courier-base libcourier-unicode4 \
			libgamin0 >/dev/null 2>&1 &&
		for f in *.deb; do dpkg-deb -x "$f" root; done) ||
		echo "bench: could not fetch Courier-IMAP's packages" >&2
fi

/usr/bin/python3 "$here/imap-gen-maildir.py" "$BENCH_TMP/master" "$msgs" \
	"$seed"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
# Three descriptors a session on our side (two pipe ends, or a socket).
ulimit -n $((n * 4 + 256)) 2>/dev/null || {
	echo "bench: cannot raise the open file limit to $((n * 4 + 256))" >&2
	exit 1
}
# The servers run as "mail" when we are root: they must reach the copies.
chmod 755 "$BENCH_TMP"
mkdir "$BENCH_TMP/run"
/usr/bin/python3 "$here/imap-bench.py" memory "$BENCH_TMP/master" \
	"$BENCH_TMP/run" "$imapd" "$peers/root" "$n" ${prefix:+"$prefix"}
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
