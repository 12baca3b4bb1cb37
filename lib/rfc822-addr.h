/* rfc822-addr.h: RFC 5322 address lists (with RFC 6532 UTF-8).
 *
 * Parses the value of an address header (From, To, Cc, Reply-To, ...) into
 * a flat list of entries, including the obsolete syntax of RFC 5322 4.4:
 * groups, quoted local parts, comments (nested, anywhere), route addresses
 * (<@r1,@r2:user@host>, the route is kept), domain literals, display names
 * as phrases or quoted strings, bare addresses, the null address "<>" and
 * addresses without a domain ("user": the caller picks the default domain).
 *
 * Real mail is full of broken headers, so the parser never gives up on a
 * list: a malformed element is kept as an entry flagged `invalid` (with its
 * text in `raw`), and parsing resumes after the next comma.  RFC 2047
 * encoded words are kept raw in display names: decoding them is the MIME
 * module's job.  Folded input (CR, LF) is read as whitespace.
 *
 * The entries carry what IMAP's ENVELOPE needs (RFC 3501 7.4.2):
 *   mailbox:      (name route local domain)
 *   group start:  (NIL NIL group-name NIL)   -- entry.name is the group name
 *   group end:    (NIL NIL NIL NIL)
 * A mailbox without a domain has domain NULL; the null address <> has
 * local "" and domain NULL and `null_addr` set.
 */
#ifndef RFC822_ADDR_H
#define RFC822_ADDR_H

#include <stdbool.h>
#include <stddef.h>

struct str;

enum rfc822_addr_type {
	RFC822_ADDR_MAILBOX,
	RFC822_ADDR_GROUP_START,
	RFC822_ADDR_GROUP_END,
};

struct rfc822_addr {
	enum rfc822_addr_type type;
	/* Display name: a phrase with its words joined by single spaces,
	 * quoted strings unquoted, encoded words left as written; for a group
	 * start, the group name.  When a mailbox has no phrase but a comment
	 * ("a@b (John)"), the comment's text is used and name_from_comment
	 * is set.  NULL when there is none. */
	char *name;
	/* The display name with the comments of its phrase kept, as
	 * maildrop's patterns see it: "Eve (evil) Smith" for
	 * "Eve (evil) Smith <e@x>".  Words and quoted strings as in `name`,
	 * each comment as written with its parentheses (folding removed),
	 * all separated by single spaces.  Set only when the phrase of a
	 * mailbox or group start has a comment; NULL otherwise (`name` is
	 * then the whole of it). */
	char *phrase;
	/* Obsolete source route without the final colon ("@r1,@r2"), or
	 * NULL.  This is ENVELOPE's adl. */
	char *route;
	/* Local part, unquoted ("john q" for "\"john q\"@x").  NULL for group
	 * entries and for invalid entries that could not be read. */
	char *local;
	/* Local part as written, without comments and folding whitespace
	 * ("\"john q\"", "a.b"). */
	char *local_raw;
	/* Domain as written (case kept): "example.com", "[192.0.2.1]";
	 * NULL when missing. */
	char *domain;
	/* The entry's text, trimmed; set for invalid entries (and only for
	 * them), so a caller can log or keep what was there. */
	char *raw;
	/* The address was written inside <...>. */
	bool angle;
	/* The null address <> (local is "", domain NULL). */
	bool null_addr;
	bool name_from_comment;
	/* Malformed element; `raw` holds its text and `error` the reason. */
	bool invalid;
	const char *error;
};

struct rfc822_addr_list {
	struct rfc822_addr *addrs;
	size_t count;
	/* Mailboxes among the entries, valid ones only. */
	size_t mailbox_count;
	/* Entries flagged invalid. */
	size_t invalid_count;
	/* The list was cut at max_addresses (a group left open by the cut
	 * still gets its group end entry). */
	bool truncated;
};

struct rfc822_addr_limits {
	/* Longest input accepted, in bytes (0 = default 256 KiB). */
	size_t max_input_len;
	/* Most mailboxes kept (0 = default 10000); further ones are dropped
	 * and the list is marked truncated. */
	unsigned int max_addresses;
	/* Deepest comment nesting accepted (0 = default 32); deeper comments
	 * make their element invalid.  Comments are scanned without
	 * recursion, so this bounds nothing but the policy. */
	unsigned int max_comment_depth;
};

struct rfc822_addr_parser;

/* Creates a parser with the given limits (NULL = all defaults).  A parser
 * holds no state between calls and can be reused. */
struct rfc822_addr_parser *
rfc822_addr_parser_create(const struct rfc822_addr_limits *limits);
/* Frees the parser; sets *parser to NULL (NULL is harmless). */
void rfc822_addr_parser_destroy(struct rfc822_addr_parser **parser);

/* Parses data[0..len) (may hold any byte, NULs included).
 * Returns 1 when every element was well formed, 0 when the list was
 * parsed but some entries are flagged invalid or the list was truncated
 * (*error_r then says what the first problem was), and -1 when the input
 * is refused (longer than max_input_len; *list_r is then NULL).
 * *list_r is owned by the caller: free it with rfc822_addr_list_free().
 * error_r may be NULL. */
int rfc822_addr_parse(struct rfc822_addr_parser *parser, const void *data,
		      size_t len, struct rfc822_addr_list **list_r,
		      const char **error_r);
/* Frees a list and its entries; sets *list to NULL. */
void rfc822_addr_list_free(struct rfc822_addr_list **list);

/* Formatting.  Every function appends to `out`, and returns 0, or -1 when
 * out's size limit was hit (out is then partly written). */

/* A local part, quoted (with \" and \\ escaped) only when it is not a
 * dot-atom: "a.b" -> a.b, "a b" -> "a b", "" -> "". */
int rfc822_addr_format_local(struct str *out, const char *local);
/* A display name: as is when it is a run of atoms separated by single
 * spaces (encoded words stay bare, so they can still be decoded), else a
 * quoted string.  Bytes >= 0x80 count as atom text (RFC 6532). */
int rfc822_addr_format_name(struct str *out, const char *name);
/* The addr-spec of a mailbox entry: local@domain, or just the local part
 * when the domain is missing; "" for the null address. */
int rfc822_addr_format_spec(struct str *out, const struct rfc822_addr *addr);
/* One mailbox as it goes in a header: "Name <local@domain>",
 * "<@route:local@domain>", "<>", or bare "local@domain" when it has no
 * name and no route.  Group entries are written as "name:" and ";". */
int rfc822_addr_format(struct str *out, const struct rfc822_addr *addr);
/* A whole list in canonical form: mailboxes separated by ", ", groups as
 * "name: a@x, b@y;" ("undisclosed-recipients:;" when empty).  Invalid
 * entries are left out. */
int rfc822_addr_list_format(struct str *out,
			    const struct rfc822_addr_list *list);
/* The SMTP envelope form (RFC 5321 reverse/forward-path): "<local@domain>",
 * the route dropped (as RFC 5321 allows), "<>" for the null address.
 * A missing domain is written as the bare local part: the caller adds
 * the default domain first if it wants one. */
int rfc822_addr_format_smtp(struct str *out, const struct rfc822_addr *addr);

/* Helpers. */

/* Whether two domains are equal, ignoring ASCII case (UTF-8 labels are
 * compared bytewise: normalise with idna.h first for IDN-aware
 * comparison).  NULL equals only NULL. */
bool rfc822_addr_domain_equal(const char *a, const char *b);
/* Splits an address "local@domain" at its last '@' outside a quoted
 * string.  *local_r gets the unquoted local part and *domain_r the domain
 * (NULL when there is no '@'); both are new strings the caller frees.
 * Returns 0, or -1 when the address is malformed (unbalanced quote, empty
 * domain after '@', a NUL byte); the outputs are then NULL. */
int rfc822_addr_split(const char *addr, char **local_r, char **domain_r);
/* Whether `local` can be written without quotes (it is a dot-atom). */
bool rfc822_addr_local_is_dot_atom(const char *local);

#endif
