/* fuzz-address.c: libFuzzer target for the RFC 5322 address list parser:
 * parse, format, reparse (the canonical form must parse cleanly to the
 * same mailboxes and format to itself), plus the per-address helpers. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "str.h"
#include "rfc822-addr.h"

static char *format_list(const struct rfc822_addr_list *list)
{
	struct str out;
	char *ret;

	str_init(&out, 256);
	if (rfc822_addr_list_format(&out, list) < 0)
		abort();
	ret = str_steal(&out);
	str_free(&out);
	return ret;
}

static void check_entry(const struct rfc822_addr *a)
{
	struct str out;
	char *local, *domain;

	str_init(&out, 64);
	if (rfc822_addr_format(&out, a) < 0 ||
	    rfc822_addr_format_smtp(&out, a) < 0)
		abort();
	str_clear(&out);
	if (a->type == RFC822_ADDR_MAILBOX && !a->invalid && !a->null_addr) {
		if (a->local == NULL || a->local_raw == NULL)
			abort();
		if (rfc822_addr_format_spec(&out, a) < 0)
			abort();
		/* splitting the canonical addr-spec gives the parts back
		 * (a domain literal may hold an '@', so skip those) */
		if (rfc822_addr_split(str_c(&out), &local, &domain) == 0) {
			if (a->domain == NULL || a->domain[0] != '[') {
				if (strcmp(local, a->local) != 0 ||
				    !rfc822_addr_domain_equal(domain,
							      a->domain))
					abort();
			}
			free(local);
			free(domain);
		} else if (a->domain == NULL || a->domain[0] != '[') {
			abort();
		}
		if (!rfc822_addr_domain_equal(a->domain, a->domain))
			abort();
	}
	if (a->invalid && (a->raw == NULL || a->error == NULL))
		abort();
	/* the phrase with its comments: on a valid entry, holds a
	 * comment, and formats as a display name */
	if (a->phrase != NULL) {
		if (a->invalid || a->type == RFC822_ADDR_GROUP_END ||
		    strchr(a->phrase, '(') == NULL ||
		    strchr(a->phrase, '\r') != NULL ||
		    strchr(a->phrase, '\n') != NULL)
			abort();
		str_clear(&out);
		if (rfc822_addr_format_name(&out, a->phrase) < 0)
			abort();
	}
	str_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rfc822_addr_parser *parser;
	struct rfc822_addr_list *l1, *l2;
	char *f1, *f2;
	int ret;

	if (parser == NULL) {
		struct rfc822_addr_limits limits = {
			.max_input_len = 65536, .max_addresses = 500,
			.max_comment_depth = 16,
		};
		parser = rfc822_addr_parser_create(&limits);
	}
	ret = rfc822_addr_parse(parser, data, size, &l1, NULL);
	if (ret < 0)
		return 0;
	if (l1->mailbox_count + l1->invalid_count > l1->count)
		abort();
	for (size_t i = 0; i < l1->count; i++)
		check_entry(&l1->addrs[i]);

	f1 = format_list(l1);
	if (rfc822_addr_parse(parser, f1, strlen(f1), &l2, NULL) != 1)
		abort();
	if (l2->mailbox_count != l1->mailbox_count)
		abort();
	f2 = format_list(l2);
	if (strcmp(f1, f2) != 0)
		abort();
	free(f1);
	free(f2);
	rfc822_addr_list_free(&l1);
	rfc822_addr_list_free(&l2);
	return 0;
}
