/* esmtp-filter.h: global mail filters as Courier's courierfilter(8) has
 * them: a filter is a daemon listening on a Unix socket in the instance's
 * var/filters/ folder.  When `enablefiltering` names the message's source
 * (esmtp, local), esmtpd asks every socket there, in name order, before
 * its final reply:
 *
 *   esmtpd -> filter:  the path of the message file, LF,
 *                      the path of the envelope file, LF, an empty line.
 *   filter -> esmtpd:  an SMTP reply ("250 Ok\n"; several lines as
 *                      "550-...\n550 ...\n"), then it may close.
 *
 * 2xx accepts (the next filter is asked); 4xx or 5xx refuses the message
 * and is passed on to the client.  A filter may also answer for each
 * recipient on its own, in the format of Courier's Extended DATA Reply
 * (draft-varshavchik-exdata-smtpext section 5): a 558 reply whose lines
 * hold one reply per "r" line of the envelope, in order:
 *
 *   558-250 Ok                    (the first recipient: accepted)
 *   558-550-Refused by your       (the second: refused,
 *   558 550 own filter             a reply of two lines)
 *
 * A recipient a filter refused stays refused; the next filters are asked
 * while some recipient is still accepted.  A socket that refuses the connection,
 * an invalid reply, or no reply within the timeout refuse the message
 * temporarily (451 4.7.1).  The envelope file has one record per line:
 * "s" sender, "f" the Received: from text, "u" source, "i" login (AUTH),
 * "r" one per recipient, "V" NAME=value for each smtpaccess variable.
 * Both files are removed after the answer. */
#ifndef ESMTP_FILTER_H
#define ESMTP_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

struct ioloop;

/* Longest reply read from a filter. */
#define ESMTP_FILTER_MAX_REPLY 8192

/* Reply accumulator (pure; unit tested and fuzzed). */
struct esmtp_filter_reply {
	struct str buf;		/* the bytes read so far */
	bool done;
	bool valid;
	int code;		/* the reply's code (of its last line) */
	char **lines;		/* "NNN-text" / "NNN text", cleaned */
	size_t line_count;
	/* a valid 558 reply: its sub-replies, each the lines of one
	 * recipient's reply ("550-a\n550 b") */
	char **subs;
	size_t sub_count;
};

void esmtp_filter_reply_init(struct esmtp_filter_reply *r);
void esmtp_filter_reply_free(struct esmtp_filter_reply *r);
/* Feeds bytes (eof: the filter closed).  Returns 1 when the reply is
 * complete (r->valid tells if it is a proper 2xx/4xx/5xx reply with
 * every line carrying the same code, and for 558 one whose text is a
 * sequence of well-formed 2xx/4xx/5xx sub-replies, which are in
 * r->subs), 0 when more is needed. */
int esmtp_filter_reply_feed(struct esmtp_filter_reply *r, const char *data,
			    size_t len, bool eof);

/* The sources enablefiltering lists: true when source ("esmtp",
 * "local") is one of them.  text is the file's content (NULL: none). */
bool esmtp_filter_enabled(const char *text, const char *source);

struct esmtp_filter_run;
/* Called once, everything valid during the call only.  reply non-NULL:
 * the message is refused as a whole, with these line_count lines for the
 * client.  Else rcpt_replies NULL: every filter accepted the message for
 * every recipient; rcpt_replies non-NULL (rcpt_count entries): some
 * filter answered per recipient, entry i is NULL when recipient i was
 * accepted, else the lines of its refusal joined with '\n'. */
typedef void esmtp_filter_done_t(char **reply, size_t line_count,
				 char **rcpt_replies, void *context);

/* Asks the filters of dir in turn about a message of rcpt_count
 * recipients (the "r" lines of the envelope file).  Returns NULL when
 * dir has no socket (nothing to ask; done is not called). */
struct esmtp_filter_run *esmtp_filter_start(struct ioloop *loop,
					    const char *dir,
					    const char *msg_path,
					    const char *env_path,
					    size_t rcpt_count,
					    unsigned int timeout_msecs,
					    esmtp_filter_done_t *done,
					    void *context);
/* Stops a run (done is not called); sets *run to NULL. */
void esmtp_filter_abort(struct esmtp_filter_run **run);

#endif
