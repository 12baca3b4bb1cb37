/* imap-compress.h: COMPRESS=DEFLATE (RFC 4978) for a logged-in session:
 * the session's socket is taken from its conn and a raw DEFLATE stream
 * (zlib, no header) runs each way between it and a local socketpair whose
 * other end becomes the session's new conn, so the command code never
 * sees compressed bytes. */
#ifndef IMAP_COMPRESS_H
#define IMAP_COMPRESS_H

#include <stdbool.h>

struct imap_client;
struct imap_compress;

/* Most bytes buffered each way before reading that side pauses. */
#define IMAP_COMPRESS_BUFFER (256 * 1024)

/* Starts compression on client's connection, whose output must be
 * flushed (send the tagged OK first and call this once it drained; not
 * from inside the conn's callbacks).  Returns 0, or -1 with a static
 * *error_r and the session unchanged (a pair of fds, TLS, or pending
 * output cannot be taken over). */
int imap_compress_start(struct imap_client *client, const char **error_r);
/* Ends compression when the session ends: what the session wrote is
 * compressed and sent (waiting at most a few seconds for the peer), then
 * the socket is closed.  Call after the session's conn is destroyed.
 * Sets *c to NULL. */
void imap_compress_destroy(struct imap_compress **c);

#endif
