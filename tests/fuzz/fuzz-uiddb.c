/* fuzz-uiddb.c: libFuzzer target for the readers of Courier's
 * courierimapuiddb and courierpop3dsizelist (lib/mail-index-courier):
 * arbitrary bytes as either file; what was kept must be consistent
 * (sorted unique names, unique UIDs below nextuid, findable). */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail-index-courier.h"
#include "maildir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mail_index_courier_limits lim = {
		.max_line = 512, .max_file = 1 << 20, .max_lines = 1000,
	};
	struct mail_index_uiddb *u;
	struct mail_index_pop3list *l;
	char buf[80];

	if (mail_index_uiddb_parse((const char *)data, size, &lim, &u) == 1) {
		if (u->uidvalidity == 0 || u->count > lim.max_lines)
			abort();
		for (size_t i = 0; i < u->count; i++) {
			const char *b = u->entries[i].base;
			size_t len = strlen(b);

			if (len == 0 || len > MAILDIR_NAME_MAX ||
			    u->entries[i].uid == 0 ||
			    u->entries[i].uid >= u->nextuid ||
			    (i > 0 && strcmp(u->entries[i - 1].base, b) >= 0) ||
			    mail_index_uiddb_find(u, b, len) !=
				    u->entries[i].uid)
				abort();
			for (size_t j = 0; j < i; j++) {
				if (u->entries[j].uid == u->entries[i].uid)
					abort();
			}
		}
	}
	mail_index_uiddb_free(&u);
	if (mail_index_pop3list_parse((const char *)data, size, &lim, &l) ==
	    1) {
		if (l->version != 2 && l->version != 3)
			abort();
		for (size_t i = 0; i < l->count; i++) {
			const char *b = l->entries[i].base;

			if ((i > 0 && strcmp(l->entries[i - 1].base, b) >= 0) ||
			    mail_index_pop3list_find(l, b, strlen(b)) !=
				    &l->entries[i] ||
			    strncmp(mail_index_pop3list_uidl(&l->entries[i],
							     buf, sizeof(buf)),
				    "UID", 3) != 0)
				abort();
		}
	}
	mail_index_pop3list_free(&l);
	return 0;
}
