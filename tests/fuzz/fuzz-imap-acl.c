/* fuzz-imap-acl.c: libFuzzer target for ACL files and rights: the input
 * is parsed as a courierimapacl file; what parses must format back to a
 * file that parses to the same entries, and its rights are computed for
 * a few sessions.  The input is also tried as a rights string and as a
 * client's identifier. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-acl.h"
#include "mem.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_acl acl, again;
	const char *error;
	char *groups[] = { (char *)"staff", (char *)"administrators" };

	if (imap_acl_parse((const char *)data, size, &acl, &error) == 0) {
		struct str s;
		str_init(&s, 256);
		imap_acl_format(&acl, &s);
		if (imap_acl_parse(str_c(&s), str_len(&s), &again, &error) < 0 ||
		    again.count != acl.count)
			abort();
		for (size_t i = 0; i < acl.count; i++)
			if (strcmp(acl.entries[i].id, again.entries[i].id) ||
			    acl.entries[i].rights != again.entries[i].rights)
				abort();
		struct imap_acl_who who = { .user = "bob", .owner = "alice",
					    .groups = groups,
					    .group_count = 2 };
		unsigned int r = imap_acl_compute(&acl, &who);
		if (r & ~IMAP_ACL_KNOWN)
			abort();
		who.owner = "bob";
		if ((imap_acl_compute(&acl, &who) & IMAP_ACL_ADMIN) == 0)
			abort();
		imap_acl_free(&again);
		imap_acl_free(&acl);
		str_free(&s);
	}
	if (size <= 512) {
		char *text = xstrndup((const char *)data, size);
		unsigned int r;
		if (imap_acl_rights_parse(text, true, &r) == 0 &&
		    (r & ~IMAP_ACL_KNOWN))
			abort();
		char *id = imap_acl_id_from_client(text);
		if (id != NULL && !imap_acl_id_valid(id))
			abort();
		free(id);
		free(text);
	}
	return 0;
}
