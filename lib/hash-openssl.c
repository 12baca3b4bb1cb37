/* hash-openssl.c: lib/hash.h digests and HMAC over OpenSSL's libcrypto. */
#include "config.h"
#include "hash.h"
#include "log.h"
#include "mem.h"
#include "secure.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>
#else
#include <openssl/hmac.h>
#endif

struct hash_ctx {
	enum hash_algo algo;
	EVP_MD_CTX *md;
};

struct hmac_ctx {
	enum hash_algo algo;
	unsigned char *key;	/* a copy, to start again after hmac_final */
	size_t key_len;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MAC_CTX *mac;
#else
	HMAC_CTX *mac;
#endif
};

static void __attribute__((noreturn)) openssl_panic(const char *what)
{
	unsigned long err = ERR_get_error();
	char buf[256];

	ERR_error_string_n(err, buf, sizeof(buf));
	log_panic("hash: %s failed: %s", what, buf);
}

static const EVP_MD *hash_md(enum hash_algo algo)
{
	switch (algo) {
	case HASH_MD5:
		return EVP_md5();
	case HASH_SHA1:
		return EVP_sha1();
	case HASH_SHA256:
		return EVP_sha256();
	case HASH_SHA512:
		return EVP_sha512();
	}
	log_panic("hash: unknown algorithm %d", (int)algo);
}

struct hash_ctx *hash_create(enum hash_algo algo)
{
	struct hash_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->algo = algo;
	ctx->md = EVP_MD_CTX_new();
	if (ctx->md == NULL)
		openssl_panic("EVP_MD_CTX_new");
	if (EVP_DigestInit_ex(ctx->md, hash_md(algo), NULL) != 1)
		openssl_panic("EVP_DigestInit_ex");
	return ctx;
}

void hash_update(struct hash_ctx *ctx, const void *data, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(ctx->md, data, len) != 1)
		openssl_panic("EVP_DigestUpdate");
}

void hash_final(struct hash_ctx *ctx, unsigned char *digest_r)
{
	unsigned int len = 0;

	if (EVP_DigestFinal_ex(ctx->md, digest_r, &len) != 1)
		openssl_panic("EVP_DigestFinal_ex");
	if (len != hash_digest_size(ctx->algo))
		log_panic("hash: %s digest of %u bytes",
			  hash_algo_name(ctx->algo), len);
	if (EVP_DigestInit_ex(ctx->md, hash_md(ctx->algo), NULL) != 1)
		openssl_panic("EVP_DigestInit_ex");
}

void hash_destroy(struct hash_ctx **_ctx)
{
	struct hash_ctx *ctx = *_ctx;

	if (ctx == NULL)
		return;
	*_ctx = NULL;
	/* EVP_MD_CTX_free cleanses the digest state. */
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

void hash_digest(enum hash_algo algo, const void *data, size_t len,
		 unsigned char *digest_r)
{
	unsigned int out_len = 0;

	if (EVP_Digest(data, len, digest_r, &out_len, hash_md(algo), NULL) != 1)
		openssl_panic("EVP_Digest");
}

static void hmac_start(struct hmac_ctx *ctx)
{
	/* A zero-length key still needs a non-NULL pointer: NULL would
	 * mean "keep the previous key". */
	static const unsigned char empty_key[1];
	const unsigned char *key = ctx->key_len > 0 ? ctx->key : empty_key;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_MAC_PARAM_DIGEST,
		(char *)EVP_MD_get0_name(hash_md(ctx->algo)), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx->mac, key, ctx->key_len, params) != 1)
		openssl_panic("EVP_MAC_init");
#else
	if (HMAC_Init_ex(ctx->mac, key, (int)ctx->key_len,
			 hash_md(ctx->algo), NULL) != 1)
		openssl_panic("HMAC_Init_ex");
#endif
}

struct hmac_ctx *hmac_create(enum hash_algo algo, const void *key,
			     size_t key_len)
{
	struct hmac_ctx *ctx = xcalloc(1, sizeof(*ctx));

	(void)hash_md(algo);
	ctx->algo = algo;
	ctx->key = xmemdup(key_len > 0 ? key : "", key_len);
	ctx->key_len = key_len;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	if (mac == NULL)
		openssl_panic("EVP_MAC_fetch(HMAC)");
	ctx->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (ctx->mac == NULL)
		openssl_panic("EVP_MAC_CTX_new");
#else
	if (key_len > INT_MAX)
		log_panic("hash: HMAC key of %zu bytes", key_len);
	ctx->mac = HMAC_CTX_new();
	if (ctx->mac == NULL)
		openssl_panic("HMAC_CTX_new");
#endif
	hmac_start(ctx);
	return ctx;
}

void hmac_update(struct hmac_ctx *ctx, const void *data, size_t len)
{
	if (len == 0)
		return;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	if (EVP_MAC_update(ctx->mac, data, len) != 1)
		openssl_panic("EVP_MAC_update");
#else
	if (HMAC_Update(ctx->mac, data, len) != 1)
		openssl_panic("HMAC_Update");
#endif
}

void hmac_final(struct hmac_ctx *ctx, unsigned char *digest_r)
{
	size_t size = hash_digest_size(ctx->algo);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	size_t len = 0;

	if (EVP_MAC_final(ctx->mac, digest_r, &len, size) != 1)
		openssl_panic("EVP_MAC_final");
#else
	unsigned int len = 0;

	if (HMAC_Final(ctx->mac, digest_r, &len) != 1)
		openssl_panic("HMAC_Final");
#endif
	if (len != size)
		log_panic("hash: HMAC-%s of %zu bytes",
			  hash_algo_name(ctx->algo), (size_t)len);
	hmac_start(ctx);
}

void hmac_destroy(struct hmac_ctx **_ctx)
{
	struct hmac_ctx *ctx = *_ctx;

	if (ctx == NULL)
		return;
	*_ctx = NULL;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MAC_CTX_free(ctx->mac);
#else
	HMAC_CTX_free(ctx->mac);
#endif
	secure_wipe(ctx->key, ctx->key_len);
	free(ctx->key);
	free(ctx);
}

void hmac_digest(enum hash_algo algo, const void *key, size_t key_len,
		 const void *data, size_t len, unsigned char *digest_r)
{
	struct hmac_ctx *ctx = hmac_create(algo, key, key_len);

	hmac_update(ctx, data, len);
	hmac_final(ctx, digest_r);
	hmac_destroy(&ctx);
}
