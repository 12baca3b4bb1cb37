#!/usr/bin/env bash
# bench/imap-folder.sh: one IMAP folder of 100,000 messages, side by side with Dovecot and Courier-IMAP: SELECT cold and warm, FETCH, SEARCH, SORT, and a 20-client mixed load.
#
# Usage: bench/imap-folder.sh [MESSAGES] [CLIENTS] [SECONDS]
#        (defaults 100000, 20, 30)
#
# Makes a realistic maildir with bench/imap-gen-maildir.py (seed
# $BENCH_SEED, default 1; kept in $BENCH_MAILDIR_CACHE, default
# /tmp/imap-bench-maildir-MESSAGES-SEED, so that a second run does not
# write it again), then bench/imap-bench.py runs each server
# pre-authenticated over pipes on its own copy of it (ours: `imapd DIR`;
# Dovecot: /usr/lib/dovecot/imap with a minimal config; Courier: its
# `imapd DIR` with Debian's default settings) and prints, per server:
#
#   SELECT INBOX, cold (no index yet) and warm (median of 3 sessions)
#   UID FETCH 1:* (FLAGS)
#   FETCH 1:* (ENVELOPE), the first one and the median of 2 more
#   SEARCH FROM zoe.quint (about 0.3 % of the messages match)
#   SORT (DATE) UTF-8 ALL, the first one and the median of 2 more
#   a mixed load of CLIENTS sessions for SECONDS: ops/s and latency
#
# and the ratios ours/dovecot and ours/courier.  Times are those of one
# synchronous client: from sending the command to reading its tagged
# answer, all data read.  A command a server does not have is "n/a".
#
# IMAPD=PATH picks our imapd (default: bench_suite_bin imapd);
# BENCH_REST=SECONDS rests between servers (default 20);
# BENCH_SERVERS="ours dovecot" measures only those (default: all three);
#   an entry LABEL=PATH is another build of our imapd, measured as LABEL
#   (before/after comparisons in one run);
# BENCH_PARTS=mixed runs only the mixed load (after an untimed warm-up
#   that builds the index and caches the ENVELOPEs, as the full run has);
# BENCH_ROUNDS=N measures the servers N times, alternating;
# PEERS_ROOT=DIR holds the unpacked .debs of courier-imap, courier-base,
# libcourier-unicode4 and libgamin0 (fetched with apt-get download when
# missing).  Dovecot is Debian's dovecot-imapd, installed.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init imap-folder
n=${1:-100000}
clients=${2:-20}
seconds=${3:-30}
seed=${BENCH_SEED:-1}
imapd=${IMAPD:-$(bench_suite_bin imapd)}
peers=${PEERS_ROOT:-/tmp/imap-peers}
cache=${BENCH_MAILDIR_CACHE:-/tmp/imap-bench-maildir-$n-$seed}
here=$(cd "$(dirname "$0")" && pwd)

bench_require_peer /usr/lib/dovecot/imap dovecot-imapd
# Courier's gam_server, which its imapd starts for IDLE and change
# notification; without it every SELECT logs FAM errors.
[ -x /usr/libexec/gam_server ] || bench_require_peer /usr/libexec/gam_server gamin

if [ ! -x "$peers/root/usr/bin/imapd" ]; then
	mkdir -p "$peers" && (cd "$peers" &&
		apt-get download courier-imap courier-base libcourier-unicode4 \
			libgamin0 >/dev/null 2>&1 &&
		for f in *.deb; do dpkg-deb -x "$f" root; done) ||
		echo "bench: could not fetch Courier-IMAP's packages" >&2
fi

# $cache.summary is written last: it says the maildir is complete.
if [ ! -f "$cache.summary" ]; then
	rm -rf "$cache"
	echo "writing $n messages (seed $seed) into $cache"
	/usr/bin/python3 "$here/imap-gen-maildir.py" "$cache" "$n" "$seed" \
		>"$cache.summary.tmp"
	mv "$cache.summary.tmp" "$cache.summary"
fi
cat "$cache.summary"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
ulimit -n 8192 2>/dev/null || true
/usr/bin/python3 "$here/imap-bench.py" folder "$cache" "$BENCH_TMP" \
	"$imapd" "$peers/root" "$clients" "$seconds" "${BENCH_REST:-20}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
