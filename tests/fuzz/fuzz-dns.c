/* fuzz-dns.c: libFuzzer target for the DNS answer parser (dns.h): the
 * first byte picks the record type, the rest is the answer packet. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = {
		DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX, DNS_TYPE_TXT,
		DNS_TYPE_PTR, DNS_TYPE_CNAME,
	};
	struct dns_result res;

	if (size < 1)
		return 0;
	dns_parse_answer(data + 1, size - 1,
			 types[data[0] % (sizeof(types) / sizeof(types[0]))],
			 data[0] >> 4, &res);
	for (size_t i = 0; i < res.count; i++) {
		if (res.rrs[i].name != NULL && strlen(res.rrs[i].name) > 1024)
			__builtin_trap();
		if (res.rrs[i].text != NULL &&
		    res.rrs[i].text_len > DNS_MAX_TXT)
			__builtin_trap();
	}
	dns_result_free(&res);
	return 0;
}
