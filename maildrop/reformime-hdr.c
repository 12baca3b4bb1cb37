/* reformime-hdr.c: reformime's header coding: -o/-O RFC 2047 encoding of
 * unstructured and address headers, -H and -u display of address headers
 * (reformime.h). */
#include "config.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "str.h"
#include "base64.h"
#include "charset.h"
#include "rfc2047.h"
#include "rfc822-addr.h"
#include "reformime.h"

/* Courier's chunking of an encoded run, in characters: the first word of
 * a run at the very start of the text holds at most FIRST, the others
 * at most REST. */
#define ENC_FIRST_CHARS 24
#define ENC_REST_CHARS 38

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* May byte c stand for itself in a Q encoded word?  Unstructured text
 * allows every visible character but '"', '=', '?' and '_' (a word of
 * unstructured text holding any other is encoded); a phrase only RFC
 * 2047's letters, digits and "*+-/", as Courier's. */
static bool q_literal(unsigned char c, bool phrase)
{
	if (c >= '0' && c <= '9')
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	if (phrase)
		return c == '*' || c == '+' || c == '-' || c == '/';
	return c > 32 && c < 127 && c != '=' && c != '?' && c != '_' &&
		c != '"';
}

static size_t q_len(const char *p, size_t n, bool phrase)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		len += q_literal(c, phrase) || c == ' ' ? 1 : 3;
	}
	return len;
}

static void q_append(struct str *out, const char *p, size_t n, bool phrase)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ' ')
			str_append_c(out, '_');
		else if (q_literal(c, phrase))
			str_append_c(out, (char)c);
		else
			str_printfa(out, "=%02X", c);
	}
}

/* Length of the UTF-8 character at p (1 for a stray byte). */
static size_t char_len(const char *p, size_t left)
{
	unsigned char c = (unsigned char)p[0];
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	if (n > left)
		return 1;
	for (size_t i = 1; i < n; i++) {
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			return 1;
	}
	return n;
}

static bool word_needs_encoding(const char *p, size_t n, bool phrase)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80 || (c < 32 && c != '\t'))
			return true;
		if (!phrase && !q_literal(c, false))
			return true;
	}
	return false;
}

/* Encodes the run p[0..n) as encoded words separated by spaces. */
static void encode_run(struct str *out, const char *p, size_t n,
		       const char *charset, bool phrase, bool at_start)
{
	size_t blen = (n + 2) / 3 * 4;
	bool use_q = q_len(p, n, phrase) < blen;
	size_t limit = at_start ? ENC_FIRST_CHARS : ENC_REST_CHARS;
	bool first = true, utf8 = charset_is_utf8(charset);

	while (n > 0) {
		size_t take = 0, chars = 0;

		while (take < n && chars < limit) {
			/* characters of the charset the text is labelled
			 * with: bytes unless it is UTF-8 */
			take += utf8 ? char_len(p + take, n - take) : 1;
			chars++;
		}
		if (!first)
			str_append_c(out, ' ');
		str_printfa(out, "=?%s?%c?", charset, use_q ? 'Q' : 'B');
		if (use_q)
			q_append(out, p, take, phrase);
		else
			base64_encode(out, p, take, 0);
		str_append(out, "?=");
		p += take;
		n -= take;
		first = false;
		limit = ENC_REST_CHARS;
	}
}

void reformime_encode_words(struct str *out, const char *text, size_t len,
			    const char *charset, bool phrase)
{
	size_t i = 0;

	while (i < len) {
		size_t ws = i, we, run_end;

		while (i < len && is_blank(text[i]))
			i++;
		str_append_n(out, text + ws, i - ws);
		if (i >= len)
			break;
		ws = i;
		while (i < len && !is_blank(text[i]))
			i++;
		if (!word_needs_encoding(text + ws, i - ws, phrase)) {
			str_append_n(out, text + ws, i - ws);
			continue;
		}
		/* the run goes on over the next words that need encoding
		 * too, the blanks between them included */
		run_end = i;
		for (;;) {
			size_t j = run_end;

			while (j < len && is_blank(text[j]))
				j++;
			if (j >= len)
				break;
			we = j;
			while (we < len && !is_blank(text[we]))
				we++;
			if (!word_needs_encoding(text + j, we - j, phrase))
				break;
			run_end = we;
		}
		encode_run(out, text + ws, run_end - ws, charset, phrase,
			   ws == 0);
		i = run_end;
	}
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

/* One mailbox as the mode shows it. */
static void format_mailbox(struct str *out, const struct rfc822_addr *a,
			   enum reformime_addr_mode mode, const char *charset)
{
	const char *name = a->phrase != NULL ? a->phrase : a->name;

	if (name != NULL && name[0] != '\0') {
		if (mode == REFORMIME_ADDR_ENCODE) {
			if (has_8bit(name))
				reformime_encode_words(out, name,
						       strlen(name), charset,
						       true);
			else
				(void)rfc822_addr_format_name(out, name);
		} else {
			struct str d;

			str_init(&d, strlen(name) * 2 + 1);
			rfc2047_decode(&d, name, strlen(name));
			(void)rfc822_addr_format_name(out, str_c(&d));
			str_free(&d);
		}
		str_append(out, " <");
		if (a->route != NULL)
			str_printfa(out, "%s:", a->route);
		(void)rfc822_addr_format_spec(out, a);
		str_append_c(out, '>');
	} else if (a->route != NULL) {
		/* Debian's -H shows a route address without brackets */
		bool br = mode == REFORMIME_ADDR_ENCODE;

		str_printfa(out, "%s%s:", br ? "<" : "", a->route);
		(void)rfc822_addr_format_spec(out, a);
		if (br)
			str_append_c(out, '>');
	} else if (a->null_addr) {
		/* Debian's shows the null address as nothing */
	} else {
		(void)rfc822_addr_format_spec(out, a);
	}
}

struct addr_item {
	enum rfc822_addr_type type;
	char *text;
};

void reformime_addr_header(struct str *out, const char *value, size_t len,
			   enum reformime_addr_mode mode, const char *charset)
{
	struct rfc822_addr_parser *parser = rfc822_addr_parser_create(NULL);
	struct rfc822_addr_list *list = NULL;
	const char *nl = mode == REFORMIME_ADDR_ENCODE ? "\n  " :
		mode == REFORMIME_ADDR_DISPLAY ? "\n" : "";
	struct addr_item *items;
	size_t n = 0, cap;

	if (rfc822_addr_parse(parser, value, len, &list, NULL) < 0) {
		/* longer than the parser takes: shown as it is */
		str_append_n(out, value, len);
		rfc822_addr_parser_destroy(&parser);
		return;
	}
	/* the entries as Courier sees them: each word of something that is
	 * not an address is an address of its own */
	cap = list->count + 1;
	items = xreallocarray(NULL, cap, sizeof(*items));
	for (size_t i = 0; i < list->count; i++) {
		const struct rfc822_addr *a = &list->addrs[i];
		struct str t;

		if (a->invalid) {
			char **words;

			if (a->raw == NULL)
				continue;
			words = str_split(a->raw, " \t\r\n");
			for (char **w = words; *w != NULL; w++) {
				if (**w == '\0')
					continue;
				if (n == cap) {
					cap *= 2;
					items = xreallocarray(items, cap,
							      sizeof(*items));
				}
				items[n].type = RFC822_ADDR_MAILBOX;
				items[n++].text = xstrdup(*w);
			}
			str_split_free(&words);
			continue;
		}
		if (n == cap) {
			cap *= 2;
			items = xreallocarray(items, cap, sizeof(*items));
		}
		str_init(&t, 64);
		if (a->type == RFC822_ADDR_MAILBOX)
			format_mailbox(&t, a, mode, charset);
		else if (a->type == RFC822_ADDR_GROUP_START)
			str_printfa(&t, "%s:", a->name != NULL ? a->name : "");
		else
			str_append_c(&t, ';');
		items[n].type = a->type;
		items[n++].text = str_steal(&t);
	}
	for (size_t i = 0; i < n; i++) {
		const struct addr_item *next = i + 1 < n ? &items[i + 1] :
			NULL;

		str_append(out, items[i].text);
		if (next == NULL)
			break;
		switch (items[i].type) {
		case RFC822_ADDR_MAILBOX:
			if (next->type == RFC822_ADDR_GROUP_END)
				break;
			str_append(out, mode == REFORMIME_ADDR_ENCODE ?
				   "," : ", ");
			str_append(out, nl);
			break;
		case RFC822_ADDR_GROUP_START:
			if (mode != REFORMIME_ADDR_ENCODE)
				str_append_c(out, ' ');
			str_append(out, nl);
			break;
		case RFC822_ADDR_GROUP_END:
			if (mode == REFORMIME_ADDR_ENCODE)
				str_append(out, nl);
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(items[i].text);
	free(items);
	rfc822_addr_list_free(&list);
	rfc822_addr_parser_destroy(&parser);
}

bool reformime_is_addr_header(const char *name)
{
	static const char *const names[] = {
		"from", "to", "cc", "bcc", "reply-to", "resent-from",
		"resent-to", "resent-cc", "resent-bcc", "resent-reply-to",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i]) == 0)
			return true;
	}
	return false;
}
