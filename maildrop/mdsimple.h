/* mdsimple.h: maildrop's matcher for simple patterns, without PCRE2.
 *
 * Most filter patterns are text with at most one ".*" and a group of
 * alternative words: /offer1/, /^Subject:.*money5/, /^(From|To|Cc):.*x@/,
 * /^Subject: .*(pills|BUY)/.  Compiling them with PCRE2 (in UTF and
 * caseless mode) is a fifth of what a delivery costs, and each is used
 * once.  This matcher takes the patterns made only of:
 *   - an optional leading ^;
 *   - ASCII characters that are not metacharacters (32 to 126 but
 *     ^$.|?*+()[]{}\), or a backslash and ASCII punctuation;
 *   - capturing groups of such texts separated by | (not nested, no
 *     quantifier after them, an empty alternative allowed);
 *   - at most one .* (greedy: not followed by ?, + or another *).
 * and finds what PCRE2 finds (the same leftmost match, the same greedy
 * choice of .*, the same alternatives in order, the same groups) on a
 * subject that is valid UTF-8, in UTF mode, with or without
 * PCRE2_CASELESS (ASCII letters match the other case), under the
 * conditions md_simple_exec() lists; the caller gives any other subject
 * to PCRE2.  tests/unit/test-maildrop-eval.c and fuzz-maildrop-pattern
 * compare the two. */
#ifndef MDSIMPLE_H
#define MDSIMPLE_H

#include <stdbool.h>
#include <stddef.h>

struct md_simple;

/* The longest pattern md_simple_parse() takes, and the most groups. */
#define MD_SIMPLE_MAX_LEN 512
#define MD_SIMPLE_MAX_GROUPS 8

/* Parses re (len bytes) as a simple pattern, matched caselessly when
 * caseless.  Returns NULL when it is not one (PCRE2 then compiles it);
 * caller frees with md_simple_free(). */
struct md_simple *md_simple_parse(const char *re, size_t len, bool caseless);
void md_simple_free(struct md_simple **sp);

/* The number of capturing groups. */
unsigned int md_simple_groups(const struct md_simple *sp);
/* True when the pattern has no caseless k or s: in caseless UTF mode
 * PCRE2 matches k to U+212A KELVIN SIGN and s to U+017F LONG S (the only
 * characters beyond ASCII it matches to an ASCII letter), which this
 * matcher does not; a subject with either of those needs PCRE2 when
 * this is false. */
bool md_simple_fold_safe(const struct md_simple *sp);
/* True when the pattern has a ".*" (which must not match a line end:
 * the caller checks that PCRE2's newline is LF before using it). */
bool md_simple_has_any(const struct md_simple *sp);

/* Matches sp against subject (len bytes) from start.  The subject must
 * be valid UTF-8 (ASCII included), start on a character boundary, and,
 * when md_simple_fold_safe() is false, hold no U+212A or U+017F.
 * Returns true and fills spans[0..2*(groups+1)-1] with the offsets of
 * the whole match and of each group (every group of a match is set), or
 * false.  Time is linear in len times the pattern's size. */
bool md_simple_exec(const struct md_simple *sp, const char *subject,
		    size_t len, size_t start, size_t *spans);

#endif
