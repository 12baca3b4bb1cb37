#!/usr/bin/env bash
# test.sh: installs what is missing, builds, and runs every test.
#
#   ./test.sh            everything (what CI runs)
#   ./test.sh --quick    the OpenSSL build with unit and integration tests only
#
# Stages:
#   1. build with OpenSSL (warnings are errors), unit tests, lint,
#      make install into a scratch prefix, integration tests (pytest)
#   2. build with GnuTLS under AddressSanitizer + UBSan, unit tests
#   3. build with every --without-X option (the build must still work)
#   4. build the libFuzzer targets with clang, run each one briefly
#      over its seed corpus (FUZZ_SECONDS, default 15)
# The last line is "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
quick=no
[ "${1:-}" = "--quick" ] && quick=yes
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
JOBS=${JOBS:-$(nproc)}

. "$top/scripts/deps.sh"
install_deps test || { echo "test.sh: could not install dependencies" >&2; exit 1; }

passed=0
failed=0
failures=()
pass() { passed=$((passed + $1)); }
fail() { failed=$((failed + $1)); failures+=("$2"); }
stage() { printf '\n=== %s ===\n' "$*"; }

regen_if_needed() {
	if [ ! -x configure ] || [ ! -f Makefile.in ] ||
	   [ -n "$(find configure.ac Makefile.am -newer configure 2>/dev/null)" ] ||
	   [ -n "$(find . -name '*.mk' -newer Makefile.in 2>/dev/null | grep -v '^./build')" ]; then
		autoreconf -fi >/dev/null || { echo "autoreconf failed" >&2; exit 1; }
	fi
}

# build DIR CONFIGURE-ARGS...: configures (if needed) and builds in DIR.
build() {
	local dir=$1; shift
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.configured-with" 2>/dev/null)" != "$*" ]; then
		(cd "$dir" && "$top/configure" "$@" >configure.out 2>&1) || {
			tail -30 "$dir/configure.out"; return 1; }
		echo "$*" >"$dir/.configured-with"
	fi
	make -C "$dir" -j"$JOBS" >"$dir/make.out" 2>&1 || {
		grep -E 'error|warning' "$dir/make.out" | head -40; tail -20 "$dir/make.out"; return 1; }
}

# unit DIR NAME: runs the cmocka unit tests of a build and counts them.
unit() {
	local dir=$1 name=$2 p f
	make -C "$dir" -j"$JOBS" check >"$dir/check.out" 2>&1
	local rc=$?
	p=$(cat "$dir"/tests/unit/*.log 2>/dev/null | grep -aoE '^\[  PASSED  \] [0-9]+' | awk '{s+=$4} END {print s+0}')
	f=$(cat "$dir"/tests/unit/*.log 2>/dev/null | grep -aoE '^\[  FAILED  \] [0-9]+ test' | awk '{s+=$4} END {print s+0}')
	pass "$p"
	if [ "$rc" -ne 0 ]; then
		[ "$f" -eq 0 ] && f=1
		fail "$f" "$name unit tests"
		grep -E '^(FAIL|ERROR):' "$dir/check.out" || tail -15 "$dir/check.out"
		for log in $(grep -lE '^\[  (FAILED|ERROR)|ERROR|runtime error|Sanitizer' "$dir"/tests/unit/*.log 2>/dev/null); do
			echo "--- $log"; tail -30 "$log"; done
	fi
	echo "$name: $p unit tests passed, $f failed"
}

regen_if_needed

stage "lint"
if tests/lint.sh "$top"; then pass 1; else fail 1 "lint"; fi

stage "build with OpenSSL"
if build build --enable-werror --with-tls=openssl --prefix=/usr/lib/courier; then
	pass 1
	stage "unit tests (OpenSSL)"
	unit build "openssl"
	stage "integration tests"
	prefix="$top/build/_inst"
	rm -rf "$prefix"
	if make -C build install prefix="$prefix" >build/install.out 2>&1; then
		out=$(mktemp)
		SUITE_SRCDIR="$top" SUITE_BUILDDIR="$top/build" SUITE_PREFIX="$prefix" \
			/usr/bin/python3 -m pytest -q -p no:cacheprovider \
			-o junit_family=xunit2 --junitxml="$top/build/pytest.xml" \
			tests/integration 2>&1 | tee "$out"
		p=$(grep -oE '[0-9]+ passed' "$out" | tail -1 | awk '{print $1}')
		f=$(grep -oE '[0-9]+ (failed|error)' "$out" | awk '{s+=$1} END {print s+0}')
		pass "${p:-0}"
		[ "${f:-0}" -gt 0 ] && fail "$f" "integration tests"
		rm -f "$out"
	else
		tail -20 build/install.out
		fail 1 "make install"
	fi
else
	fail 1 "OpenSSL build"
fi

if [ "$quick" = no ]; then
	stage "build with GnuTLS, AddressSanitizer and UBSan"
	if build build-gnutls-asan --enable-werror --with-tls=gnutls --enable-sanitizers; then
		pass 1
		stage "unit tests (GnuTLS, ASan, UBSan)"
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			unit build-gnutls-asan "gnutls+asan"
	else
		fail 1 "GnuTLS build"
	fi

	stage "build without the optional parts"
	if build build-without --enable-werror --without-pam --without-ldap \
		--without-mysql --without-pgsql --without-ical --without-microhttpd; then
		pass 1
	else
		fail 1 "build without optional parts"
	fi

	stage "fuzz targets (${FUZZ_SECONDS}s each)"
	if build build-fuzz CC=clang --enable-fuzz; then
		for t in build-fuzz/tests/fuzz/fuzz-*; do
			[ -x "$t" ] || continue
			name=$(basename "$t"); name=${name#fuzz-}
			if tests/fuzz/run.sh "$name" "$FUZZ_SECONDS" build-fuzz >"build-fuzz/$name.out" 2>&1; then
				echo "fuzz-$name: clean for ${FUZZ_SECONDS}s"
				pass 1
			else
				tail -40 "build-fuzz/$name.out"
				fail 1 "fuzz-$name"
			fi
		done
	else
		fail 1 "fuzz build"
	fi
fi

stage "summary"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
