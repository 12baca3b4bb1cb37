/* idna.c: IDN conversion (libidn2), domain normalisation and SMTP domain
 * validity checks. */
#include "config.h"
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <idn2.h>
#include "mem.h"
#include "str.h"
#include "idna.h"

bool idna_domain_is_ascii(const char *domain)
{
	for (const unsigned char *p = (const unsigned char *)domain;
	     *p != '\0'; p++) {
		if (*p >= 0x80)
			return false;
	}
	return true;
}

static bool is_literal(const char *domain)
{
	return domain[0] == '[';
}

static bool has_alabel(const char *domain)
{
	const char *p = domain;

	for (;;) {
		if (strncasecmp(p, "xn--", 4) == 0)
			return true;
		p = strchr(p, '.');
		if (p == NULL)
			return false;
		p++;
	}
}

/* Converts through libidn2 and copies the result to our allocator. */
static int idn2_ascii(const char *domain, char **ascii_r,
		      const char **error_r)
{
	char *out = NULL;
	int rc;

	rc = idn2_to_ascii_8z(domain, &out,
			      IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc == IDN2_DISALLOWED) {
		rc = idn2_to_ascii_8z(domain, &out,
				      IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
	}
	if (rc != IDN2_OK) {
		*error_r = idn2_strerror(rc);
		return -1;
	}
	*ascii_r = str_lcase(xstrdup(out));
	idn2_free(out);
	return 0;
}

int idna_domain_to_ascii(const char *domain, char **ascii_r,
			 const char **error_r)
{
	*ascii_r = NULL;
	if (*domain == '\0') {
		*error_r = "empty domain";
		return -1;
	}
	if (is_literal(domain)) {
		*ascii_r = xstrdup(domain);
		return 0;
	}
	if (idna_domain_is_ascii(domain)) {
		*ascii_r = str_lcase(xstrdup(domain));
		return 0;
	}
	return idn2_ascii(domain, ascii_r, error_r);
}

int idna_domain_to_utf8(const char *domain, char **utf8_r,
			const char **error_r)
{
	char *lower, *out = NULL, *back;
	int rc;

	*utf8_r = NULL;
	if (*domain == '\0') {
		*error_r = "empty domain";
		return -1;
	}
	if (is_literal(domain)) {
		*utf8_r = xstrdup(domain);
		return 0;
	}
	if (!idna_domain_is_ascii(domain)) {
		/* U-labels already: normalise them through the A-labels */
		if (idn2_ascii(domain, &lower, error_r) < 0)
			return -1;
	} else {
		lower = str_lcase(xstrdup(domain));
	}
	if (!has_alabel(lower)) {
		*utf8_r = lower;
		return 0;
	}
	rc = idn2_to_unicode_8z8z(lower, &out, 0);
	if (rc != IDN2_OK) {
		*error_r = idn2_strerror(rc);
		free(lower);
		return -1;
	}
	/* the decoded labels must encode back to exactly what we had */
	if (idn2_ascii(out, &back, error_r) < 0) {
		idn2_free(out);
		free(lower);
		return -1;
	}
	rc = strcmp(back, lower);
	free(back);
	free(lower);
	if (rc != 0) {
		idn2_free(out);
		*error_r = "A-label does not round-trip";
		return -1;
	}
	*utf8_r = xstrdup(out);
	idn2_free(out);
	return 0;
}

int idna_domain_normalize(const char *domain, char **norm_r,
			  const char **error_r)
{
	size_t len = strlen(domain);
	char *copy;
	int ret;

	*norm_r = NULL;
	if (len > 1 && domain[len - 1] == '.' && !is_literal(domain))
		len--;
	copy = xstrndup(domain, len);
	if (is_literal(copy) ||
	    (idna_domain_is_ascii(copy) && !has_alabel(copy))) {
		if (*copy == '\0') {
			free(copy);
			*error_r = "empty domain";
			return -1;
		}
		*norm_r = is_literal(copy) ? copy : str_lcase(copy);
		return 0;
	}
	ret = idna_domain_to_utf8(copy, norm_r, error_r);
	free(copy);
	return ret;
}

static int check_literal(const char *domain, const char **error_r)
{
	size_t len = strlen(domain);
	unsigned char addr[16];
	char *inner;
	int ret;

	if (len < 3 || domain[len - 1] != ']') {
		*error_r = "malformed address literal";
		return -1;
	}
	inner = xstrndup(domain + 1, len - 2);
	if (strncasecmp(inner, "IPv6:", 5) == 0)
		ret = inet_pton(AF_INET6, inner + 5, addr) == 1 ? 0 : -1;
	else
		ret = inet_pton(AF_INET, inner, addr) == 1 ? 0 : -1;
	free(inner);
	if (ret < 0)
		*error_r = "invalid address literal";
	return ret;
}

static bool is_let_dig(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9');
}

/* Checks an ASCII domain's syntax and label lengths. */
static int check_ascii(const char *domain, const char **error_r)
{
	size_t len = strlen(domain), label = 0;

	if (len == 0) {
		*error_r = "empty domain";
		return -1;
	}
	if (len > IDNA_DOMAIN_MAX_LEN) {
		*error_r = "domain too long";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = domain[i];

		if (c == '.' || c == '\0') {
			if (label == 0) {
				*error_r = "empty label";
				return -1;
			}
			if (domain[i - 1] == '-') {
				*error_r = "label ends with a hyphen";
				return -1;
			}
			label = 0;
			continue;
		}
		if (c == '-') {
			if (label == 0) {
				*error_r = "label starts with a hyphen";
				return -1;
			}
		} else if (!is_let_dig(c)) {
			*error_r = "invalid character in domain";
			return -1;
		}
		if (++label > IDNA_LABEL_MAX_LEN) {
			*error_r = "label too long";
			return -1;
		}
	}
	return 0;
}

int idna_domain_check(const char *domain, unsigned int flags,
		      const char **error_r)
{
	char *ascii, *utf8;
	int ret;

	if (is_literal(domain)) {
		if ((flags & IDNA_DOMAIN_ALLOW_LITERAL) == 0) {
			*error_r = "address literal not allowed";
			return -1;
		}
		return check_literal(domain, error_r);
	}
	if (idna_domain_is_ascii(domain)) {
		if (check_ascii(domain, error_r) < 0)
			return -1;
		if (!has_alabel(domain))
			return 0;
		/* A-labels must decode and round-trip */
		if (idna_domain_to_utf8(domain, &utf8, error_r) < 0)
			return -1;
		free(utf8);
		return 0;
	}
	if ((flags & IDNA_DOMAIN_ALLOW_UTF8) == 0) {
		*error_r = "non-ASCII domain not allowed";
		return -1;
	}
	if (idn2_ascii(domain, &ascii, error_r) < 0)
		return -1;
	ret = check_ascii(ascii, error_r);
	free(ascii);
	return ret;
}
