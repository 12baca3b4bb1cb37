/* imap-envelope.h: the RFC 3501 (section 7.4.2) ENVELOPE of a message
 * header: the fields it needs are collected while the header is parsed,
 * then written as "(date subject from sender reply-to to cc bcc
 * in-reply-to message-id)".
 *
 * Values are sent as written in the header (encoded words are left for
 * the client to decode); strings with 8-bit bytes, CR, LF or NUL, or
 * longer than IMAP_QUOTE_MAX go out as literals, so the text is valid
 * whether or not the client enabled UTF8=ACCEPT and can be cached once.
 * Addresses are parsed with lib/rfc822-addr (groups give the
 * (NIL NIL name NIL) ... (NIL NIL NIL NIL) markers); an empty or
 * unparsable list is NIL; Sender and Reply-To default to From. */
#ifndef IMAP_ENVELOPE_H
#define IMAP_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

enum imap_envelope_field {
	IMAP_ENV_DATE,
	IMAP_ENV_SUBJECT,
	IMAP_ENV_FROM,
	IMAP_ENV_SENDER,
	IMAP_ENV_REPLY_TO,
	IMAP_ENV_TO,
	IMAP_ENV_CC,
	IMAP_ENV_BCC,
	IMAP_ENV_IN_REPLY_TO,
	IMAP_ENV_MESSAGE_ID,
	IMAP_ENV_FIELD_COUNT
};

/* Longest field value kept (a longer one is cut there). */
#define IMAP_ENVELOPE_MAX_VALUE (64 * 1024)

/* The envelope fields of one header; the first occurrence of each field
 * counts.  Values are owned (NULL = absent). */
struct imap_envelope {
	char *values[IMAP_ENV_FIELD_COUNT];
	size_t lens[IMAP_ENV_FIELD_COUNT];
};

/* Remembers a header field if the envelope uses it (name and value as
 * rfc822_header_field gives them: the value unfolded, may hold NULs). */
void imap_envelope_add_field(struct imap_envelope *env, const char *name,
			     size_t name_len, const char *value,
			     size_t value_len);
/* Appends the parenthesised ENVELOPE. */
void imap_envelope_write(const struct imap_envelope *env, struct str *out);
/* Appends an address list as ENVELOPE writes it: "((name adl mailbox
 * host) ...)" or NIL.  value NULL is NIL. */
void imap_envelope_write_addresses(struct str *out, const char *value,
				   size_t len);
/* Frees the values; the envelope is left empty. */
void imap_envelope_clear(struct imap_envelope *env);

#endif
