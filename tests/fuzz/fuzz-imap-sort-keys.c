/* fuzz-imap-sort-keys.c: libFuzzer target for the SORT/THREAD keys as
 * kept in the mail index (imap_sort_keys_encode/decode): the first byte
 * picks the keys asked (IMAP_SORT_WANT_* bits); the rest is decoded as a
 * stored value (a damaged index must never crash the server nor give a
 * half-filled message), then read as "Name: value" header lines whose
 * keys, encoded and decoded again, must come back unchanged. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-sort.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool same_keys(const struct imap_sort_msg *a,
		      const struct imap_sort_msg *b)
{
	return same_str(a->subject, b->subject) &&
	       a->subject_reply == b->subject_reply &&
	       same_str(a->from, b->from) &&
	       same_str(a->display_from, b->display_from) &&
	       same_str(a->to, b->to) &&
	       same_str(a->display_to, b->display_to) &&
	       same_str(a->cc, b->cc) &&
	       same_str(a->message_id, b->message_id) &&
	       same_str(a->references, b->references) &&
	       same_str(a->in_reply_to, b->in_reply_to) &&
	       a->has_date == b->has_date &&
	       (!a->has_date || a->date == b->date);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_sort_msg a, b;
	unsigned int want, stored;
	size_t len;
	char *v;
	int ret;

	if (size == 0)
		return 0;
	want = data[0] & IMAP_SORT_WANT_HEADER;
	data++;
	size--;

	/* as a stored value */
	memset(&a, 0, sizeof(a));
	a.want = want;
	ret = imap_sort_keys_decode(&a, data, size, &stored);
	if (ret < -1 || ret > 1 || (ret < 0 && stored != 0))
		abort();
	if (ret <= 0 && (a.subject != NULL || a.from != NULL ||
			 a.message_id != NULL || a.has_date))
		abort();
	if (ret == 1) {
		/* what it gave encodes and decodes to the same */
		v = imap_sort_keys_encode(&a, &len);
		memset(&b, 0, sizeof(b));
		b.want = want;
		if (imap_sort_keys_decode(&b, v, len, &stored) != 1 ||
		    !same_keys(&a, &b))
			abort();
		imap_sort_msg_free(&b);
		free(v);
	}
	imap_sort_msg_free(&a);

	/* as header lines */
	memset(&a, 0, sizeof(a));
	a.want = want;
	for (size_t l = 0; l < size;) {
		const uint8_t *nl = memchr(data + l, '\n', size - l);
		size_t le = nl != NULL ? (size_t)(nl - data) : size;
		const uint8_t *colon = memchr(data + l, ':', le - l);

		if (colon != NULL && colon > data + l) {
			char *name = xstrndup((const char *)data + l,
					      (size_t)(colon - (data + l)));
			char *value = xstrndup((const char *)colon + 1,
					       le - (size_t)(colon + 1 - data));

			imap_sort_msg_field(&a, name, value, strlen(value));
			free(name);
			free(value);
		}
		l = le + 1;
	}
	v = imap_sort_keys_encode(&a, &len);
	memset(&b, 0, sizeof(b));
	b.want = want;
	/* NULL: a key of 64 KiB, which cannot be kept exactly */
	if (v != NULL &&
	    (imap_sort_keys_decode(&b, v, len, &stored) != 1 ||
	     !same_keys(&a, &b)))
		abort();
	imap_sort_msg_free(&b);
	imap_sort_msg_free(&a);
	free(v);
	return 0;
}
