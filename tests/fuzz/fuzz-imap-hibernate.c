/* fuzz-imap-hibernate.c: libFuzzer target for the parser of hibernated
 * session state blobs (imap-hibernate.h): any input is parsed within its
 * bounds, and what parses is written back to a blob that parses to the
 * same state. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-hibernate.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_hibernate_state st, st2;
	const char *error;

	if (imap_hibernate_parse(data, size, &st, &error) == 0) {
		struct str out;

		str_init(&out, 256);
		if (imap_hibernate_write(&st, &out) < 0 ||
		    imap_hibernate_parse(str_c(&out), str_len(&out), &st2,
					 &error) < 0)
			abort();
		if (!same(st.user, st2.user) ||
		    !same(st.mailbox, st2.mailbox) ||
		    !same(st.idle_tag, st2.idle_tag) ||
		    st.count != st2.count || st.modseq != st2.modseq ||
		    st.uidnext != st2.uidnext ||
		    st.recent_count != st2.recent_count ||
		    st.saved_count != st2.saved_count ||
		    str_len(&st.input) != str_len(&st2.input) ||
		    st.qresync != st2.qresync || st.readonly != st2.readonly)
			abort();
		imap_hibernate_state_free(&st2);
		str_free(&out);
	}
	imap_hibernate_state_free(&st);
	return 0;
}
