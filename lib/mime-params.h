/* mime-params.h: Content-Type and Content-Disposition values with their
 * parameters (RFC 2045 section 5.1, RFC 2183, RFC 2231).
 *
 * Parameter names are lowercased.  Values are unquoted, comments are
 * dropped, RFC 2231 continuations (name*0, name*1*...) are joined in order,
 * extended values (name*=charset'language'%XX) are percent-decoded and
 * converted to UTF-8; the charset and language are kept.  When a name
 * appears both plain and in RFC 2231 form, the RFC 2231 form wins.
 * Parsing is lenient (unquoted values with spaces or specials are taken
 * up to the next ';') and bounded: at most max_params parameters and
 * MIME_PARAMS_MAX_SECTIONS continuation sections per name are kept. */
#ifndef MIME_PARAMS_H
#define MIME_PARAMS_H

#include <stddef.h>
#include <stdbool.h>

#define MIME_PARAMS_DEFAULT_MAX 64
#define MIME_PARAMS_MAX_SECTIONS 100

struct mime_param {
	char *name;	/* lowercase */
	char *value;	/* decoded; UTF-8 if charset was given */
	char *charset;	/* RFC 2231 charset as given, or NULL */
	char *language;	/* RFC 2231 language, or NULL */
};

struct mime_params {
	struct mime_param *params;
	size_t count;
};

/* Parses "type/subtype; params" (len bytes, may contain NULs).  *type_r
 * and *subtype_r are lowercased new strings; both are NULL when the value
 * has no valid "type/subtype" (the caller then uses the RFC 2045 default).
 * params_r is filled either way (max_params 0 = default).  Returns 0 when
 * the type was valid, -1 otherwise. */
int mime_params_parse_content_type(const char *value, size_t len,
				   size_t max_params, char **type_r,
				   char **subtype_r,
				   struct mime_params *params_r);
/* The media type of a Content-Type value as Courier's reformime shows it:
 * everything before the first ";" outside quotes and comments, with the
 * comments, the quotes, backslashes, NULs and whitespace outside quotes
 * removed, lowercased ("Text/HTML x" is "text/htmlx", "text" stays
 * "text").  Returns a new string, or NULL when nothing is left. */
char *mime_params_type_text(const char *value, size_t len);
/* Parses "disposition; params"; *disposition_r is a lowercased new string
 * or NULL when the value has no token.  Returns 0, or -1 without token. */
int mime_params_parse_disposition(const char *value, size_t len,
				  size_t max_params, char **disposition_r,
				  struct mime_params *params_r);
/* Parses only "; name=value" parameters from value (no leading token). */
void mime_params_parse(const char *value, size_t len, size_t max_params,
		       struct mime_params *params_r);

/* Value of the parameter called name (lowercase), or NULL. */
const char *mime_params_get(const struct mime_params *params,
			    const char *name);
const struct mime_param *mime_params_find(const struct mime_params *params,
					  const char *name);
/* Frees all parameters; params is left empty. */
void mime_params_free(struct mime_params *params);

/* True for a valid RFC 2045 token character. */
bool mime_params_is_token_char(unsigned char c);

#endif
