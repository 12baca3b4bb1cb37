/* mailbot.h: the parts of mailbot(1) shared by its files, the unit test
 * and the fuzz target: command-line parsing (mailbot-args.c), the
 * salutation template and header helpers (mailbot-template.c), and the
 * MIME report pieces (mailbot-report.c). */
#ifndef MAILBOT_H
#define MAILBOT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "str.h"

/* Longest option value, --feedback-NAME name and strftime() format
 * accepted; the number of -A headers and --feedback-* options. */
#define MAILBOT_MAX_ARG 4096
#define MAILBOT_MAX_FEEDBACK_NAME 64
#define MAILBOT_MAX_DATE_FORMAT 256
#define MAILBOT_MAX_LIST 256

enum mailbot_mode {
	MAILBOT_REPLY,
	MAILBOT_REPLYALL,
	MAILBOT_REPLYDSN,
	MAILBOT_REPLYDRAFT,
	MAILBOT_FORWARD,
	MAILBOT_FORWARDATT,
	MAILBOT_FEEDBACK,
	MAILBOT_REPLYFEEDBACK,
};

/* One "--feedback-NAME VALUE": name as given (after "--feedback-"). */
struct mailbot_feedback {
	const char *name, *value;
};

/* The parsed command line.  Strings point into argv. */
struct mailbot_opts {
	const char *text_file;		/* -t */
	const char *mime_file;		/* -m */
	const char *dsn_from;		/* -M: replydsn's Final-Recipient */
	const char *feedback_type;	/* -R */
	const char *subject;		/* -s */
	const char *from_addr;		/* -f[addr] (or $SENDER) */
	const char *db;			/* -d */
	const char *charset;		/* -c (NULL: the locale's) */
	const char *salutation;		/* -S */
	const char *marker;		/* -F */
	const char *only_to;		/* -r */
	const char *draft_dir;		/* -l */
	const char **headers;		/* -A, in order */
	size_t nheaders;
	struct mailbot_feedback *feedback;	/* --feedback-*, in order */
	size_t nfeedback;
	double days;			/* -D */
	enum mailbot_mode mode;		/* -T (-M makes it replydsn) */
	bool from_given, errors_to, no_quote, print, attach_all;
	int prog_index;			/* argv index of the program, or argc */
};

/* Parses argv the way Debian's mailbot does: options until the first
 * argument not starting with '-' (the program) or "--"; an option's value
 * is either glued ("-tfile") or the next argument ("-t file"), except -f
 * whose address must be glued (a bare -f takes $SENDER through getenv,
 * and is ignored when $SENDER is not set);
 * "--feedback-NAME VALUE" pairs.  Checks what Debian does not: the -T
 * names, -R's type (abuse, fraud, other, virus, auth-failure, not-spam)
 * and that -R comes with -T feedback/replyfeedback (and -R is required
 * there), -A "Name: value" and --feedback-NAME field syntax, no line
 * breaks in values, -D a non-negative number, -t/-m (one of them, or -l
 * with -T replydraft), lengths (MAILBOT_MAX_*), no line break in what
 * goes into a header (-A -s -M -R -c -f -T -D, --feedback-*).  Returns 0 and fills *o
 * (free with mailbot_opts_free), or -1 with a static *error_r. */
int mailbot_args_parse(int argc, char *const argv[], struct mailbot_opts *o,
		       const char **error_r);
void mailbot_opts_free(struct mailbot_opts *o);

/* An original header field: name as written, value with its folds
 * (line end and following blanks) turned into one space and leading and
 * trailing blanks removed. */
struct mailbot_field {
	char *name, *value;
};
struct mailbot_header {
	struct mailbot_field *fields;
	size_t count;
	size_t body_offset;	/* where the body starts in the message */
};

/* Splits the header block of msg (len bytes) into fields, bounded by the
 * limits of lib/rfc822-header.h; lines without a colon are dropped. */
void mailbot_header_parse(struct mailbot_header *h, const char *msg,
			  size_t len);
void mailbot_header_free(struct mailbot_header *h);
/* The value of the first field called name (any case), or NULL. */
const char *mailbot_header_get(const struct mailbot_header *h,
			       const char *name);

/* What the salutation template's % sequences stand for (NULL = empty). */
struct mailbot_sal_vars {
	const char *newsgroup, *newsgroups, *message_id, *addr, *name;
	const char *date, *subject;
};

/* Appends the expanded salutation (-S): %% %n %C %N %i %f %F %S/%s %d and
 * %{fmt}d (strftime of the Date: in the local zone; plain %d is
 * %{%a, %d %b %Y %H:%M:%S %z}d; an unparsable date is copied as it is).
 * Any other %x gives x; a '%' at the end stays; an unterminated "%{" is
 * copied as it is.  At most MAILBOT_MAX_ARG bytes of the template are
 * read, and at most 1023 bytes come from one date. */
void mailbot_salutation(struct str *out, const char *tmpl,
			const struct mailbot_sal_vars *v);

/* Appends the References: value for a reply: the message ids of
 * references then message_id (either NULL), the last 20 of them, one a
 * line, continuation lines indented by 12 spaces, ending with "\n". */
void mailbot_references(struct str *out, const char *references,
			const char *message_id);

/* Appends subject without its reply/forward markers: leading "Re:",
 * "Fwd:", "Fw:" (any case, repeated, with "[...]" blobs kept), trailing
 * "(fwd)", and runs of blanks squeezed to one space. */
void mailbot_core_subject(struct str *out, const char *subject);

/* Which header lines of a -m file (all but Content-Transfer-Encoding)
 * or of a -l draft (Content-* but Content-Length) go into the reply. */
enum mailbot_keep { MAILBOT_KEEP_NOT_CTE, MAILBOT_KEEP_CONTENT };

/* Splits a -m file or a draft (data, len bytes) at its first empty line:
 * appends the kept header lines (with their continuation lines, each
 * ending with a line end) to hdrs and the rest to body. */
void mailbot_mime_file_split(const char *data, size_t len, struct str *hdrs,
			     struct str *body, enum mailbot_keep keep);
/* True when every line of data's header block is a "Name: value" field
 * (printable name, a colon) or a continuation line. */
bool mailbot_mime_file_check(const char *data, size_t len);

/* A MIME boundary that does not occur in msg (len bytes). */
char *mailbot_boundary(const char *msg, size_t len);

/* Appends "Arrival-Date: <now in the local zone>\n". */
void mailbot_arrival_date(struct str *out, time_t now);

/* Appends the body of a message/delivery-status part (RFC 3464) saying
 * dsn_from was delivered (Action: delivered, Status: 2.0.0). */
void mailbot_dsn_report(struct str *out, const char *dsn_from, time_t now);

/* Appends the body of a message/feedback-report part (RFC 5965):
 * Feedback-Type, Arrival-Date, User-Agent, Version, then the
 * --feedback-* fields with their names capitalised per word. */
void mailbot_feedback_report(struct str *out, const struct mailbot_opts *o,
			     time_t now);

/* Appends a text/rfc822-headers part's header and the original header
 * (one unfolded "Name: value" a line, then a blank line). */
void mailbot_headers_part(struct str *out, const struct mailbot_header *h);

/* The newest message (mtime, then smallest name) of maildir dir's new/
 * and cur/, skipping dot files and messages flagged T; NULL when there
 * is none.  Caller frees. */
char *mailbot_find_draft(const char *dir);

/* mailbot-text.c: the original's text. */
struct mime_part;

/* The first text/plain leaf of p, depth first (p itself if it is one),
 * or NULL. */
const struct mime_part *mailbot_text_find(const struct mime_part *p);
/* Appends the body of part (a leaf of the tree of msg, len bytes),
 * decoded from its transfer encoding (at most max bytes kept), converted
 * from its charset (us-ascii if none) to charset; characters charset
 * cannot show are dropped. */
void mailbot_text_decode(struct str *out, const char *msg, size_t len,
			 const struct mime_part *part, const char *charset,
			 size_t max);
/* Appends s (UTF-8, len bytes) converted to charset, dropping the
 * characters charset cannot show. */
void mailbot_text_from_utf8(struct str *out, const char *s, size_t len,
			    const char *charset);
/* Appends text re-written line by line as Courier does when it quotes
 * (adjust 1) or forwards (adjust 0): each line gets its quote depth
 * (from its leading '>' when flowed) plus adjust '>'s, a space after
 * them or before a leading space (flowed: also before a '>'), trailing
 * spaces dropped; a flowed line's soft break (RFC 3676, delsp honoured)
 * is kept as one trailing space. */
void mailbot_text_reflow(struct str *out, const char *text, size_t len,
			 bool flowed, bool delsp, unsigned int adjust);

/* mailbot-check.c (linked into mailbot only: it needs LMDB and mdmsg). */
struct md_message;
struct rfc822_addr;
struct rfc822_addr_list;

/* Parses an address header value (NULL is fine); NULL when it holds no
 * mailbox.  Free with rfc822_addr_list_free(). */
struct rfc822_addr_list *mailbot_parse_addrs(const char *value);
/* The first valid mailbox with a domain of l (may be NULL), or NULL. */
const struct rfc822_addr *
mailbot_first_mailbox(const struct rfc822_addr_list *l);
/* a's addr-spec in lower case; caller frees. */
char *mailbot_addr_spec_lower(const struct rfc822_addr *a);
/* True for a message that gets no reply: Precedence junk/bulk/list,
 * List-Id, Auto-Submitted other than "no", multipart/report. */
bool mailbot_declined(const struct md_message *msg);
/* -r: does a To or Cc address equal one of list (comma-separated, any
 * case)? */
bool mailbot_addressed_to(const struct md_message *msg, const char *list);
/* -d: 1 if addr was answered less than days ago; else records now (when
 * record) and returns 0.  -1 on a database error. */
int mailbot_already_answered(const char *db, const char *addr, double days,
			     bool record);

#endif
