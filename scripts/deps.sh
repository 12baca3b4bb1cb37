# scripts/deps.sh: the Debian packages the suite needs, in one place.
# Sourced (bash) by run.sh, test.sh and the integration tests' server
# fixtures; it defines lists and functions and changes nothing by itself.
#
#   install_deps GROUP...        installs what is missing of the groups:
#                                build (what configure and make need),
#                                run (build + what run.sh uses),
#                                test (build + pytest, clang and libFuzzer,
#                                      the real servers and their clients),
#                                servers (the real servers and their clients)
#   deps_install_missing PKG...  installs those packages that are missing
#   deps_missing PKG...          prints those that are missing
#
# Installing needs root (or sudo); "apt-get update" runs once, only when
# something is missing.  Installs are non-interactive, and while they run
# a temporary /usr/sbin/policy-rc.d keeps Debian's maintainer scripts
# from starting the packages' own services (the tests start their own
# copies in temporary folders).  Returns non-zero when a package could
# not be installed.

# What configure needs (pkg-config modules) and what the build runs.
DEPS_BUILD="build-essential autoconf automake libtool pkg-config \
libssl-dev libgnutls28-dev libmicrohttpd-dev libpam0g-dev libmariadb-dev \
libpq-dev libldap2-dev libical-dev libpcre2-dev libidn2-dev libcrypt-dev \
liblmdb-dev libcmocka-dev zlib1g-dev openssl"

# What run.sh uses besides the build (ss shows the listening ports).
DEPS_RUN="iproute2 procps"

# The real servers of the integration tests, with their command-line
# clients (psql, mariadb, ldapsearch, dig).
DEPS_SERVERS="postgresql postgresql-client mariadb-server mariadb-client \
slapd ldap-utils dnsmasq-base dnsutils"

# The test harness: pytest, clang with the libFuzzer runtime, GNU time
# (peak memory in bench/), and the servers.
# maildrop: Debian's reformime, maildirmake and deliverquota, the reference
# our own tools are compared against; whois: mkpasswd for hash vectors;
# swaks, fetchmail, curl: the real clients of the SMTP and POP3 tests;
# isync: mbsync, the IMAP sync client; python3-dkim: dkimpy, the DKIM
# signer and verifier ours is checked against; faketime: runs imapd days
# ahead (IMAP_EMPTYTRASH goes by file ctime, which a test cannot set back).
DEPS_TEST="python3 python3-pytest clang libclang-rt-14-dev time maildrop whois \
swaks fetchmail curl isync python3-dkim faketime \
$DEPS_RUN $DEPS_SERVERS"

_deps_updated=no

# deps_missing PKG...: prints (one a line) the packages not installed.
deps_missing() {
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
		[ "$status" = installed ] || echo "$p"
	done
}

# _deps_apt ARGS...: apt-get as root, non-interactive, waiting for the
# dpkg lock instead of failing when another install runs.
_deps_apt() {
	local sudo=
	if [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo="sudo -n"
		else
			echo "deps: not root and no sudo: cannot run apt-get $*" >&2
			return 1
		fi
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a \
		apt-get -q -y -o DPkg::Lock::Timeout=600 \
		-o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold "$@"
}

# deps_install_missing PKG...: installs the packages that are missing.
deps_install_missing() {
	local missing rc=0 policy=/usr/sbin/policy-rc.d made_policy=no
	missing=$(deps_missing "$@")
	[ -n "$missing" ] || return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "deps: missing packages and no apt-get:" $missing >&2
		return 1
	fi
	echo "deps: installing" $missing >&2
	if [ "$_deps_updated" = no ]; then
		_deps_apt update >&2 || { echo "deps: apt-get update failed" >&2; return 1; }
		_deps_updated=yes
	fi
	# Keep maintainer scripts from starting services (exit 101 = "action
	# forbidden" for invoke-rc.d); only when there is no policy already.
	if [ "$(id -u)" = 0 ] && [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# deps.sh: no service starts during installs.\nexit 101\n' >"$policy" &&
			chmod 0755 "$policy" && made_policy=yes
	fi
	# shellcheck disable=SC2086
	_deps_apt install --no-install-recommends $missing >&2 || rc=$?
	[ "$made_policy" = no ] || rm -f "$policy"
	if [ "$rc" -ne 0 ]; then
		echo "deps: apt-get install failed for:" $missing >&2
		return "$rc"
	fi
	missing=$(deps_missing "$@")
	if [ -n "$missing" ]; then
		echo "deps: still missing after install:" $missing >&2
		return 1
	fi
	return 0
}

# install_deps GROUP...: installs what is missing of the named groups.
install_deps() {
	local pkgs= g
	for g in "$@"; do
		case $g in
		build) pkgs="$pkgs $DEPS_BUILD" ;;
		run) pkgs="$pkgs $DEPS_BUILD $DEPS_RUN" ;;
		test) pkgs="$pkgs $DEPS_BUILD $DEPS_TEST" ;;
		servers) pkgs="$pkgs $DEPS_SERVERS" ;;
		*) echo "deps: unknown group: $g" >&2; return 2 ;;
		esac
	done
	# shellcheck disable=SC2086
	deps_install_missing $(printf '%s\n' $pkgs | awk '!seen[$0]++')
}
