#!/usr/bin/env bash
# tests/fuzz/run.sh: runs one libFuzzer target over its seed corpus.
# Usage: tests/fuzz/run.sh NAME SECONDS [BUILDDIR]
# NAME is the target without "fuzz-" (address, mime, config...).  New inputs
# go to a scratch corpus, never into the committed seeds; a crashing input
# is kept in BUILDDIR/fuzz-artifacts/ (its path is printed) for replay with
# "BUILDDIR/tests/fuzz/fuzz-NAME FILE".
set -eu
name=$1; seconds=$2; builddir=${3:-build-fuzz}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$builddir/tests/fuzz/fuzz-$name"
[ -x "$bin" ] || bin="$top/$builddir/tests/fuzz/fuzz-$name"
seeds="$top/tests/fuzz/corpus/$name"
work=$(mktemp -d)
artifacts="$builddir/fuzz-artifacts"
case $artifacts in /*) ;; *) artifacts="$PWD/$artifacts" ;; esac
mkdir -p "$artifacts"
trap 'rm -rf "$work"' EXIT
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
dict="$top/tests/fuzz/fuzz-$name.dict"
[ -f "$dict" ] && args+=(-dict="$dict")
dirs=("$work")
[ -d "$seeds" ] && dirs+=("$seeds")
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" "${args[@]}" -artifact_prefix="$artifacts/$name-" "${dirs[@]}"
