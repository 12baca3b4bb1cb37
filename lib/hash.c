/* hash.c: algorithm names, hex/base64 output and HMAC-MD5 from precomputed
 * key states (with an MD5 compression function written from RFC 1321). */
#include "config.h"
#include "hash.h"
#include "base64.h"
#include "log.h"
#include "secure.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	const char *alt_name;
	size_t digest_size;
	size_t block_size;
} hash_algos[HASH_ALGO_COUNT] = {
	[HASH_MD5] = { "md5", NULL, 16, 64 },
	[HASH_SHA1] = { "sha1", "sha-1", 20, 64 },
	[HASH_SHA256] = { "sha256", "sha-256", 32, 64 },
	[HASH_SHA512] = { "sha512", "sha-512", 64, 128 },
};

static void hash_check_algo(enum hash_algo algo)
{
	if ((unsigned int)algo >= HASH_ALGO_COUNT)
		log_panic("hash: unknown algorithm %d", (int)algo);
}

size_t hash_digest_size(enum hash_algo algo)
{
	hash_check_algo(algo);
	return hash_algos[algo].digest_size;
}

size_t hash_block_size(enum hash_algo algo)
{
	hash_check_algo(algo);
	return hash_algos[algo].block_size;
}

const char *hash_algo_name(enum hash_algo algo)
{
	hash_check_algo(algo);
	return hash_algos[algo].name;
}

int hash_algo_from_name(const char *name, enum hash_algo *algo_r)
{
	for (unsigned int i = 0; i < HASH_ALGO_COUNT; i++) {
		if (strcasecmp(name, hash_algos[i].name) == 0 ||
		    (hash_algos[i].alt_name != NULL &&
		     strcasecmp(name, hash_algos[i].alt_name) == 0)) {
			*algo_r = (enum hash_algo)i;
			return 0;
		}
	}
	return -1;
}

void hash_hex_append(struct str *dest, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		char pair[2] = { hex[data[i] >> 4], hex[data[i] & 0x0f] };

		(void)str_append_n(dest, pair, 2);
	}
}

void hash_base64_append(struct str *dest, const unsigned char *data,
			size_t len)
{
	base64_encode(dest, data, len, 0);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hash_hex_decode(const char *hex, size_t hex_len, unsigned char *out,
		    size_t out_len)
{
	if (out_len > SIZE_MAX / 2 || hex_len != out_len * 2)
		return -1;
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* ---- MD5 (RFC 1321) that can resume from a saved chaining state ---- */

struct md5_state {
	uint32_t h[4];
	unsigned char buf[64];
	size_t buf_len;
	uint64_t total;		/* bytes hashed, including the saved block */
};

/* T[i] = floor(2^32 * abs(sin(i + 1))), RFC 1321 section 3.4. */
static const uint32_t md5_t[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Per-round left rotations. */
static const unsigned char md5_s[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 },
	{ 6, 10, 15, 21 },
};

static uint32_t rol32(uint32_t x, unsigned int n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void md5_compress(uint32_t h[4], const unsigned char block[64])
{
	uint32_t x[16], a = h[0], b = h[1], c = h[2], d = h[3];

	for (unsigned int i = 0; i < 16; i++)
		x[i] = get_le32(block + 4 * i);

	for (unsigned int i = 0; i < 64; i++) {
		unsigned int round = i / 16, k;
		uint32_t f, tmp;

		switch (round) {
		case 0:
			f = (b & c) | (~b & d);
			k = i;
			break;
		case 1:
			f = (b & d) | (c & ~d);
			k = (5 * i + 1) % 16;
			break;
		case 2:
			f = b ^ c ^ d;
			k = (3 * i + 5) % 16;
			break;
		default:
			f = c ^ (b | ~d);
			k = (7 * i) % 16;
			break;
		}
		tmp = d;
		d = c;
		c = b;
		b = b + rol32(a + f + x[k] + md5_t[i], md5_s[round][i % 4]);
		a = tmp;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	secure_wipe(x, sizeof(x));
}

static void md5_state_init(struct md5_state *st)
{
	st->h[0] = 0x67452301;
	st->h[1] = 0xefcdab89;
	st->h[2] = 0x98badcfe;
	st->h[3] = 0x10325476;
	st->buf_len = 0;
	st->total = 0;
}

/* Resumes from a 16-byte saved state that covers one 64-byte block. */
static void md5_state_restore(struct md5_state *st, const unsigned char *saved)
{
	for (unsigned int i = 0; i < 4; i++)
		st->h[i] = get_le32(saved + 4 * i);
	st->buf_len = 0;
	st->total = 64;
}

static void md5_state_save(const struct md5_state *st, unsigned char *out)
{
	for (unsigned int i = 0; i < 4; i++)
		put_le32(out + 4 * i, st->h[i]);
}

static void md5_state_update(struct md5_state *st, const void *data,
			     size_t len)
{
	const unsigned char *p = data;

	st->total += len;
	if (st->buf_len > 0) {
		size_t n = 64 - st->buf_len;

		if (n > len)
			n = len;
		memcpy(st->buf + st->buf_len, p, n);
		st->buf_len += n;
		p += n;
		len -= n;
		if (st->buf_len < 64)
			return;
		md5_compress(st->h, st->buf);
		st->buf_len = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		md5_compress(st->h, p);
	if (len > 0) {
		memcpy(st->buf, p, len);
		st->buf_len = len;
	}
}

static void md5_state_final(struct md5_state *st, unsigned char digest_r[16])
{
	uint64_t bits = st->total * 8;
	unsigned char pad[72] = { 0x80 };
	size_t pad_len = st->buf_len < 56 ? 56 - st->buf_len
					  : 120 - st->buf_len;

	for (unsigned int i = 0; i < 8; i++)
		pad[pad_len + i] = (unsigned char)(bits >> (8 * i));
	/* bits was taken before the padding counts in st->total. */
	md5_state_update(st, pad, pad_len + 8);
	md5_state_save(st, digest_r);
	secure_wipe(st, sizeof(*st));
}

void hmac_md5_precompute(const void *key, size_t key_len,
			 unsigned char state_r[HMAC_MD5_STATE_SIZE])
{
	unsigned char k[64], block[64], hashed[HASH_MD5_DIGEST_SIZE];
	struct md5_state st;

	memset(k, 0, sizeof(k));
	if (key_len > sizeof(k)) {
		hash_digest(HASH_MD5, key, key_len, hashed);
		memcpy(k, hashed, sizeof(hashed));
	} else if (key_len > 0) {
		memcpy(k, key, key_len);
	}

	/* Outer state first, then inner: Courier's order. */
	for (unsigned int i = 0; i < 64; i++)
		block[i] = k[i] ^ 0x5c;
	md5_state_init(&st);
	md5_compress(st.h, block);
	md5_state_save(&st, state_r);

	for (unsigned int i = 0; i < 64; i++)
		block[i] = k[i] ^ 0x36;
	md5_state_init(&st);
	md5_compress(st.h, block);
	md5_state_save(&st, state_r + HASH_MD5_DIGEST_SIZE);

	secure_wipe(k, sizeof(k));
	secure_wipe(block, sizeof(block));
	secure_wipe(hashed, sizeof(hashed));
	secure_wipe(&st, sizeof(st));
}

void hmac_md5_precompute_hex(struct str *dest, const void *key,
			     size_t key_len)
{
	unsigned char state[HMAC_MD5_STATE_SIZE];

	hmac_md5_precompute(key, key_len, state);
	hash_hex_append(dest, state, sizeof(state));
	secure_wipe(state, sizeof(state));
}

int hmac_md5_state_from_hex(const char *hex, size_t hex_len,
			    unsigned char state_r[HMAC_MD5_STATE_SIZE])
{
	return hash_hex_decode(hex, hex_len, state_r, HMAC_MD5_STATE_SIZE);
}

void hmac_md5_from_state(const unsigned char state[HMAC_MD5_STATE_SIZE],
			 const void *data, size_t len,
			 unsigned char digest_r[HASH_MD5_DIGEST_SIZE])
{
	unsigned char inner[HASH_MD5_DIGEST_SIZE];
	struct md5_state st;

	md5_state_restore(&st, state + HASH_MD5_DIGEST_SIZE);
	md5_state_update(&st, data, len);
	md5_state_final(&st, inner);

	md5_state_restore(&st, state);
	md5_state_update(&st, inner, sizeof(inner));
	md5_state_final(&st, digest_r);
	secure_wipe(inner, sizeof(inner));
}
