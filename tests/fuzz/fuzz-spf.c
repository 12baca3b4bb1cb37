/* fuzz-spf.c: libFuzzer target for SPF (spf.h): the input is parsed as a
 * record, expanded as a macro-string, and evaluated by check_host() with
 * a fake DNS in which every name has the input as its TXT record, an A
 * record, an MX and a PTR (so include and redirect recurse into it). */
#include "config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *input;
static size_t input_len;

static enum dns_status fake(void *context, const char *name,
			    enum dns_type type, struct dns_result *res)
{
	struct dns_rr *rr;

	(void)context;
	memset(res, 0, sizeof(*res));
	res->error = "";
	if (strlen(name) > 300)
		__builtin_trap();	/* the evaluator bounds names */
	if (name[0] == 'n') {
		res->status = DNS_NXDOMAIN;
		return res->status;
	}
	if (name[0] == 't') {
		res->status = DNS_TEMPFAIL;
		return res->status;
	}
	res->rrs = xcalloc(1, sizeof(*res->rrs));
	res->count = 1;
	rr = &res->rrs[0];
	rr->type = type;
	switch (type) {
	case DNS_TYPE_A:
		rr->family = AF_INET;
		inet_pton(AF_INET, "192.0.2.1", &rr->addr.v4);
		break;
	case DNS_TYPE_AAAA:
		rr->family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::1", &rr->addr.v6);
		break;
	case DNS_TYPE_TXT:
		rr->text = xstrndup(input, input_len);
		rr->text_len = strlen(rr->text);
		break;
	case DNS_TYPE_MX:
		rr->name = xstrdup("mx.fuzz.test");
		break;
	default:
		rr->name = xstrdup("ptr.fuzz.test");
		break;
	}
	res->status = DNS_OK;
	return res->status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_record *rec = NULL;
	const char *error;
	struct str out;
	struct spf_macro_env env = {
		.sender = "user@fuzz.test", .domain = "fuzz.test",
		.ip = "192.0.2.1", .helo = "helo.fuzz.test",
		.receiver = "me.test", .now = 1,
	};
	struct spf_response resp;

	if (size > SPF_MAX_RECORD + 16)
		return 0;
	input = (const char *)data;
	input_len = size;
	if (spf_record_parse(input, size, &rec, &error) == 0)
		spf_record_free(&rec);
	str_init(&out, 64);
	if (spf_macro_expand(&env, input, size, true, true, &out, &error) == 0 &&
	    out.len > SPF_MAX_EXPANSION + 1)
		__builtin_trap();
	str_free(&out);
	if (memchr(data, '\0', size) == NULL) {
		for (int v6 = 0; v6 < 2; v6++) {
			struct spf_request req = {
				.lookup = fake, .ip = v6 ? "2001:db8::1"
							 : "192.0.2.1",
				.sender = "user@fuzz.test",
				.domain = "fuzz.test", .helo = "helo.test",
				.receiver = "me.test",
			};
			spf_check(&req, &resp);
			if (resp.dns_mechanisms > SPF_MAX_DNS_MECHANISMS + 1)
				__builtin_trap();
			spf_response_free(&resp);
		}
	}
	return 0;
}
