/* test-maildrop-eval.c: unit tests for the maildrop interpreter: variable
 * substitution, numbers, pattern flags and weights, MATCH variables,
 * functions, exceptions and delivery into a maildir with quota. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mdeval.h"
#include "mdmsg.h"
#include "mdparse.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mddeliver.h"
#include "mem.h"

static const char message[] =
	"From: Joe <joe@example.com>\n"
	"To: a@example.org, \"B\" <B@Example.ORG>\n"
	"Subject: Hello =?ISO-8859-1?Q?caf=E9?= world\n"
	"X-Folded: one\n   two\n"
	"\n"
	"first body line\n"
	"second Hello line\n"
	"hello again\n";

struct ctx {
	struct md_message *msg;
	struct md_interp *it;
};

static int setup(void **state)
{
	struct ctx *c = xcalloc(1, sizeof(*c));
	static char *args[] = { (char *)"arg1", (char *)"arg2" };

	c->msg = md_message_new();
	md_message_set(c->msg, message, strlen(message));
	c->it = md_interp_create(c->msg, NULL, args, 2);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	md_interp_destroy(&c->it);
	md_message_free(&c->msg);
	free(c);
	return 0;
}

static enum md_run_result run(struct ctx *c, const char *text)
{
	struct md_parser *p = md_parser_create(NULL);
	struct md_node *prog = md_parse(p, "t", text, strlen(text));
	enum md_run_result r;

	if (prog == NULL)
		fail_msg("%s", md_parser_error(p));
	r = md_interp_run(c->it, prog, "t");
	md_node_free(&prog);
	md_parser_destroy(&p);
	return r;
}

#define get(c, name) md_interp_get((c)->it, name)

static void test_substitution(void **state)
{
	struct ctx *c = *state;

	run(c, "X=abc\nA=\"[$X]\"\nB='$X'\nC=\"${X}d\"\nD=\"$Xd\"\n"
	       "E=\"a\\\\b\\\"c\\$X\"\nF=$X/$X\nG=\"$1-$2-$3\"\nH=\"$\"\n");
	assert_string_equal(get(c, "A"), "[abc]");
	assert_string_equal(get(c, "B"), "$X");
	assert_string_equal(get(c, "C"), "abcd");
	assert_string_equal(get(c, "D"), "");
	assert_string_equal(get(c, "E"), "a\\b\"c\\$X");
	assert_string_equal(get(c, "F"), "abc/abc");
	assert_string_equal(get(c, "G"), "arg1-arg2-");
	assert_string_equal(get(c, "H"), "$");
	run(c, "X=a\"b\" 'c'   d\nY=`echo hi; echo there  `\n");
	assert_string_equal(get(c, "X"), "abcd");
	assert_string_equal(get(c, "Y"), "hi there");
	assert_string_equal(get(c, "RETURNCODE"), "0");
}

static void test_numbers(void **state)
{
	struct ctx *c = *state;

	run(c, "A=5 / 2\nB=7 - 2 * 3\nC=2 / 3\nD=\" 12abc\" + 1\nE=10 lt 9\n"
	       "F=10 < 9\nG=1 | 6\nH= ~5\nI=\"3\" == \"3.0\"\nJ=\"\" || \"x\"\n"
	       "K=0 && \"x\"\nL=!\"\"\nM=-5 + 2\n");
	assert_string_equal(get(c, "A"), "2.5");
	assert_string_equal(get(c, "B"), "1");
	assert_string_equal(get(c, "C"), "0.6666666666666666296592");
	assert_string_equal(get(c, "D"), "13");
	assert_string_equal(get(c, "E"), "1");
	assert_string_equal(get(c, "F"), "0");
	assert_string_equal(get(c, "G"), "7");
	assert_string_equal(get(c, "H"), "-6");
	assert_string_equal(get(c, "I"), "1");
	assert_string_equal(get(c, "J"), "x");
	assert_string_equal(get(c, "K"), "0");
	assert_string_equal(get(c, "L"), "1");
	assert_string_equal(get(c, "M"), "-3");
	/* whole numbers on both sides of the %lld fast path */
	run(c, "N=999999999999999 + 0\nO=1000000000000000 + 0\n"
	       "P=0 - 123456789012345\nQ=1e20 + 0\nR=0.5 * 4\nS=-0.5 * 0\n");
	assert_string_equal(get(c, "N"), "999999999999999");
	assert_string_equal(get(c, "O"), "1000000000000000");
	assert_string_equal(get(c, "P"), "-123456789012345");
	assert_string_equal(get(c, "Q"), "100000000000000000000");
	assert_string_equal(get(c, "R"), "2");
	assert_string_equal(get(c, "S"), "-0");
}

static void test_patterns(void **state)
{
	struct ctx *c = *state;

	/* header by default, caseless; MATCH and MATCHn */
	run(c, "A=(/^subject: (.*) (w.*)/)\nM=$MATCH\nM1=$MATCH1\nM2=$MATCH2\n");
	assert_string_equal(get(c, "A"), "2");
	assert_string_equal(get(c, "M"), "Subject: Hello café world");
	assert_string_equal(get(c, "M1"), "Hello café");
	assert_string_equal(get(c, "M2"), "world");
	/* D: case-sensitive */
	run(c, "A=(/^subject:/:D)\nB=(/^Subject:/:D)\n");
	assert_string_equal(get(c, "A"), "0");
	assert_string_equal(get(c, "B"), "2");
	/* b: body only; h and b together */
	run(c, "A=(/first/)\nB=(/first/:b)\nC=(/hello/:hb,1)\n");
	assert_string_equal(get(c, "A"), "0");
	assert_string_equal(get(c, "B"), "2");
	assert_string_equal(get(c, "C"), "3");
	/* weights: w, w*f, w*f*f over matching lines (one per line) */
	run(c, "A=(/l/:b,3,2)\nB=(/hello/:b,1.5)\nC=(/e/:b,10,0.5)\n");
	assert_string_equal(get(c, "A"), "21");
	assert_string_equal(get(c, "B"), "3");
	assert_string_equal(get(c, "C"), "17.5");
	/* folded header lines join with a space */
	run(c, "A=(/^X-Folded: one    two$/)\n");
	assert_string_equal(get(c, "A"), "2");
	/* =~ against a string */
	run(c, "A=\"abc\" =~ /B/\nB=\"abc\" =~ /B/:D\nC=\"abc\" =~ /b/:,5\n");
	assert_string_equal(get(c, "A"), "1");
	assert_string_equal(get(c, "B"), "0");
	assert_string_equal(get(c, "C"), "5");
	/* variables in patterns */
	run(c, "W=again\nA=(/^hello $W$/:b)\n");
	assert_string_equal(get(c, "A"), "2");
	/* foreach, several matches per string */
	run(c, "N=\"\"\nforeach (\"a1b22c333\") =~ /[0-9]+/\n{\n N=\"$N,$MATCH\"\n}\n"
	       "H=0\nforeach /^(to|from):/\n{\n H=$H+1\n}\n");
	assert_string_equal(get(c, "N"), ",1,22,333");
	assert_string_equal(get(c, "H"), "2");
	/* the match inside the parentheses, as Debian's takes it too */
	run(c, "N=\"\"\nforeach (\"a1b22\" =~ /[0-9]+/)\n{\n N=\"$N,$MATCH\"\n}\n"
	       "H=0\nforeach (/^(to|from):/)\n{\n H=$H+1\n}\n");
	assert_string_equal(get(c, "N"), ",1,22");
	assert_string_equal(get(c, "H"), "2");
}

static void write_text(const char *path, const char *text);

/* Simple patterns (mdsimple.c: text, one .*, groups of alternatives,
 * matched without PCRE2 where that gives PCRE2's answer) against what
 * PCRE2 answers, groups included, on ASCII, UTF-8 (with and without
 * U+212A KELVIN SIGN and U+017F LONG S), invalid subjects, subjects with
 * line ends and every start offset; and the premise: no character
 * beyond ASCII is caselessly an ASCII letter but those two. */
static void test_literal_patterns(void **state)
{
	static const char *const pats[] = {
		"offer", "^x-spam-score: 3\\.", "kelvin", "^Subject", "s",
		"a\\+b", "^", "a.b", "Offer", "ss", "\\", "fo\\(",
		"^Subject:.*money5", "^(From|To|Cc):.*user2@", "offer.*1",
		"^Subject: .*(pills|BUY)", "^List-Id: .*list3", ".*", "^.*",
		".*b", "a.*", "(a|ab)(c|bcd)", "(|a)b", "(a|)", "()", "",
		"x(a|b).*(b|c)y", "^(k|s).*(K|S)", ".*(e|of)", "a.*.*b",
		"a.*?b", "(a|b)*", "(a(b))", "a.+b", "(?:a|b)", "\\.*x",
		"caf.*r", "(o|f)+", "e.*\\)", "^.*(f|o)", "(.*)",
	};
	static const char *const subjects[] = {
		"offer", "OFFER1 here", "J\xc3\xbcrgen offer", "X-Spam-Score: 3.5",
		"x-spam-score: 345", "\xe2\x84\xaa" "elvin", "KELVIN", "\xc5\xbf",
		"subject: x", " subject", "a+b", "aab", "caf\xe9 offer",
		"\xc3\xa9offer", "", "s\xc5\xbfS", "fo(", "\xe2\x84\xaa" "offer",
		"Subject: money5 and MONEY5 end", "To: user2@x, user2@y",
		"From: a\nCc: user2@z", "offer 1 of\n 1", "a\nb", "abcd",
		"xaby xbcy", "k\xe2\x84\xaa" "s\xc5\xbf", "Subject: BUY pills",
		"List-Id: <list3.example> list3", "caf\xc3\xa9 r\xc3\xa9r",
		"caf\xe9 r", "\r\n", "e) e)", "ab\xc3\xa9" "b\nb",
	};
	unsigned char buf[4];
	struct md_pattern *pat;
	char *err = NULL;
	unsigned int n = 0;

	(void)state;
	for (size_t p = 0; p < N_ELEMENTS(pats); p++) {
		for (unsigned int fl = 0; fl <= MD_PAT_CASE; fl += MD_PAT_CASE) {
			struct md_pattern *lit, *re;

			char *err2 = NULL;

			lit = md_pattern_compile(pats[p], strlen(pats[p]), fl, &err);
			re = md_pattern_compile(pats[p], strlen(pats[p]),
						fl | MD_PATTERN_NO_LITERAL, &err2);
			/* one PCRE2 refuses is no literal either */
			if (re == NULL) {
				assert_null(lit);
				assert_string_equal(err, err2);
				x_free(err);
				x_free(err2);
				continue;
			}
			assert_non_null(lit);
			for (size_t s = 0; s < N_ELEMENTS(subjects); s++) {
				size_t len = strlen(subjects[s]);

				for (size_t st = 0; st <= len; st++) {
					struct md_match a = { NULL, 0 };
					struct md_match b = { NULL, 0 };
					size_t ea = 0, eb = 0;
					int ra = md_pattern_exec(lit, subjects[s], len,
								 st, &ea, &a);
					int rb = md_pattern_exec(re, subjects[s], len,
								 st, &eb, &b);

					assert_int_equal(ra, rb);
					if (ra == 1) {
						assert_int_equal(ea, eb);
						assert_int_equal(a.ngroups,
								 b.ngroups);
						for (size_t g = 0;
						     g < a.ngroups; g++)
							assert_string_equal(
								a.groups[g],
								b.groups[g]);
					}
					md_match_clear(&a);
					md_match_clear(&b);
				}
			}
			md_pattern_free(&lit);
			md_pattern_free(&re);
		}
	}
	/* every code point beyond ASCII that [a-z] matches caselessly */
	pat = md_pattern_compile("[a-z]", 5, 0, &err);
	assert_non_null(pat);
	for (unsigned int u = 0x80; u < 0x110000; u++) {
		size_t len;

		if (u >= 0xD800 && u < 0xE000)
			continue;
		if (u < 0x800) {
			buf[0] = (unsigned char)(0xC0 | (u >> 6));
			buf[1] = (unsigned char)(0x80 | (u & 0x3F));
			len = 2;
		} else if (u < 0x10000) {
			buf[0] = (unsigned char)(0xE0 | (u >> 12));
			buf[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
			buf[2] = (unsigned char)(0x80 | (u & 0x3F));
			len = 3;
		} else {
			buf[0] = (unsigned char)(0xF0 | (u >> 18));
			buf[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
			buf[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
			buf[3] = (unsigned char)(0x80 | (u & 0x3F));
			len = 4;
		}
		if (md_pattern_exec(pat, (const char *)buf, len, 0, NULL,
				    NULL) == 1) {
			assert_true(u == 0x212A || u == 0x17F);
			n++;
		}
	}
	assert_int_equal(n, 2);
	md_pattern_free(&pat);
	free(err);
}

/* Patterns in UTF mode against subjects that are and are not valid
 * UTF-8: a message's lines are checked once and matched without PCRE2's
 * own check; an invalid line gets PCRE2_MATCH_INVALID_UTF's results (an
 * invalid byte matches nothing, the rest matches as usual); a start
 * inside a character is no error. */
static void test_utf8_subjects(void **state)
{
	static const char latin1[] =
		"From: x@example.com\n"
		"Subject: caf\xe9 cr\xe8me\n"
		"\n"
		"na\xefve body\n"
		"r\xc3\xa9sum\xc3\xa9 ok\n";
	struct ctx *c = *state;
	struct md_message *msg = md_message_new();
	struct md_interp *it;
	struct md_pattern *pat;
	struct md_match m = { NULL, 0 };
	size_t end;
	char *err = NULL;

	/* valid: '.' is one character, caseless beyond ASCII */
	pat = md_pattern_compile("^CAF.$", 6, 0, &err);
	assert_non_null(pat);
	assert_int_equal(md_pattern_exec(pat, "caf\xc3\xa9", 5, 0, NULL, &m), 1);
	assert_string_equal(m.groups[0], "caf\xc3\xa9");
	assert_int_equal(md_pattern_exec_checked(pat, "caf\xc3\xa9", 5, MD_SUBJECT_UTF8, 0,
						 NULL, NULL), 1);
	/* invalid: the byte \xe9 is no character; both paths agree */
	assert_int_equal(md_pattern_exec(pat, "caf\xe9", 4, 0, NULL, NULL), 0);
	assert_int_equal(md_pattern_exec_checked(pat, "caf\xe9", 4, MD_SUBJECT_INVALID, 0,
						 NULL, NULL), 0);
	md_pattern_free(&pat);
	pat = md_pattern_compile("cr.me|caf", 9, 0, &err);
	assert_int_equal(md_pattern_exec(pat, "x \xe9 caf", 7, 0, &end, &m), 1);
	assert_string_equal(m.groups[0], "caf");
	assert_int_equal(end, 7);
	assert_int_equal(md_pattern_exec(pat, "cr\xe8me", 5, 0, NULL, NULL), 0);
	md_pattern_free(&pat);
	/* a start inside a character: what PCRE2_MATCH_INVALID_UTF answers
	 * (x* matches empty there), no undefined NO_UTF_CHECK match */
	pat = md_pattern_compile("x*", 2, 0, &err);
	assert_int_equal(md_pattern_exec_checked(pat, "\xc3\xa9", 2, MD_SUBJECT_UTF8, 1,
						 &end, NULL),
			 md_pattern_exec(pat, "\xc3\xa9", 2, 1, &end, NULL));
	assert_int_equal(md_pattern_exec(pat, "\xc3\xa9", 2, 1, &end, NULL), 1);
	md_pattern_free(&pat);
	/* the message: lines of either kind, searched and iterated */
	md_message_set(msg, latin1, sizeof(latin1) - 1);
	it = md_interp_create(msg, NULL, NULL, 0);
	md_interp_destroy(&c->it);
	c->it = it;
	run(c, "A=(/^subject: caf/)\nB=(/^na/:b)\n"
	       "C=(/^na.ve/:b)\nD=(/^r.sum. ok/:b)\nE=(/ve body$/:b)\n"
	       "N=0\nforeach /[a-z]+/:b\n{\n N=$N+1\n}\n"
	       "S=\"\"\nforeach (\"a\xc3\xa9" "b\") =~ /[^b]/\n{\n S=\"$S<$MATCH>\"\n}\n");
	assert_string_equal(get(c, "A"), "2");
	assert_string_equal(get(c, "B"), "2");
	assert_string_equal(get(c, "C"), "0");
	assert_string_equal(get(c, "D"), "2");
	assert_string_equal(get(c, "E"), "2");
	assert_string_equal(get(c, "N"), "2");
	assert_string_equal(get(c, "S"), "<a><\xc3\xa9>");
	md_match_clear(&m);
	free(err);
	md_interp_destroy(&c->it);
	c->it = md_interp_create(c->msg, NULL, NULL, 0);
	md_message_free(&msg);
}

/* keep_programs: the files' trees and patterns live until the end, the
 * second file still runs and matches; md_interp_close() flushes the log
 * file, which stays open for the next file. */
static void test_keep_programs(void **state)
{
	struct ctx *c = *state;
	struct md_interp_settings set;
	char tmpl[] = "/tmp/test-maildrop-XXXXXX";
	char *f1, *f2, *log, *text, *cmd;
	FILE *f;
	char buf[256];
	size_t n;

	assert_non_null(mkdtemp(tmpl));
	f1 = xasprintf("%s/one", tmpl);
	f2 = xasprintf("%s/two", tmpl);
	log = xasprintf("%s/log", tmpl);
	text = xasprintf("logfile \"%s\"\nA=(/^subject: hello/)\nlog \"one $A\"\n",
			 log);
	write_text(f1, text);
	free(text);
	write_text(f2, "B=(/^subject: hello/)\nC=(/first/:b)\nlog \"two $B $C\"\n");
	memset(&set, 0, sizeof(set));
	set.keep_programs = true;
	md_interp_destroy(&c->it);
	c->it = md_interp_create(c->msg, &set, NULL, 0);
	assert_int_equal(md_interp_run_file(c->it, f1), MD_RUN_END);
	md_interp_close(c->it);
	assert_int_equal(md_interp_run_file(c->it, f2), MD_RUN_END);
	assert_string_equal(get(c, "A"), "2");
	assert_string_equal(get(c, "B"), "2");
	assert_string_equal(get(c, "C"), "2");
	md_interp_close(c->it);
	f = fopen(log, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, "one 2\ntwo 2 2\n");
	cmd = xasprintf("rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f1);
	free(f2);
	free(log);
}

static void test_functions(void **state)
{
	struct ctx *c = *state;

	run(c, "A=length(\"héllo\")\nB=substr(\"hello\",1,3)\nC=substr(\"hello\",2)\n"
	       "D=substr(\"hello\",-2,2)\nE=tolower(\"ABC\")\nF=toupper(\"abc\")\n"
	       "G=escape(\"a.b*c\")\nH=getaddr(\"A <a@b.c>, x@y.z (Z)\")\n"
	       "I=hasaddr(\"b@example.org\")\nJ=hasaddr(\"joe@example.com\")\n"
	       "K=time > 1000000000\n");
	assert_string_equal(get(c, "A"), "6");
	assert_string_equal(get(c, "B"), "ell");
	assert_string_equal(get(c, "C"), "llo");
	assert_string_equal(get(c, "D"), "");
	assert_string_equal(get(c, "E"), "abc");
	assert_string_equal(get(c, "F"), "ABC");
	assert_string_equal(get(c, "G"), "a\\.b\\*c");
	assert_string_equal(get(c, "H"), "a@b.c\nx@y.z\n");
	assert_string_equal(get(c, "I"), "1");
	assert_string_equal(get(c, "J"), "0");
	assert_string_equal(get(c, "K"), "1");
}

static void test_exception_and_exit(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(run(c, "exception {\n include \"/nonexistent/file\"\n}\nA=after\n"),
			 MD_RUN_END);
	assert_string_equal(get(c, "A"), "after");
	assert_int_equal(run(c, "include \"/nonexistent/file\"\nB=notreached\n"),
			 MD_RUN_FAIL);
	assert_string_equal(get(c, "B"), "");
	assert_int_equal(md_interp_finish(c->it, MD_RUN_FAIL), MD_EX_TEMPFAIL);
}

static int count_new(const char *dir)
{
	char *p = xasprintf("%s/new", dir);
	DIR *d = opendir(p);
	struct dirent *e;
	int n = 0;

	free(p);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_delivery(void **state)
{
	struct ctx *c = *state;
	char tmpl[] = "/tmp/test-maildrop-XXXXXX";
	char *dir, *prog;
	const char *err;

	assert_non_null(mkdtemp(tmpl));
	dir = xasprintf("%s/Maildir", tmpl);
	assert_int_equal(maildir_create(dir, &err), 0);
	prog = xasprintf("cc \"%s/\"\nEXITCODE=3\nto %s\n", dir, dir);
	assert_int_equal(run(c, prog), MD_RUN_EXIT);
	free(prog);
	assert_int_equal(count_new(dir), 2);
	assert_int_equal(md_interp_finish(c->it, MD_RUN_EXIT), 3);
	/* over quota: a temporary failure, nothing delivered */
	prog = xasprintf("MAILDIRQUOTA=10S\nto \"%s/\"\n", dir);
	assert_int_equal(run(c, prog), MD_RUN_FAIL);
	free(prog);
	assert_string_equal(md_interp_error(c->it), "maildir over quota.");
	assert_int_equal(count_new(dir), 2);
	prog = xasprintf("rm -rf '%s'", tmpl);
	assert_int_equal(system(prog), 0);
	free(prog);
	free(dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Embedded mode: refused statements are a syntax error, also when
 * hidden in blocks or includes; the rest runs; no default delivery; a
 * file of the trusted directory may run commands. */
static void test_embedded(void **state)
{
	static const char *const refused[] = {
		"to \"x/\"\n", "cc x\n", "log \"a\"\n", "logfile l\n",
		"xfilter \"cat\"\n", "system \"true\"\n",
		"if (1)\n{\n  A=`true`\n}\n", "dotlock \"l\" {\n}\n",
		"flock \"l\" {\n}\n", "while (0)\n{\n  to \"x\"\n}\n",
	};
	struct ctx *c = *state;
	struct md_interp_settings set;
	char tmpl[] = "/tmp/test-maildrop-XXXXXX";
	char *path, *trusted, *inc, *cmd;

	(void)c;
	assert_non_null(mkdtemp(tmpl));
	path = xasprintf("%s/f", tmpl);
	trusted = xasprintf("%s/rcs", tmpl);
	assert_int_equal(mkdir(trusted, 0700), 0);
	memset(&set, 0, sizeof(set));
	set.embedded = true;
	set.trusted_dir = trusted;
	for (size_t i = 0; i < N_ELEMENTS(refused); i++) {
		struct md_interp *it = md_interp_create(c->msg, &set, NULL, 0);

		write_text(path, refused[i]);
		assert_int_equal(md_interp_run_file(it, path), MD_RUN_FAIL);
		assert_int_equal(md_interp_finish(it, MD_RUN_FAIL), MD_EX_TEMPFAIL);
		md_interp_destroy(&it);
	}
	{
		struct md_interp *it = md_interp_create(c->msg, &set, NULL, 0);

		md_interp_set(it, "DEFAULT", "/nonexistent/mailbox");
		write_text(path, "if (/^Subject: Hello/)\n{\n  EXITCODE=7\n}\n");
		assert_int_equal(md_interp_run_file(it, path), MD_RUN_END);
		/* no delivery to DEFAULT (it would fail) */
		assert_int_equal(md_interp_finish(it, MD_RUN_END), 7);
		md_interp_destroy(&it);
	}
	{
		struct md_interp *it = md_interp_create(c->msg, &set, NULL, 0);

		inc = xasprintf("%s/trusted", trusted);
		write_text(inc, "HOME=changed\nR=`echo ran`\n");
		cmd = xasprintf("HOME=/start\ninclude \"%s\"\n", inc);
		write_text(path, cmd);
		free(cmd);
		md_interp_set(it, "HOME", "/home/x");
		assert_int_equal(md_interp_run_file(it, path), MD_RUN_END);
		assert_string_equal(md_interp_get(it, "R"), "ran");
		/* HOME was reset to its starting value before, then set */
		assert_string_equal(md_interp_get(it, "HOME"), "changed");
		md_interp_destroy(&it);
		/* a name with '.' is not trusted */
		it = md_interp_create(c->msg, &set, NULL, 0);
		free(inc);
		inc = xasprintf("%s/../rcs/trusted", trusted);
		cmd = xasprintf("include \"%s\"\n", inc);
		write_text(path, cmd);
		free(cmd);
		assert_int_equal(md_interp_run_file(it, path), MD_RUN_FAIL);
		md_interp_destroy(&it);
		free(inc);
	}
	cmd = xasprintf("rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(path);
	free(trusted);
}

/* FLAGS and the quota warning. */
static void test_flags_and_quota_warning(void **state)
{
	struct ctx *c = *state;
	char tmpl[] = "/tmp/test-maildrop-XXXXXX";
	char *dir, *prog, *warn, *p, *err = NULL;
	const char *e;
	DIR *d;
	struct dirent *de;
	int found = 0;

	assert_non_null(mkdtemp(tmpl));
	dir = xasprintf("%s/Maildir", tmpl);
	assert_int_equal(maildir_create(dir, &e), 0);
	prog = xasprintf("FLAGS=SR\nto \"%s/\"\n", dir);
	assert_int_equal(run(c, prog), MD_RUN_EXIT);
	free(prog);
	p = xasprintf("%s/cur", dir);
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ":2,RS") != NULL)
			found++;
	closedir(d);
	free(p);
	assert_int_equal(found, 1);
	/* the quota warning */
	warn = xasprintf("%s/warn", tmpl);
	write_text(warn, "Subject: full\n\nfull\n");
	p = xasprintf("%s/maildirsize", dir);
	write_text(p, "1000S\n         900            1\n");
	free(p);
	assert_int_equal(md_quota_warn(dir, 95, warn, &err), 0);
	assert_int_equal(md_quota_warn(dir, 80, warn, &err), 1);
	assert_int_equal(md_quota_warn(dir, 80, warn, &err), 0);
	assert_int_equal(count_new(dir), 1);
	/* a missing warning file: nothing, no error */
	p = xasprintf("%s/quotawarn", dir);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(md_quota_warn(dir, 80, "/nonexistent/warn", &err), 0);
	prog = xasprintf("rm -rf '%s'", tmpl);
	assert_int_equal(system(prog), 0);
	free(prog);
	free(warn);
	free(dir);
}

static void test_keywords(void **state)
{
	char **names, *bad, *big;
	const char *e;
	char tmpl[] = "/tmp/md-kw-XXXXXX", *dir, *name = NULL, *cmd;
	struct maildir_keywords *kw;
	const char *const *got;
	size_t n;
	bool over;

	(void)state;
	assert_int_equal(md_keywords_split(NULL, &names, &bad), 0);
	assert_null(names);
	assert_null(bad);
	assert_int_equal(md_keywords_split(",,,", &names, &bad), 0);
	assert_null(names);
	assert_int_equal(md_keywords_split("zeta,$Label1,,zeta,Alpha,a b,x(y,",
					   &names, &bad), 3);
	assert_string_equal(names[0], "$Label1");
	assert_string_equal(names[1], "Alpha");
	assert_string_equal(names[2], "zeta");
	assert_null(names[3]);
	assert_string_equal(bad, "a b,x(y");
	md_keywords_free(&names);
	assert_null(names);
	free(bad);
	/* control bytes and 8-bit are not atoms; a limit on the count */
	assert_int_equal(md_keywords_split("a\tb,\xc3\xa9,\n", &names, &bad),
			 0);
	assert_non_null(bad);
	free(bad);
	big = xcalloc(1, 4 * 1000 + 1);
	for (int i = 0; i < 1000; i++) {
		big[4 * i] = (char)('a' + i % 26);
		big[4 * i + 1] = (char)('a' + i / 26 % 26);
		big[4 * i + 2] = (char)('a' + i / 676);
		big[4 * i + 3] = ',';
	}
	assert_int_equal(md_keywords_split(big, &names, &bad), MD_KEYWORDS_MAX);
	md_keywords_free(&names);
	free(big);
	/* delivered and stored as lib/maildir-keywords reads them */
	assert_non_null(mkdtemp(tmpl));
	dir = xasprintf("%s/Maildir", tmpl);
	assert_int_equal(maildir_create(dir, &e), 0);
	assert_int_equal(md_deliver_maildir_kw(dir, "S: x\n\nb\n", 8, NULL,
					       "S", "foo,$Label1,bad word",
					       &over, &name, &bad),
			 0);
	assert_non_null(name);
	assert_non_null(strstr(name, "bad word"));
	free(name);
	assert_int_equal(maildir_keywords_load(dir, NULL, &kw, &e), 0);
	assert_int_equal(maildir_keywords_message_count(kw), 1);
	{
		size_t count;
		const char **msgs = maildir_keywords_messages(kw, &count);

		got = maildir_keywords_get(kw, msgs[0], &n);
		assert_int_equal(n, 2);
		assert_string_equal(got[0], "$Label1");
		assert_string_equal(got[1], "foo");
		free(msgs);
	}
	maildir_keywords_destroy(&kw);
	cmd = xasprintf("rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_substitution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patterns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_functions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exception_and_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_embedded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_and_quota_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keywords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8_subjects, setup, teardown),
		cmocka_unit_test(test_literal_patterns),
		cmocka_unit_test_setup_teardown(test_keep_programs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
