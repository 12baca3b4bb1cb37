/* imap-message.h: a message as IMAP serves it: its bytes with CRLF line
 * ends, its MIME tree (lib/mime-parser), the RFC 3501 BODYSTRUCTURE and
 * ENVELOPE of it and of its message/rfc822 parts, and the bytes of
 * BODY[section] and BINARY[section] (RFC 3516).
 *
 * Offsets and sizes are those of the CRLF form, so BODYSTRUCTURE sizes,
 * RFC822.SIZE and the literals sent agree for messages stored with bare
 * LF line ends.  Malformed MIME never fails: the tree is what
 * lib/mime-parser makes of it, and parts the parser could not open (a
 * nesting or part-count limit) are described as application/octet-stream
 * leaves so that the BODYSTRUCTURE stays well formed. */
#ifndef IMAP_MESSAGE_H
#define IMAP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-mailbox.h"
#include "mime-parser.h"
#include "str.h"

struct imap_message_env;

struct imap_message {
	const char *data;	/* the CRLF form; not owned */
	size_t size;
	struct mime_part *root;
	/* envelopes of the root and of each encapsulated message */
	struct imap_message_env *envs;
	size_t env_count;
};

/* Appends data to out with every LF not preceded by CR turned into CRLF.
 * *last_cr carries whether the previous chunk ended with CR (start with
 * false).  Returns 0, or -1 when out's limit was hit. */
int imap_crlf_append(struct str *out, const void *data, size_t len,
		     bool *last_cr);

/* Parses a message (already in CRLF form, e.g. from
 * imap_mailbox_read_message()); data must outlive the result.  Never
 * fails. */
struct imap_message *imap_message_parse(const void *data, size_t size);
/* Frees it; sets *msg to NULL.  NULL is fine. */
void imap_message_free(struct imap_message **msg);

/* ---- the header alone ----
 *
 * What a message's header gives without its body: the ENVELOPE (the
 * same text as imap_message_envelope() of the whole message) and the
 * header field list of imap-header-cache.h (the same value as
 * imap_header_cache_from_message()).  The message is fed from its first
 * byte, as stored (LF or CRLF line ends), in chunks of any size; the
 * feed says when the header is over, so the caller reads no further.
 * The header is parsed with lib/mime-parser's limits (1 MiB, fields of
 * 64 KiB), so the answers agree with a full parse for any input. */
struct imap_message_header;

struct imap_message_header *imap_message_header_create(void);
/* Feeds the next size bytes.  Returns 1 when the header has ended (the
 * rest of the message is not needed; later feeds are ignored), 0 when
 * more is wanted. */
int imap_message_header_feed(struct imap_message_header *hdr,
			     const void *data, size_t size);
/* Ends the input (needed when the message ended before its header did;
 * harmless after a feed returned 1), appends the ENVELOPE to envelope
 * (if not NULL) and returns the header cache value (caller frees, its
 * length in *hdrs_len_r). */
char *imap_message_header_finish(struct imap_message_header *hdr,
				 struct str *envelope, size_t *hdrs_len_r);
/* Frees it; sets *hdr to NULL.  NULL is fine. */
void imap_message_header_destroy(struct imap_message_header **hdr);

/* Appends the header of the message on fd (read from offset 0 with
 * pread(), a 4 KB block first) in its CRLF form, up to and including
 * the empty line that ends it: the whole file when no line does, the
 * first 1 MiB when the header is longer (lib/mime-parser's limit).
 * imap_message_parse() of it answers BODY[HEADER], BODY[HEADER.FIELDS
 * (...)], BODY[HEADER.FIELDS.NOT (...)], RFC822.HEADER and ENVELOPE as
 * the whole message does.  Returns 1, or -1 with *error_r on a read
 * error or when out's limit is hit. */
int imap_message_read_header(int fd, struct str *out, const char **error_r);

/* ---- cached values of the selected folder ---- */

/* The values FETCH and SEARCH cache per message in the folder's index
 * (enum imap_cache_field of imap-mailbox.h: ENVELOPE, BODY,
 * BODYSTRUCTURE, the header fields).  Appends the value of field for
 * uid from the cache (or the values queued for it in
 * mbox->pending_cache); on a miss it is computed and queued, with what
 * the same reading gives for free:
 *
 * - ENVELOPE and the header fields read only the header (one pread() of
 *   a first block, more only for a long header) and queue both;
 * - BODY and BODYSTRUCTURE read and parse the whole message and queue
 *   both, plus the ENVELOPE and header fields when those are not cached
 *   yet.  with_body asks the ENVELOPE and header-field miss to take this
 *   way too (the same FETCH asks for BODY or BODYSTRUCTURE: one reading
 *   of the file instead of two).
 *
 * Queued values are written in few index transactions: when
 * IMAP_MESSAGE_CACHE_FLUSH_ENTRIES or IMAP_MESSAGE_CACHE_FLUSH_BYTES
 * are queued, and by imap_mailbox_cache_flush() (at the end of each
 * FETCH, and at close).  Returns 1, 0 when the message is gone, -1 with
 * *error_r. */
int imap_message_cached(struct imap_mailbox *mbox, uint32_t uid,
			enum imap_cache_field field, bool with_body,
			struct str *out,
			const char **error_r);
#define IMAP_MESSAGE_CACHE_FLUSH_ENTRIES 4096
#define IMAP_MESSAGE_CACHE_FLUSH_BYTES (8 * 1024 * 1024)

/* Appends the ENVELOPE of the message (part NULL) or of the message
 * encapsulated in a message/rfc822 part. */
void imap_message_envelope(const struct imap_message *msg,
			   const struct mime_part *part, struct str *out);
/* Appends BODYSTRUCTURE (extended: with the extension data MD5,
 * disposition, language, location and multipart parameters) or BODY
 * (not extended) of part (NULL: the whole message). */
void imap_message_bodystructure(const struct imap_message *msg,
				const struct mime_part *part, bool extended,
				struct str *out);

/* ---- sections ---- */

enum imap_section_text {
	IMAP_SECTION_BODY,		/* BODY[] / BODY[1.2] */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_MIME,
	IMAP_SECTION_TEXT,
};

/* Most header names in HEADER.FIELDS, and longest name. */
#define IMAP_SECTION_MAX_FIELDS 1000
#define IMAP_SECTION_MAX_FIELD_LEN 998

struct imap_section {
	char *part;		/* "" or "1.2.3" */
	enum imap_section_text text;
	char **fields;		/* HEADER.FIELDS[.NOT] names */
	size_t field_count;
};

/* Parses the text between "[" and "]" (len bytes): section-spec of
 * RFC 3501, or only a section-part when binary (RFC 3516).  Returns 0,
 * or -1 with a static *error_r; free with imap_section_free() either
 * way. */
int imap_section_parse(const char *text, size_t len, bool binary,
		       struct imap_section *sec_r, const char **error_r);
/* Appends the section as the response names it ("1.HEADER.FIELDS (A B)"). */
void imap_section_write(const struct imap_section *sec, struct str *out);
void imap_section_free(struct imap_section *sec);

/* Appends the bytes of BODY[sec] (HEADER.FIELDS: the matching fields as
 * written, then the empty line).  Returns 1, or 0 when there is no such
 * part (the response is then NIL). */
int imap_message_section(const struct imap_message *msg,
			 const struct imap_section *sec, struct str *out);
/* Appends the bytes of BINARY[sec]: the part's body decoded from its
 * Content-Transfer-Encoding (base64, quoted-printable), or as it is for
 * 7bit/8bit/binary, multiparts and messages; BINARY[] is the whole
 * message.  Returns 1, 0 when there is no such part, -1 when the
 * encoding is unknown (the answer is NO [UNKNOWN-CTE]). */
int imap_message_binary(const struct imap_message *msg,
			const struct imap_section *sec, struct str *out);

#endif
