/* fuzz-imap-referral.c: libFuzzer target for LOGIN-REFERRALS' referral
 * URL: the input, cut at its first NUL, is a mailhost and the rest the
 * user; a URL built must be printable ASCII, without spaces, with the
 * user fully percent-encoded and the host as given. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-client.h"
#include "mem.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t hlen = nul != NULL ? (size_t)(nul - data) : size;
	char *host = xstrndup((const char *)data, hlen);
	char *user = nul != NULL ? xstrndup((const char *)nul + 1,
					    size - hlen - 1) :
				   xstrdup("u");
	struct str s;

	str_init(&s, 64);
	if (imap_login_referral_url(&s, user, host) == 0) {
		const char *u = str_c(&s);
		size_t n = str_len(&s);

		if (n < 7 || memcmp(u, "imap://", 7) != 0 ||
		    u[n - 1] != '/')
			abort();
		for (size_t i = 0; i < n; i++)
			if (u[i] <= ' ' || (unsigned char)u[i] >= 0x7f)
				abort();
		/* the user part has no ';', '@' or '/' of its own */
		const char *semi = strstr(u, ";AUTH=*@");
		if (semi == NULL || strcspn(u + 7, ";@/") != (size_t)(semi - u - 7))
			abort();
		if (strncmp(semi + 8, host, hlen) != 0)
			abort();
	} else if (str_len(&s) != 0) {
		abort();
	}
	str_free(&s);
	free(host);
	free(user);
	return 0;
}
