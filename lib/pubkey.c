/* pubkey.c: the parts of lib/pubkey.h that do not depend on the crypto
 * library: the bounded DER reader and the SubjectPublicKeyInfo wrapping. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "pubkey.h"
#include "secure.h"

/* AlgorithmIdentifier of rsaEncryption (1.2.840.113549.1.1.1, NULL
 * parameters) and of id-Ed25519 (1.3.101.112, no parameters). */
static const unsigned char rsa_algid[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x01, 0x05, 0x00
};
static const unsigned char ed25519_algid[] = {
	0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70
};

const char *pubkey_type_name(enum pubkey_type type)
{
	return type == PUBKEY_ED25519 ? "ed25519" : "rsa";
}

int pubkey_der_header(const unsigned char *data, size_t len,
		      unsigned char *tag_r, size_t *off_r, size_t *clen_r)
{
	size_t off = 2, clen;

	if (len < 2)
		return -1;
	*tag_r = data[0];
	if ((data[0] & 0x1f) == 0x1f)
		return -1;	/* multi-byte tags: not in these structures */
	if (data[1] < 0x80) {
		clen = data[1];
	} else {
		size_t n = data[1] & 0x7f;

		if (n == 0 || n > 3 || len < 2 + n)
			return -1;	/* indefinite, or over 16 MB */
		clen = 0;
		for (size_t i = 0; i < n; i++)
			clen = (clen << 8) | data[2 + i];
		if (clen < 0x80 || (n > 1 && data[2] == 0))
			return -1;	/* not the shortest form (DER) */
		off += n;
	}
	if (clen > len - off)
		return -1;
	*off_r = off;
	*clen_r = clen;
	return 0;
}

static void der_append_header(struct str *out, unsigned char tag,
			      size_t len)
{
	str_append_c(out, (char)tag);
	if (len < 0x80) {
		str_append_c(out, (char)len);
	} else if (len < 0x100) {
		str_append_c(out, (char)0x81);
		str_append_c(out, (char)len);
	} else {
		str_append_c(out, (char)0x82);
		str_append_c(out, (char)(len >> 8));
		str_append_c(out, (char)(len & 0xff));
	}
}

/* SEQUENCE { algid, BIT STRING { 0 unused bits, key } } */
static void spki_wrap(struct str *out, const unsigned char *algid,
		      size_t algid_len, const unsigned char *key,
		      size_t key_len)
{
	struct str bits;

	str_init(&bits, key_len + 8);
	der_append_header(&bits, 0x03, key_len + 1);
	str_append_c(&bits, 0);
	str_append_n(&bits, key, key_len);
	der_append_header(out, 0x30, algid_len + bits.len);
	str_append_n(out, algid, algid_len);
	str_append_n(out, bits.data, bits.len);
	str_free(&bits);
}

/* The whole input is one DER SEQUENCE; *first_tag_r is the tag of its
 * first element. */
static int outer_sequence(const unsigned char *data, size_t len,
			  unsigned char *first_tag_r)
{
	unsigned char tag;
	size_t off, clen, ioff, iclen;

	if (pubkey_der_header(data, len, &tag, &off, &clen) < 0 ||
	    tag != 0x30 || off + clen != len)
		return -1;
	if (pubkey_der_header(data + off, clen, first_tag_r, &ioff,
			      &iclen) < 0)
		return -1;
	return 0;
}

int pubkey_to_spki(enum pubkey_type type, const unsigned char *data,
		   size_t len, struct str *out, const char **error_r)
{
	unsigned char first;

	str_clear(out);
	if (len == 0) {
		*error_r = "empty key";
		return -1;
	}
	if (len > PUBKEY_MAX_INPUT) {
		*error_r = "key too long";
		return -1;
	}
	if (type == PUBKEY_ED25519 && len == PUBKEY_ED25519_KEY_SIZE) {
		spki_wrap(out, ed25519_algid, sizeof(ed25519_algid), data,
			  len);
		return 0;
	}
	if (outer_sequence(data, len, &first) < 0) {
		*error_r = type == PUBKEY_ED25519 ?
			   "Ed25519 key is not 32 bytes" :
			   "key is not DER";
		return -1;
	}
	if (first == 0x30) {	/* SubjectPublicKeyInfo */
		str_append_n(out, data, len);
		return 0;
	}
	if (first == 0x02 && type == PUBKEY_RSA) {	/* RSAPublicKey */
		spki_wrap(out, rsa_algid, sizeof(rsa_algid), data, len);
		return 0;
	}
	*error_r = "key is neither SubjectPublicKeyInfo nor RSAPublicKey";
	return -1;
}

int pubkey_private_read_file(const char *path, struct pubkey_private **key_r,
			     const char **error_r)
{
	char *buf = xmalloc(PUBKEY_MAX_PEM + 1);
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = errno == ENOENT ? "no such key file" :
			   "cannot open the key file";
		free(buf);
		return -1;
	}
	while ((n = read(fd, buf + len, PUBKEY_MAX_PEM + 1 - len)) > 0) {
		len += (size_t)n;
		if (len > PUBKEY_MAX_PEM)
			break;
	}
	close(fd);
	if (n < 0) {
		*error_r = "cannot read the key file";
		ret = -1;
	} else if (len > PUBKEY_MAX_PEM) {
		*error_r = "key file too large";
		ret = -1;
	} else {
		ret = pubkey_private_load_pem(buf, len, key_r, error_r);
	}
	secure_wipe(buf, len);
	free(buf);
	return ret;
}
