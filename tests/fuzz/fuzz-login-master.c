/* fuzz-login-master.c: libFuzzer target for lib/login-master: the
 * requests of login processes (NUL-separated fields, as imapd's and
 * pop3d's masters read them), the SASL mechanism lists and the TLS and
 * address texts of the settings. */
#include "config.h"
#include "login-master.h"
#include "mem.h"
#include "str.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *fields[6];
	/* an exact-size copy, so that ASan sees any read past the end */
	char *buf = xmalloc(size > 0 ? size : 1);

	memcpy(buf, data, size);
	for (size_t count = 0; count <= N_ELEMENTS(fields); count++) {
		ssize_t used = login_master_fields_split(buf, size, fields,
							 count);

		if (used < 0)
			continue;
		if ((size_t)used > size)
			abort();
		/* every field ends within the buffer; rebuilding them gives
		 * the bytes used back */
		struct str s;

		str_init(&s, 64);
		for (size_t i = 0; i < count; i++)
			login_master_field_append(&s, fields[i]);
		if (str_len(&s) != (size_t)used ||
		    memcmp(s.data, buf, (size_t)used) != 0)
			abort();
		str_free(&s);
	}
	/* the first field as a mechanism list, the second as a mechanism,
	 * a TLS_PROTOCOL and an ADDRESS */
	if (login_master_fields_split(buf, size, fields, 2) >= 0) {
		(void)login_master_mech_listed(fields[0], fields[1]);
		(void)login_master_tls_version(fields[0]);
		free(login_master_listen_text(fields[1], 143));
		free(login_master_account_maildir("/home/u", fields[0],
						  "Maildir"));
	}
	free(buf);
	return 0;
}
