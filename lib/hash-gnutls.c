/* hash-gnutls.c: lib/hash.h digests and HMAC over GnuTLS (gnutls_hash,
 * gnutls_hmac). */
#include "config.h"
#include "hash.h"
#include "log.h"
#include "mem.h"
#include "secure.h"

#include <stdlib.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

struct hash_ctx {
	enum hash_algo algo;
	gnutls_hash_hd_t hd;
};

struct hmac_ctx {
	enum hash_algo algo;
	gnutls_hmac_hd_t hd;
};

static gnutls_digest_algorithm_t hash_gnutls_digest(enum hash_algo algo)
{
	switch (algo) {
	case HASH_MD5:
		return GNUTLS_DIG_MD5;
	case HASH_SHA1:
		return GNUTLS_DIG_SHA1;
	case HASH_SHA256:
		return GNUTLS_DIG_SHA256;
	case HASH_SHA512:
		return GNUTLS_DIG_SHA512;
	}
	log_panic("hash: unknown algorithm %d", (int)algo);
}

static gnutls_mac_algorithm_t hash_gnutls_mac(enum hash_algo algo)
{
	switch (algo) {
	case HASH_MD5:
		return GNUTLS_MAC_MD5;
	case HASH_SHA1:
		return GNUTLS_MAC_SHA1;
	case HASH_SHA256:
		return GNUTLS_MAC_SHA256;
	case HASH_SHA512:
		return GNUTLS_MAC_SHA512;
	}
	log_panic("hash: unknown algorithm %d", (int)algo);
}

static void __attribute__((noreturn)) gnutls_panic(const char *what, int ret)
{
	log_panic("hash: %s failed: %s", what, gnutls_strerror(ret));
}

struct hash_ctx *hash_create(enum hash_algo algo)
{
	struct hash_ctx *ctx = xcalloc(1, sizeof(*ctx));
	int ret;

	ctx->algo = algo;
	ret = gnutls_hash_init(&ctx->hd, hash_gnutls_digest(algo));
	if (ret < 0)
		gnutls_panic("gnutls_hash_init", ret);
	return ctx;
}

void hash_update(struct hash_ctx *ctx, const void *data, size_t len)
{
	int ret;

	if (len == 0)
		return;
	ret = gnutls_hash(ctx->hd, data, len);
	if (ret < 0)
		gnutls_panic("gnutls_hash", ret);
}

void hash_final(struct hash_ctx *ctx, unsigned char *digest_r)
{
	/* gnutls_hash_output() also resets the context. */
	gnutls_hash_output(ctx->hd, digest_r);
}

void hash_destroy(struct hash_ctx **_ctx)
{
	struct hash_ctx *ctx = *_ctx;
	unsigned char scratch[HASH_MAX_DIGEST_SIZE];

	if (ctx == NULL)
		return;
	*_ctx = NULL;
	/* Finishing the digest leaves no message state behind. */
	gnutls_hash_deinit(ctx->hd, scratch);
	secure_wipe(scratch, sizeof(scratch));
	free(ctx);
}

void hash_digest(enum hash_algo algo, const void *data, size_t len,
		 unsigned char *digest_r)
{
	static const unsigned char empty[1];
	int ret;

	ret = gnutls_hash_fast(hash_gnutls_digest(algo),
			       len > 0 ? data : empty, len, digest_r);
	if (ret < 0)
		gnutls_panic("gnutls_hash_fast", ret);
}

struct hmac_ctx *hmac_create(enum hash_algo algo, const void *key,
			     size_t key_len)
{
	static const unsigned char empty_key[1];
	struct hmac_ctx *ctx = xcalloc(1, sizeof(*ctx));
	int ret;

	ctx->algo = algo;
	ret = gnutls_hmac_init(&ctx->hd, hash_gnutls_mac(algo),
			       key_len > 0 ? key : empty_key, key_len);
	if (ret < 0)
		gnutls_panic("gnutls_hmac_init", ret);
	return ctx;
}

void hmac_update(struct hmac_ctx *ctx, const void *data, size_t len)
{
	int ret;

	if (len == 0)
		return;
	ret = gnutls_hmac(ctx->hd, data, len);
	if (ret < 0)
		gnutls_panic("gnutls_hmac", ret);
}

void hmac_final(struct hmac_ctx *ctx, unsigned char *digest_r)
{
	/* gnutls_hmac_output() resets to "key set, no data". */
	gnutls_hmac_output(ctx->hd, digest_r);
}

void hmac_destroy(struct hmac_ctx **_ctx)
{
	struct hmac_ctx *ctx = *_ctx;
	unsigned char scratch[HASH_MAX_DIGEST_SIZE];

	if (ctx == NULL)
		return;
	*_ctx = NULL;
	gnutls_hmac_deinit(ctx->hd, scratch);
	secure_wipe(scratch, sizeof(scratch));
	free(ctx);
}

void hmac_digest(enum hash_algo algo, const void *key, size_t key_len,
		 const void *data, size_t len, unsigned char *digest_r)
{
	static const unsigned char empty[1];
	int ret;

	ret = gnutls_hmac_fast(hash_gnutls_mac(algo),
			       key_len > 0 ? key : empty, key_len,
			       len > 0 ? data : empty, len, digest_r);
	if (ret < 0)
		gnutls_panic("gnutls_hmac_fast", ret);
}
