/* test-mime-parser.c: unit tests for the streaming MIME parser and its
 * structure tree: offsets, lines, fields, sections, every split of the
 * input, decoded bodies, malformed input and limits. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "mem.h"
#include "str.h"
#include "mime-parser.h"

static const char nested_msg[] =
	"From: a@b.c\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"XX\"\n"
	"\n"
	"preamble\n"
	"--XX\n"
	"Content-Type: text/plain; charset=ISO-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"Content-ID: <abc@def>\n"
	"Content-Description: hello\n"
	"Content-Language: en\n"
	"Content-Location: http://x/y\n"
	"Content-MD5: Q2hlY2s=\n"
	"\n"
	"caf=E9\n"
	"line2\n"
	"--XX\n"
	"Content-Type: multipart/alternative; boundary=YY\n"
	"\n"
	"--YY\n"
	"\n"
	"alt1\n"
	"--YY\n"
	"Content-Type: text/html\n"
	"\n"
	"<b>x</b>\n"
	"--YY--\n"
	"--XX\n"
	"Content-Type: message/rfc822\n"
	"Content-Disposition: attachment; filename=\"m.eml\"\n"
	"\n"
	"Subject: inner\n"
	"Content-Type: multipart/mixed; boundary=ZZ\n"
	"\n"
	"--ZZ\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"aGVsbG8gd29y\n"
	"bGQ=\n"
	"--ZZ--\n"
	"--XX--\n"
	"epilogue\n";

static uint64_t off(const char *needle)
{
	const char *p = strstr(nested_msg, needle);

	assert_non_null(p);
	return (uint64_t)(p - nested_msg);
}

static void check_nested(struct mime_part *root)
{
	struct mime_part *p1, *p2, *p21, *p22, *p3, *msg, *p31;

	assert_string_equal(root->type, "multipart");
	assert_string_equal(root->subtype, "mixed");
	assert_int_equal(root->child_count, 3);
	assert_int_equal(root->header_offset, 0);
	assert_int_equal(root->body_offset, off("preamble"));
	assert_int_equal(root->end_offset, sizeof(nested_msg) - 1);
	assert_int_equal(root->header_lines, 4);

	p1 = mime_part_find_section(root, "1");
	assert_non_null(p1);
	assert_string_equal(p1->type, "text");
	assert_string_equal(mime_part_charset(p1), "ISO-8859-1");
	assert_string_equal(p1->encoding, "quoted-printable");
	assert_string_equal(p1->id, "<abc@def>");
	assert_string_equal(p1->description, "hello");
	assert_string_equal(p1->language, "en");
	assert_string_equal(p1->location, "http://x/y");
	assert_string_equal(p1->md5, "Q2hlY2s=");
	assert_int_equal(p1->header_offset, off("Content-Type: text/plain"));
	assert_int_equal(p1->body_offset, off("caf=E9"));
	/* The line end before the boundary is not body. */
	assert_int_equal(p1->end_offset, off("line2") + 5);
	assert_int_equal(p1->body_size, 12);
	assert_int_equal(p1->body_lines, 1);
	assert_int_equal(p1->header_lines, 8);

	p2 = mime_part_find_section(root, "2");
	assert_true((p2->flags & MIME_PART_FLAG_MULTIPART) != 0);
	p21 = mime_part_find_section(root, "2.1");
	p22 = mime_part_find_section(root, "2.2");
	assert_string_equal(p21->type, "text");
	assert_true((p21->flags & MIME_PART_FLAG_DEFAULT_TYPE) != 0);
	assert_string_equal(mime_part_charset(p21), "us-ascii");
	assert_int_equal(p21->body_size, 4);
	assert_string_equal(p22->subtype, "html");
	assert_int_equal(p22->end_offset, off("<b>x</b>") + 8);
	assert_null(mime_part_find_section(root, "2.3"));
	assert_int_equal(p2->end_offset, off("--YY--") + 6);

	p3 = mime_part_find_section(root, "3");
	assert_true((p3->flags & MIME_PART_FLAG_MESSAGE) != 0);
	assert_string_equal(p3->disposition, "attachment");
	assert_string_equal(mime_part_disposition_param(p3, "filename"),
			    "m.eml");
	msg = mime_part_message(p3);
	assert_non_null(msg);
	assert_int_equal(msg->header_offset, p3->body_offset);
	assert_int_equal(msg->end_offset, p3->end_offset);
	p31 = mime_part_find_section(root, "3.1");
	assert_non_null(p31);
	assert_ptr_equal(p31->parent, msg);
	assert_string_equal(p31->encoding, "base64");
	assert_int_equal(p31->body_lines, 1);
	assert_null(mime_part_find_section(root, "3.2"));
	assert_null(mime_part_find_section(root, "4"));
	assert_null(mime_part_find_section(root, "1..2"));
	assert_null(mime_part_find_section(root, "x"));
	assert_ptr_equal(mime_part_find_section(root, ""), root);

	struct str s;
	str_init(&s, 16);
	mime_part_get_section(p31, &s);
	assert_string_equal(str_c(&s), "3.1");
	str_clear(&s);
	mime_part_get_section(p22, &s);
	assert_string_equal(str_c(&s), "2.2");
	str_free(&s);
}

static bool same_tree(const struct mime_part *a, const struct mime_part *b)
{
	for (; a != NULL && b != NULL;
	     a = mime_part_walk_next(a), b = mime_part_walk_next(b)) {
		if (a->header_offset != b->header_offset ||
		    a->body_offset != b->body_offset ||
		    a->end_offset != b->end_offset ||
		    a->header_lines != b->header_lines ||
		    a->body_lines != b->body_lines ||
		    a->flags != b->flags || strcmp(a->type, b->type) != 0 ||
		    strcmp(a->subtype, b->subtype) != 0)
			return false;
	}
	return a == NULL && b == NULL;
}

struct bodies {
	struct str raw, decoded;
};

static void body_cb(struct mime_part *part, const void *data, size_t size,
		    void *context)
{
	struct bodies *b = context;

	str_append_n(&b->raw, data, size);
}

static void decoded_cb(struct mime_part *part, const void *data, size_t size,
		       void *context)
{
	struct bodies *b = context;

	str_append_n(&b->decoded, data, size);
}

static void part_end_cb(struct mime_part *part, void *context)
{
	struct bodies *b = context;

	if ((part->flags & (MIME_PART_FLAG_MULTIPART |
			    MIME_PART_FLAG_MESSAGE)) == 0) {
		str_append_c(&b->raw, '|');
		str_append_c(&b->decoded, '|');
	}
}

static struct mime_part *parse_split(const char *data, size_t len,
				     size_t split1, size_t step,
				     struct bodies *b)
{
	struct mime_parser_callbacks cb = {
		.body = body_cb, .decoded_body = decoded_cb,
		.part_end = part_end_cb,
	};
	struct mime_parser *p = mime_parser_create(NULL, &cb, b);
	struct mime_part *root;
	size_t pos = split1;

	mime_parser_feed(p, data, split1);
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;

		mime_parser_feed(p, data + pos, n);
		pos += n;
	}
	root = mime_parser_finish(p);
	mime_parser_destroy(&p);
	return root;
}

static void test_nested_structure(void **state)
{
	struct mime_part *root = mime_parse_buffer(nested_msg,
						   sizeof(nested_msg) - 1, NULL);

	check_nested(root);
	mime_part_free(&root);
	assert_null(root);
}

static void test_every_split(void **state)
{
	size_t len = sizeof(nested_msg) - 1;
	struct mime_part *whole = mime_parse_buffer(nested_msg, len, NULL);
	const char *expect_raw = "caf=E9\nline2|alt1|<b>x</b>|"
		"aGVsbG8gd29y\nbGQ=|";
	const char *expect_dec = "caf\xe9\nline2|alt1|<b>x</b>|hello world|";

	for (size_t split = 0; split <= len; split++) {
		for (size_t step = 1; step <= 3; step++) {
			struct bodies b;
			struct mime_part *root;

			if (step > 1 && split % 17 != 0)
				continue;
			str_init(&b.raw, 64);
			str_init(&b.decoded, 64);
			root = parse_split(nested_msg, len, split,
					   step == 3 ? len : step, &b);
			assert_true(same_tree(whole, root));
			assert_string_equal(str_c(&b.raw), expect_raw);
			assert_string_equal(str_c(&b.decoded), expect_dec);
			mime_part_free(&root);
			str_free(&b.raw);
			str_free(&b.decoded);
		}
	}
	mime_part_free(&whole);
}

static void test_crlf(void **state)
{
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\n\r\none\r\ntwo\r\n--b\r\n\r\n\r\n--b--\r\n";
	size_t len = strlen(msg);
	struct mime_part *root = mime_parse_buffer(msg, len, NULL);
	struct mime_part *p1 = mime_part_find_section(root, "1");
	struct mime_part *p2 = mime_part_find_section(root, "2");

	assert_int_equal(p1->body_size, 8);	/* "one\r\ntwo" */
	assert_int_equal(p1->body_lines, 1);
	assert_int_equal(p1->header_lines, 1);
	assert_int_equal(p2->body_size, 0);
	assert_int_equal(p2->body_lines, 0);
	assert_int_equal(root->end_offset, len);
	for (size_t split = 0; split <= len; split++) {
		struct bodies b;
		struct mime_part *r;

		str_init(&b.raw, 64);
		str_init(&b.decoded, 64);
		r = parse_split(msg, len, split, 1, &b);
		assert_true(same_tree(root, r));
		assert_string_equal(str_c(&b.raw), "one\r\ntwo||");
		mime_part_free(&r);
		str_free(&b.raw);
		str_free(&b.decoded);
	}
	mime_part_free(&root);
}

/* Regression (found by fuzz-mime): a header's empty CRLF line split
 * between CR and LF, right before a boundary. */
static void test_crlf_header_end_split(void **state)
{
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: message/rfc822\r\n\r\n"
		"Subject: x\r\n\r\n--b--\r\n";
	size_t len = strlen(msg);
	struct mime_part *root = mime_parse_buffer(msg, len, NULL);
	struct mime_part *m = mime_part_find_section(root, "1");

	assert_true((m->flags & MIME_PART_FLAG_MESSAGE) != 0);
	assert_int_equal(m->end_offset, len - 2 - 5 - 2);
	for (size_t split = 0; split <= len; split++) {
		for (size_t step = 1; step <= 2; step++) {
			struct bodies b;
			struct mime_part *r;

			str_init(&b.raw, 16);
			str_init(&b.decoded, 16);
			r = parse_split(msg, len, split, step, &b);
			assert_true(same_tree(root, r));
			mime_part_free(&r);
			str_free(&b.raw);
			str_free(&b.decoded);
		}
	}
	mime_part_free(&root);
}

static void test_defaults(void **state)
{
	const char *digest = "Content-Type: multipart/digest; boundary=d\n\n"
		"--d\n\nSubject: x\n\nbody\n--d--\n";
	const char *invalid = "Content-Type: garbage\n\nbody\n";
	const char *noboundary = "Content-Type: multipart/mixed\n\n--x\n";
	const char *nomime = "Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\n\nx\n--b--\n";
	struct mime_parser_settings strict = { .require_mime_version = true };
	struct mime_part *r;

	r = mime_parse_buffer(digest, strlen(digest), NULL);
	assert_true(mime_part_is_type(r->children, "message", "rfc822"));
	assert_non_null(mime_part_message(r->children));
	assert_int_equal(mime_part_message(r->children)->body_size, 4);
	mime_part_free(&r);

	r = mime_parse_buffer(invalid, strlen(invalid), NULL);
	assert_true(mime_part_is_type(r, "text", "plain"));
	assert_true((r->flags & MIME_PART_FLAG_DEFAULT_TYPE) != 0);
	assert_string_equal(mime_part_charset(r), "us-ascii");
	mime_part_free(&r);

	r = mime_parse_buffer(noboundary, strlen(noboundary), NULL);
	assert_true(mime_part_is_type(r, "text", "plain"));
	assert_true((r->flags & MIME_PART_FLAG_BAD_BOUNDARY) != 0);
	assert_null(r->children);
	mime_part_free(&r);

	r = mime_parse_buffer(nomime, strlen(nomime), &strict);
	assert_true(mime_part_is_type(r, "text", "plain"));
	mime_part_free(&r);
	r = mime_parse_buffer(nomime, strlen(nomime), NULL);
	assert_true(mime_part_is_type(r, "multipart", "mixed"));
	assert_int_equal(r->child_count, 1);
	mime_part_free(&r);
}

static void test_malformed(void **state)
{
	/* Missing closing boundary, nested boundary equal to the outer
	 * one, a part without header, NUL, bare CR and 8-bit bytes. */
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=a\n\n"
		"--a\n"
		"Content-Type: multipart/alternative; boundary=a\n\n"
		"--a\n"
		"no header line\n"
		"\n"
		"x\0y\rz\xff\n"
		"--a\n"
		"Content-Type: text/plain\n";
	size_t len = sizeof(msg) - 1;
	struct mime_part *r = mime_parse_buffer(msg, len, NULL);

	assert_int_equal(r->child_count, 3);
	assert_true((r->flags & MIME_PART_FLAG_UNTERMINATED) != 0);
	assert_true((r->children->flags & MIME_PART_FLAG_MULTIPART) != 0);
	assert_int_equal(r->children->child_count, 0);
	struct mime_part *p2 = mime_part_find_section(r, "2");
	assert_true((p2->flags & MIME_PART_FLAG_HEADER_BROKEN) != 0);
	assert_int_equal(p2->body_size, 6);
	struct mime_part *p3 = mime_part_find_section(r, "3");
	assert_true((p3->flags & MIME_PART_FLAG_NO_HEADER_END) != 0);
	assert_int_equal(p3->end_offset, len);
	assert_int_equal(r->end_offset, len);
	mime_part_free(&r);

	/* Binary junk never crashes and the tree covers the whole input. */
	unsigned char junk[4096];
	unsigned int seed = 1;
	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245 + 12345;
		junk[i] = (unsigned char)(seed >> 16);
	}
	memcpy(junk, "Content-Type: multipart/mixed; boundary=\"\x80\"\n\n", 46);
	r = mime_parse_buffer(junk, sizeof(junk), NULL);
	assert_int_equal(r->end_offset, sizeof(junk));
	mime_part_free(&r);
}

static void test_limits(void **state)
{
	struct str msg;
	struct mime_parser_settings set;
	struct mime_part *r, *q;
	unsigned int depth = 0;

	/* Nesting deeper than the limit: the rest is body. */
	str_init(&msg, 1024);
	for (int i = 0; i < 10; i++)
		str_printfa(&msg, "Content-Type: multipart/mixed; "
			    "boundary=b%d\n\n--b%d\n", i, i);
	str_append(&msg, "\ndeep\n");
	memset(&set, 0, sizeof(set));
	set.limits.max_depth = 4;
	r = mime_parse_buffer(str_c(&msg), str_len(&msg), &set);
	for (q = r; q->children != NULL; q = q->children)
		depth++;
	assert_int_equal(depth, 3);
	assert_true((q->flags & MIME_PART_FLAG_LIMIT_DEPTH) != 0);
	assert_int_equal(q->end_offset, str_len(&msg));
	mime_part_free(&r);

	/* More parts than the limit: the rest goes to the last part. */
	str_clear(&msg);
	str_append(&msg, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 10; i++)
		str_printfa(&msg, "--b\n\npart %d\n", i);
	str_append(&msg, "--b--\n");
	set.limits.max_parts = 4;
	r = mime_parse_buffer(str_c(&msg), str_len(&msg), &set);
	assert_int_equal(r->child_count, 3);
	assert_true((r->flags & MIME_PART_FLAG_LIMIT_PARTS) != 0);
	assert_int_equal(r->last_child->end_offset, str_len(&msg));
	mime_part_free(&r);

	/* A huge header is cut at the limit and the rest is body. */
	str_clear(&msg);
	str_append(&msg, "Subject: ");
	for (int i = 0; i < 1000; i++)
		str_append(&msg, "0123456789");
	str_append(&msg, "\n\nbody\n");
	set.limits.max_header_size = 100;
	r = mime_parse_buffer(str_c(&msg), str_len(&msg), &set);
	assert_true((r->flags & MIME_PART_FLAG_HEADER_TOO_BIG) != 0);
	assert_int_equal(r->body_offset, 100);
	assert_int_equal(r->end_offset, str_len(&msg));
	mime_part_free(&r);
	str_free(&msg);
}

static void test_rfc2231_in_tree(void **state)
{
	const char *msg = "Content-Type: application/x-stuff;\n"
		" title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
		" title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n"
		" title*2=\"isn't it!\"\n\nx";
	struct mime_part *r = mime_parse_buffer(msg, strlen(msg), NULL);

	assert_string_equal(mime_part_param(r, "title"),
			    "This is even more ***fun*** isn't it!");
	mime_part_free(&r);
}

/* Content-Type values that are not type/subtype by RFC 2045, read as
 * Courier's reformime reads them. */
static void test_type_text(void **state)
{
	static const struct {
		const char *ct, *type, *subtype, *text;
		unsigned int children;
	} cases[] = {
		{ "text", "text", "plain", "text", 0 },
		{ "text/html x", "text", "htmlx", "text/htmlx", 0 },
		{ "\"text/html\"; charset=x", "text", "html", "text/html", 0 },
		{ "te xt/plain", "text", "plain", "text/plain", 0 },
		{ "multipart; boundary=b", "text", "plain", "multipart", 0 },
		{ "multipart/; boundary=b", "multipart", "mixed", "multipart/",
		  2 },
		{ "multipart/x y; boundary=b", "multipart", "xy",
		  "multipart/xy", 2 },
		{ "multi part/mixed; boundary=b", "multipart", "mixed",
		  "multipart/mixed", 2 },
		{ "multipart/a,b; boundary=b", "multipart", "mixed",
		  "multipart/a,b", 2 },
		{ "multipartx/mixed; boundary=b", "multipartx", "mixed",
		  "multipartx/mixed", 0 },
		{ "message/rfc822 x", "message", "rfc822x", "message/rfc822x",
		  0 },
		{ "/plain", "text", "plain", "/plain", 0 },
		{ "text/plain/x", "text", "plain", "text/plain/x", 0 },
		{ "(only a comment)", "text", "plain", NULL, 0 },
	};
	struct str msg;

	str_init(&msg, 256);
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct mime_part *r;

		str_clear(&msg);
		str_printfa(&msg, "MIME-Version: 1.0\nContent-Type: %s\n\n"
			    "--b\n\none\n--b\n\ntwo\n--b--\n", cases[i].ct);
		r = mime_parse_buffer(str_c(&msg), str_len(&msg), NULL);
		assert_string_equal(r->type, cases[i].type);
		assert_string_equal(r->subtype, cases[i].subtype);
		if (cases[i].text == NULL)
			assert_null(r->type_text);
		else
			assert_string_equal(r->type_text, cases[i].text);
		assert_int_equal(r->child_count, cases[i].children);
		mime_part_free(&r);
	}
	str_free(&msg);
}

/* RFC 2046 5.1.1: a line is a delimiter when it starts with "--" and the
 * whole boundary; what follows does not matter ("--abc" closes a part of
 * boundary "ab", "--ab--x" is the close delimiter). */
static void test_boundary_prefix(void **state)
{
	const char *msg = "Content-Type: multipart/mixed; boundary=ab\n\n"
		"pre\n--abc\nContent-Type: text/html\n\none\n--ab \t\n\n"
		"two\n--a\n-ab\n--ab--x\nepilogue\n--ab\nnot a part\n";
	struct mime_part *r = mime_parse_buffer(msg, strlen(msg), NULL);

	assert_int_equal(r->child_count, 2);
	assert_true(mime_part_is_type(r->children, "text", "html"));
	assert_int_equal(r->children->body_size, 3);
	assert_int_equal(r->last_child->body_size, strlen("two\n--a\n-ab"));
	assert_true((r->flags & MIME_PART_FLAG_UNTERMINATED) == 0);
	mime_part_free(&r);
}

/* A boundary line inside a part's header ends the part (Courier's
 * reformime: "--b" right after "--b" is an empty part, and a header cut
 * by a boundary has an empty body), however the input is split. */
static void test_boundary_in_header(void **state)
{
	const char *msg = "MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\n--b\r\nContent-Type: text/html\r\nX: y\r\n"
		"--b\r\nContent-Type: message/rfc822\r\n\r\n"
		"From: a@b\r\nTo: c\r\n"
		"--b--x\r\nepilogue\r\n";
	size_t len = strlen(msg);
	struct mime_part *whole = mime_parse_buffer(msg, len, NULL), *c;

	assert_int_equal(whole->child_count, 3);
	/* "X: y", the field the boundary cut, does not count; one cut
	 * while it is the Content-Type leaves the default. */
	{
		const char *m2 = "Content-Type: multipart/mixed; boundary=b\n"
			"\n--b\nContent-Type: text/html\n--b\n"
			"Content-Type: image/png\n";
		struct mime_part *r = mime_parse_buffer(m2, strlen(m2), NULL);

		assert_int_equal(r->child_count, 2);
		assert_true(mime_part_is_type(r->children, "text", "plain"));
		assert_true(mime_part_is_type(r->last_child, "text", "plain"));
		mime_part_free(&r);
		/* so does a message that ends in its header */
		r = mime_parse_buffer("Content-Type: image/png\n", 24, NULL);
		assert_true(mime_part_is_type(r, "text", "plain"));
		mime_part_free(&r);
		r = mime_parse_buffer("Content-Type: image/png\nX: y\n", 29,
				      NULL);
		assert_true(mime_part_is_type(r, "image", "png"));
		mime_part_free(&r);
	}
	c = whole->children;
	assert_true(mime_part_is_type(c, "text", "plain"));
	assert_int_equal(c->header_size, 0);
	assert_int_equal(c->body_size, 0);
	c = c->next;
	assert_true(mime_part_is_type(c, "text", "html"));
	assert_int_equal(c->body_size, 0);
	assert_true((c->flags & MIME_PART_FLAG_NO_HEADER_END) != 0);
	c = c->next;
	assert_true(mime_part_is_type(c, "message", "rfc822"));
	assert_non_null(mime_part_message(c));
	assert_true((mime_part_message(c)->flags &
		     MIME_PART_FLAG_NO_HEADER_END) != 0);
	assert_int_equal(c->end_offset, strstr(msg, "\r\n--b--") - msg);
	assert_true((whole->flags & MIME_PART_FLAG_UNTERMINATED) == 0);
	for (size_t split = 0; split <= len; split++) {
		for (size_t step = 1; step <= 2; step++) {
			struct bodies b;
			struct mime_part *root;

			str_init(&b.raw, 64);
			str_init(&b.decoded, 64);
			root = parse_split(msg, len, split,
					   step == 2 ? len : step, &b);
			assert_true(same_tree(whole, root));
			assert_string_equal(str_c(&b.raw), "|||");
			mime_part_free(&root);
			str_free(&b.raw);
			str_free(&b.decoded);
		}
	}
	mime_part_free(&whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_structure),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_crlf_header_end_split),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_rfc2231_in_tree),
		cmocka_unit_test(test_type_text),
		cmocka_unit_test(test_boundary_prefix),
		cmocka_unit_test(test_boundary_in_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
