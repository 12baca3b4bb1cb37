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
 * and is passed on to the client.  A socket that refuses the connection,
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
};

void esmtp_filter_reply_init(struct esmtp_filter_reply *r);
void esmtp_filter_reply_free(struct esmtp_filter_reply *r);
/* Feeds bytes (eof: the filter closed).  Returns 1 when the reply is
 * complete (r->valid tells if it is a proper 2xx/4xx/5xx reply with
 * every line carrying the same code), 0 when more is needed. */
int esmtp_filter_reply_feed(struct esmtp_filter_reply *r, const char *data,
			    size_t len, bool eof);

/* The sources enablefiltering lists: true when source ("esmtp",
 * "local") is one of them.  text is the file's content (NULL: none). */
bool esmtp_filter_enabled(const char *text, const char *source);

struct esmtp_filter_run;
/* Called once: reply NULL when every filter accepted, else the lines of
 * the reply to give the client (valid during the call). */
typedef void esmtp_filter_done_t(char **reply, size_t line_count,
				 void *context);

/* Asks the filters of dir in turn.  Returns NULL when dir has no
 * socket (nothing to ask; done is not called). */
struct esmtp_filter_run *esmtp_filter_start(struct ioloop *loop,
					    const char *dir,
					    const char *msg_path,
					    const char *env_path,
					    unsigned int timeout_msecs,
					    esmtp_filter_done_t *done,
					    void *context);
/* Stops a run (done is not called); sets *run to NULL. */
void esmtp_filter_abort(struct esmtp_filter_run **run);

#endif
