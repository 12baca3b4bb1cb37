#!/bin/sh
# tests/lint.sh: refuses unbounded string functions in the suite's sources.
# Usage: tests/lint.sh [srcdir]
top=${1:-.}
cd "$top" || exit 2
bad=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strncpy|strncat|stpcpy)[[:space:]]*\(' \
	$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]') 2>/dev/null \
	| grep -v '^tests/unit/' | grep -v '/\* lint-ok' )
if [ -n "$bad" ]; then
	echo "lint: unbounded string functions (use lib/str.h):"
	echo "$bad"
	exit 1
fi
echo "lint: ok"
