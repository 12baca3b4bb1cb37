/* dkim-sign.h: DKIM signing of a whole message (RFC 6376 5) with
 * rsa-sha256 or ed25519-sha256 (RFC 8463), relaxed/relaxed.
 *
 *	struct dkim_sign *s = dkim_sign_create(&set);
 *	dkim_sign_feed(s, data, len);	// the message, any pieces
 *	dkim_sign_finish(s, &field, &error);	// "DKIM-Signature: ..."
 *	dkim_sign_destroy(&s);
 *
 * The signed fields are those of set.headers (NULL: the usual list,
 * DKIM_SIGN_DEFAULT_HEADERS) present in the message, each as many times
 * as it appears; "from" is signed once more than it appears, so that a
 * From: added later breaks the signature.  A message without From: is
 * not signed (h= must name it, RFC 6376 5.4). */
#ifndef DKIM_SIGN_H
#define DKIM_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dkim-msg.h"
#include "pubkey.h"
#include "str.h"

#define DKIM_SIGN_DEFAULT_HEADERS \
	"from:sender:reply-to:subject:date:message-id:to:cc:" \
	"mime-version:content-type:content-transfer-encoding:" \
	"content-id:content-description:in-reply-to:references:" \
	"resent-date:resent-from:resent-sender:resent-to:resent-cc:" \
	"resent-message-id:list-id:list-help:list-unsubscribe:" \
	"list-subscribe:list-post:list-owner:list-archive"

struct dkim_sign_settings {
	/* d= and s=: may be NULL at creation when the signer is chosen by
	 * the message (its From:), then given by dkim_sign_set_key(). */
	const char *domain;	/* d= */
	const char *selector;	/* s= */
	const char *identity;	/* i=, or NULL (none: "@d" implied) */
	/* The key (borrowed): RSA gives rsa-sha256, Ed25519
	 * ed25519-sha256. */
	const struct pubkey_private *key;
	const char *headers;	/* ':'-separated names, or NULL */
	time_t timestamp;	/* t=; 0 = time(NULL) */
	uint64_t max_header;	/* 0 = dkim-msg.h's default */
};

struct dkim_sign;

struct dkim_sign *dkim_sign_create(const struct dkim_sign_settings *set);
void dkim_sign_feed(struct dkim_sign *s, const void *data, size_t len);
/* The message's header as read so far (complete once the body started or
 * after dkim_sign_finish()): to choose the signing domain. */
const struct dkim_msg *dkim_sign_msg(const struct dkim_sign *s);
/* Sets (or replaces) d=, s= and the key (borrowed) before finishing. */
void dkim_sign_set_key(struct dkim_sign *s, const char *domain,
		       const char *selector,
		       const struct pubkey_private *key);
/* Signs.  Appends the whole field "DKIM-Signature: v=1; ..." folded
 * with CRLF + tab, without a final line end, to field_r and returns 0;
 * -1 with *error_r (no key set, no From:, a header too large, a signing
 * failure). */
int dkim_sign_finish(struct dkim_sign *s, struct str *field_r,
		     const char **error_r);
void dkim_sign_destroy(struct dkim_sign **s);

#endif
