/* imap-search.c: the IMAP search program parser (imap_arg list to a key
 * tree), text folding and the evaluator. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "charset.h"
#include "imap-search.h"
#include "mail-index.h"
#include "mem.h"
#include "rfc822-date.h"

#define DEFAULT_MAX_DEPTH 100
#define DEFAULT_MAX_KEYS 10000
#define NO_NEEDLE SIZE_MAX

/* ---- folding ---- */

uint32_t imap_search_fold_cp(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	/* Latin-1 */
	if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
		return cp + 32;
	/* Latin Extended-A: pairs, upper case first */
	if (cp >= 0x100 && cp <= 0x137)
		return cp == 0x130 ? 'i' : (cp | 1);
	if (cp >= 0x139 && cp <= 0x148)
		return (cp & 1) != 0 ? cp + 1 : cp;
	if (cp >= 0x14a && cp <= 0x177)
		return cp | 1;
	if (cp == 0x178)
		return 0xff;
	if (cp >= 0x179 && cp <= 0x17e)
		return (cp & 1) != 0 ? cp + 1 : cp;
	if (cp == 0x17f)
		return 's';
	/* Greek */
	if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
		return cp + 32;
	if (cp == 0x3c2)
		return 0x3c3;
	if (cp == 0x386)
		return 0x3ac;
	if (cp >= 0x388 && cp <= 0x38a)
		return cp + 37;
	if (cp == 0x38c)
		return 0x3cc;
	if (cp == 0x38e || cp == 0x38f)
		return cp + 63;
	/* Cyrillic */
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 80;
	if (cp >= 0x410 && cp <= 0x42f)
		return cp + 32;
	if (cp >= 0x460 && cp <= 0x4ff && cp != 0x482 &&
	    !(cp >= 0x483 && cp <= 0x489))
		return (cp >= 0x4c1 && cp <= 0x4ce) ?
			       ((cp & 1) != 0 ? cp + 1 : cp) :
			       (cp == 0x4c0 ? 0x4cf : (cp | 1));
	return cp;
}

static void put_utf8(struct str *out, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		str_append_c(out, (char)cp);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		str_append_n(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		str_append_n(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		str_append_n(out, b, 4);
	}
}

/* Decodes one UTF-8 sequence at p (n bytes left): returns its length and
 * *cp_r, or 0 when it is not a valid sequence. */
static size_t get_utf8(const unsigned char *p, size_t n, uint32_t *cp_r)
{
	uint32_t cp;
	size_t len;

	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		cp = p[0] & 0x1f;
		len = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		cp = p[0] & 0x0f;
		len = 3;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		cp = p[0] & 0x07;
		len = 4;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

void imap_search_fold(struct imap_search_fold *st, const void *text,
		      size_t len, struct str *out)
{
	struct imap_search_fold local = { .space = false };
	const unsigned char *p = text;

	if (st == NULL)
		st = &local;
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!st->space)
				str_append_c(out, ' ');
			st->space = true;
			i++;
			continue;
		}
		st->space = false;
		if (c < 0x80) {
			str_append_c(out, (char)(c >= 'A' && c <= 'Z' ?
						 c + 32 : c));
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = get_utf8(p + i, len - i, &cp);
		if (n == 0) {
			str_append_c(out, (char)c);
			i++;
			continue;
		}
		put_utf8(out, imap_search_fold_cp(cp));
		i += n;
	}
}

/* ---- parser ---- */

struct parse_ctx {
	struct imap_search_program *prog;
	const struct imap_search_limits *limits;
	const char *error;
	bool badcharset;
};

static struct imap_search_key *key_new(struct parse_ctx *ctx,
				       enum imap_search_key_type type)
{
	struct imap_search_key *key = xcalloc(1, sizeof(*key));

	key->type = type;
	key->needle = NO_NEEDLE;
	key->keyword_id = UINT32_MAX;
	ctx->prog->key_count++;
	return key;
}

static void key_free(struct imap_search_key *key)
{
	while (key != NULL) {
		struct imap_search_key *next = key->next;

		key_free(key->child);
		free(key->name);
		free(key->value);
		imap_seqset_free(&key->set);
		free(key);
		key = next;
	}
}

static bool parse_number(const struct imap_arg *arg, uint64_t max,
			 uint64_t *n_r)
{
	uint64_t v = 0;

	if (arg->type != IMAP_ARG_ATOM || arg->len == 0)
		return false;
	for (size_t i = 0; i < arg->len; i++) {
		char c = arg->str[i];

		if (c < '0' || c > '9')
			return false;
		if (v > (max - (uint64_t)(c - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(c - '0');
	}
	*n_r = v;
	return true;
}

static int64_t day_floor(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

/* Converts a search string from the program's charset to folded UTF-8. */
static char *convert_string(struct parse_ctx *ctx, const struct imap_arg *arg,
			    size_t *len_r)
{
	struct str utf8, folded;

	str_init(&utf8, arg->len + 16);
	if (charset_is_utf8(ctx->prog->charset))
		(void)charset_utf8_sanitize(&utf8, arg->str, arg->len);
	else
		(void)charset_to_utf8(ctx->prog->charset, arg->str, arg->len,
				      &utf8);
	str_init(&folded, str_len(&utf8) + 16);
	imap_search_fold(NULL, str_c(&utf8), str_len(&utf8), &folded);
	str_free(&utf8);
	/* a leading or trailing space is as good as any whitespace */
	*len_r = str_len(&folded);
	return str_steal(&folded);
}

static struct imap_search_key *parse_key(struct parse_ctx *ctx,
					 const struct imap_arg *args,
					 size_t count, size_t *pos,
					 unsigned int depth);

/* Parses args[*pos..count) into the members of an AND. */
static struct imap_search_key *parse_list(struct parse_ctx *ctx,
					  const struct imap_arg *args,
					  size_t count, size_t *pos,
					  unsigned int depth)
{
	struct imap_search_key *and = key_new(ctx, IMAP_SEARCH_AND);
	struct imap_search_key **tail = &and->child;

	if (*pos >= count) {
		ctx->error = "Missing search keys";
		key_free(and);
		return NULL;
	}
	while (*pos < count) {
		struct imap_search_key *k = parse_key(ctx, args, count, pos,
						      depth);
		if (k == NULL) {
			key_free(and);
			return NULL;
		}
		*tail = k;
		tail = &k->next;
	}
	return and;
}

static const struct {
	const char *name;
	uint8_t flag;
	bool set;
} flag_keys[] = {
	{ "ANSWERED", MAIL_INDEX_ANSWERED, true },
	{ "DELETED", MAIL_INDEX_DELETED, true },
	{ "DRAFT", MAIL_INDEX_DRAFT, true },
	{ "FLAGGED", MAIL_INDEX_FLAGGED, true },
	{ "SEEN", MAIL_INDEX_SEEN, true },
	{ "UNANSWERED", MAIL_INDEX_ANSWERED, false },
	{ "UNDELETED", MAIL_INDEX_DELETED, false },
	{ "UNDRAFT", MAIL_INDEX_DRAFT, false },
	{ "UNFLAGGED", MAIL_INDEX_FLAGGED, false },
	{ "UNSEEN", MAIL_INDEX_SEEN, false },
};

static const struct {
	const char *name;
	enum imap_search_key_type type;
} date_keys[] = {
	{ "BEFORE", IMAP_SEARCH_BEFORE },
	{ "ON", IMAP_SEARCH_ON },
	{ "SINCE", IMAP_SEARCH_SINCE },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE },
	{ "SENTON", IMAP_SEARCH_SENTON },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE },
};

static const char *const header_keys[] = { "BCC", "CC", "FROM", "SUBJECT",
					   "TO" };

static struct imap_search_key *negate(struct parse_ctx *ctx,
				      struct imap_search_key *key)
{
	struct imap_search_key *not = key_new(ctx, IMAP_SEARCH_NOT);

	not->child = key;
	return not;
}

/* True for an atom that is a valid IMAP flag keyword. */
static bool keyword_valid(const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM || arg->len == 0 || arg->len > 255)
		return false;
	for (size_t i = 0; i < arg->len; i++) {
		unsigned char c = (unsigned char)arg->str[i];

		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

static struct imap_search_key *parse_key(struct parse_ctx *ctx,
					 const struct imap_arg *args,
					 size_t count, size_t *pos,
					 unsigned int depth)
{
	const struct imap_arg *arg = &args[*pos];
	struct imap_search_key *key;
	uint64_t n;

	if (depth >= ctx->limits->max_depth) {
		ctx->error = "Search program nested too deeply";
		return NULL;
	}
	if (ctx->prog->key_count >= ctx->limits->max_keys) {
		ctx->error = "Too many search keys";
		return NULL;
	}
	(*pos)++;
	if (arg->type == IMAP_ARG_LIST) {
		size_t sub = 0;

		if (arg->list_count == 0) {
			ctx->error = "Empty search key list";
			return NULL;
		}
		return parse_list(ctx, arg->list, arg->list_count, &sub,
				  depth + 1);
	}
	if (arg->type != IMAP_ARG_ATOM) {
		ctx->error = "Search key must be an atom";
		return NULL;
	}
	const char *name = arg->str;
	/* the arguments a key takes */
#define NEED_ARGS(k)                                                    \
	do {                                                            \
		if (*pos + (k) > count) {                               \
			ctx->error = "Missing search key argument";     \
			return NULL;                                    \
		}                                                       \
	} while (0)

	if ((name[0] >= '0' && name[0] <= '9') || name[0] == '*' ||
	    strcmp(name, "$") == 0) {
		if (strcmp(name, "$") == 0) {
			ctx->prog->need |= IMAP_SEARCH_NEED_SAVED;
			return key_new(ctx, IMAP_SEARCH_SAVED);
		}
		key = key_new(ctx, IMAP_SEARCH_SEQSET);
		if (imap_seqset_parse(name, &key->set, &ctx->error) < 0) {
			key_free(key);
			return NULL;
		}
		return key;
	}
	if (strcasecmp(name, "ALL") == 0)
		return key_new(ctx, IMAP_SEARCH_ALL);
	for (size_t i = 0; i < N_ELEMENTS(flag_keys); i++) {
		if (strcasecmp(name, flag_keys[i].name) != 0)
			continue;
		key = key_new(ctx, IMAP_SEARCH_FLAG);
		key->flag = flag_keys[i].flag;
		return flag_keys[i].set ? key : negate(ctx, key);
	}
	if (strcasecmp(name, "RECENT") == 0)
		return key_new(ctx, IMAP_SEARCH_RECENT);
	if (strcasecmp(name, "OLD") == 0)
		return negate(ctx, key_new(ctx, IMAP_SEARCH_RECENT));
	if (strcasecmp(name, "NEW") == 0) {
		struct imap_search_key *seen;

		key = key_new(ctx, IMAP_SEARCH_AND);
		key->child = key_new(ctx, IMAP_SEARCH_RECENT);
		seen = key_new(ctx, IMAP_SEARCH_FLAG);
		seen->flag = MAIL_INDEX_SEEN;
		key->child->next = negate(ctx, seen);
		return key;
	}
	if (strcasecmp(name, "KEYWORD") == 0 ||
	    strcasecmp(name, "UNKEYWORD") == 0) {
		NEED_ARGS(1);
		if (!keyword_valid(&args[*pos])) {
			ctx->error = "Invalid keyword";
			return NULL;
		}
		key = key_new(ctx, IMAP_SEARCH_KEYWORD);
		key->name = xstrdup(args[*pos].str);
		(*pos)++;
		return name[0] == 'K' || name[0] == 'k' ? key :
							  negate(ctx, key);
	}
	if (strcasecmp(name, "LARGER") == 0 ||
	    strcasecmp(name, "SMALLER") == 0) {
		NEED_ARGS(1);
		if (!parse_number(&args[*pos], UINT32_MAX, &n)) {
			ctx->error = "Invalid size";
			return NULL;
		}
		(*pos)++;
		key = key_new(ctx, name[0] == 'L' || name[0] == 'l' ?
					   IMAP_SEARCH_LARGER :
					   IMAP_SEARCH_SMALLER);
		key->num = n;
		ctx->prog->need |= IMAP_SEARCH_NEED_SIZE;
		return key;
	}
	if (strcasecmp(name, "OLDER") == 0 ||
	    strcasecmp(name, "YOUNGER") == 0) {
		NEED_ARGS(1);
		if (!parse_number(&args[*pos], UINT32_MAX, &n) || n == 0) {
			ctx->error = "Invalid interval";
			return NULL;
		}
		(*pos)++;
		key = key_new(ctx, name[0] == 'O' || name[0] == 'o' ?
					   IMAP_SEARCH_OLDER :
					   IMAP_SEARCH_YOUNGER);
		key->num = n;
		ctx->prog->need |= IMAP_SEARCH_NEED_DATE;
		return key;
	}
	for (size_t i = 0; i < N_ELEMENTS(date_keys); i++) {
		time_t t;

		if (strcasecmp(name, date_keys[i].name) != 0)
			continue;
		NEED_ARGS(1);
		arg = &args[*pos];
		if ((arg->type != IMAP_ARG_ATOM &&
		     arg->type != IMAP_ARG_STRING) ||
		    rfc822_date_imap_search_parse(arg->str, arg->len, &t) < 0) {
			ctx->error = "Invalid date";
			return NULL;
		}
		(*pos)++;
		key = key_new(ctx, date_keys[i].type);
		key->day = day_floor((int64_t)t);
		if (key->type >= IMAP_SEARCH_SENTBEFORE)
			ctx->prog->need |= IMAP_SEARCH_NEED_HEADER;
		else
			ctx->prog->need |= IMAP_SEARCH_NEED_DATE;
		return key;
	}
	for (size_t i = 0; i < N_ELEMENTS(header_keys); i++) {
		if (strcasecmp(name, header_keys[i]) != 0)
			continue;
		NEED_ARGS(1);
		if (!imap_arg_is_string(&args[*pos])) {
			ctx->error = "Search string expected";
			return NULL;
		}
		key = key_new(ctx, IMAP_SEARCH_HEADER);
		key->name = xstrdup(header_keys[i]);
		key->value = convert_string(ctx, &args[*pos],
					    &key->value_len);
		(*pos)++;
		ctx->prog->need |= IMAP_SEARCH_NEED_HEADER;
		return key;
	}
	if (strcasecmp(name, "HEADER") == 0) {
		NEED_ARGS(2);
		if (!imap_arg_is_string(&args[*pos]) ||
		    !imap_arg_is_string(&args[*pos + 1]) ||
		    args[*pos].len == 0 || args[*pos].len > 998 ||
		    memchr(args[*pos].str, '\0', args[*pos].len) != NULL) {
			ctx->error = "HEADER takes a field name and a string";
			return NULL;
		}
		key = key_new(ctx, IMAP_SEARCH_HEADER);
		key->name = xstrdup(args[*pos].str);
		key->value = convert_string(ctx, &args[*pos + 1],
					    &key->value_len);
		*pos += 2;
		ctx->prog->need |= IMAP_SEARCH_NEED_HEADER;
		return key;
	}
	if (strcasecmp(name, "BODY") == 0 || strcasecmp(name, "TEXT") == 0) {
		NEED_ARGS(1);
		if (!imap_arg_is_string(&args[*pos])) {
			ctx->error = "Search string expected";
			return NULL;
		}
		key = key_new(ctx, name[0] == 'B' || name[0] == 'b' ?
					   IMAP_SEARCH_BODY : IMAP_SEARCH_TEXT);
		key->value = convert_string(ctx, &args[*pos],
					    &key->value_len);
		(*pos)++;
		if (key->value_len > 0)
			ctx->prog->need |= IMAP_SEARCH_NEED_BODY;
		return key;
	}
	if (strcasecmp(name, "NOT") == 0) {
		NEED_ARGS(1);
		struct imap_search_key *sub =
			parse_key(ctx, args, count, pos, depth + 1);
		return sub == NULL ? NULL : negate(ctx, sub);
	}
	if (strcasecmp(name, "OR") == 0) {
		NEED_ARGS(2);
		struct imap_search_key *a, *b;

		a = parse_key(ctx, args, count, pos, depth + 1);
		if (a == NULL)
			return NULL;
		if (*pos >= count) {
			key_free(a);
			ctx->error = "OR takes two search keys";
			return NULL;
		}
		b = parse_key(ctx, args, count, pos, depth + 1);
		if (b == NULL) {
			key_free(a);
			return NULL;
		}
		key = key_new(ctx, IMAP_SEARCH_OR);
		key->child = a;
		a->next = b;
		return key;
	}
	if (strcasecmp(name, "UID") == 0) {
		NEED_ARGS(1);
		arg = &args[*pos];
		if (arg->type != IMAP_ARG_ATOM) {
			ctx->error = "UID takes a UID set";
			return NULL;
		}
		(*pos)++;
		if (strcmp(arg->str, "$") == 0) {
			ctx->prog->need |= IMAP_SEARCH_NEED_SAVED;
			return key_new(ctx, IMAP_SEARCH_SAVED);
		}
		key = key_new(ctx, IMAP_SEARCH_UIDSET);
		if (imap_seqset_parse(arg->str, &key->set, &ctx->error) < 0) {
			key_free(key);
			return NULL;
		}
		return key;
	}
	if (strcasecmp(name, "MODSEQ") == 0) {
		/* MODSEQ ["entry-name" entry-type] mod-sequence-valzer */
		NEED_ARGS(1);
		if (!parse_number(&args[*pos], INT64_MAX, &n)) {
			NEED_ARGS(3);
			if (!imap_arg_is_string(&args[*pos]) ||
			    args[*pos + 1].type != IMAP_ARG_ATOM ||
			    (strcasecmp(args[*pos + 1].str, "priv") != 0 &&
			     strcasecmp(args[*pos + 1].str, "shared") != 0 &&
			     strcasecmp(args[*pos + 1].str, "all") != 0)) {
				ctx->error = "Invalid MODSEQ entry";
				return NULL;
			}
			*pos += 2;
			if (!parse_number(&args[*pos], INT64_MAX, &n)) {
				ctx->error = "Invalid mod-sequence";
				return NULL;
			}
		}
		(*pos)++;
		key = key_new(ctx, IMAP_SEARCH_MODSEQ);
		key->num = n;
		ctx->prog->has_modseq = true;
		return key;
	}
	ctx->error = "Unknown search key";
	return NULL;
#undef NEED_ARGS
}

static bool charset_known(const char *name)
{
	const char *error;
	struct charset_translation *t;

	if (charset_is_utf8(name))
		return true;
	t = charset_translation_create(name, &error);
	if (t == NULL)
		return false;
	charset_translation_destroy(&t);
	return true;
}

/* One nz-number (a 32-bit value, no leading 0) at *p; advances *p. */
static int partial_number(const char **p, uint32_t *v_r)
{
	uint32_t v = 0;

	if (**p < '1' || **p > '9')
		return -1;
	for (; **p >= '0' && **p <= '9'; (*p)++) {
		if (v > (UINT32_MAX - (uint32_t)(**p - '0')) / 10)
			return -1;
		v = v * 10 + (uint32_t)(**p - '0');
	}
	*v_r = v;
	return 0;
}

int imap_partial_range_parse(const struct imap_arg *arg,
			     struct imap_partial_range *range_r)
{
	uint32_t a, b;
	const char *p;
	bool last;

	if (arg->type != IMAP_ARG_ATOM)
		return -1;
	p = arg->str;
	last = *p == '-';
	if (last)
		p++;
	if (partial_number(&p, &a) < 0 || *p++ != ':')
		return -1;
	if (last && *p++ != '-')
		return -1;
	if (partial_number(&p, &b) < 0 || *p != '\0')
		return -1;
	range_r->lo = a < b ? a : b;
	range_r->hi = a < b ? b : a;
	range_r->last = last;
	range_r->reversed = a > b;
	return 0;
}

void imap_partial_range_append(struct str *out,
			       const struct imap_partial_range *range)
{
	uint32_t a = range->reversed ? range->hi : range->lo;
	uint32_t b = range->reversed ? range->lo : range->hi;

	if (range->last)
		str_printfa(out, "-%u:-%u", a, b);
	else
		str_printfa(out, "%u:%u", a, b);
}

void imap_partial_range_select(const struct imap_partial_range *range,
			       size_t count, size_t *first_r, size_t *n_r)
{
	size_t lo = range->lo, hi = range->hi;

	*first_r = 0;
	*n_r = 0;
	if (lo > count)
		return;
	if (hi > count)
		hi = count;
	/* positions lo..hi (1-based), from the end when last: -1 is the
	 * last result, index count - 1 */
	*first_r = range->last ? count - hi : lo - 1;
	*n_r = hi - lo + 1;
}

int imap_search_return_parse(const struct imap_arg *arg,
			     struct imap_search_program *prog,
			     const char **error_r)
{
	static const struct {
		const char *name;
		unsigned int opt;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN },
		{ "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "ALL", IMAP_SEARCH_RETURN_ALL },
		{ "COUNT", IMAP_SEARCH_RETURN_COUNT },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE },
		{ "PARTIAL", IMAP_SEARCH_RETURN_PARTIAL },
		{ "UPDATE", IMAP_SEARCH_RETURN_UPDATE },
		{ "CONTEXT", IMAP_SEARCH_RETURN_CONTEXT },
	};

	if (arg->type != IMAP_ARG_LIST) {
		*error_r = "RETURN takes a list of options";
		return -1;
	}
	prog->has_return = true;
	prog->return_opts = 0;
	for (size_t i = 0; i < arg->list_count; i++) {
		const struct imap_arg *o = &arg->list[i];
		size_t j;

		if (o->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid RETURN option";
			return -1;
		}
		for (j = 0; j < N_ELEMENTS(opts); j++) {
			if (strcasecmp(o->str, opts[j].name) == 0)
				break;
		}
		if (j == N_ELEMENTS(opts)) {
			*error_r = "Unknown RETURN option";
			return -1;
		}
		/* RFC 9394 3.1: one PARTIAL, one ALL, or neither */
		if (opts[j].opt == IMAP_SEARCH_RETURN_ALL &&
		    (prog->return_opts & IMAP_SEARCH_RETURN_ALL) != 0) {
			*error_r = "ALL given twice";
			return -1;
		}
		if (opts[j].opt == IMAP_SEARCH_RETURN_PARTIAL) {
			struct imap_partial_range range;

			if ((prog->return_opts &
			     IMAP_SEARCH_RETURN_PARTIAL) != 0 ||
			    i + 1 == arg->list_count ||
			    imap_partial_range_parse(&arg->list[i + 1],
						     &range) < 0) {
				*error_r = "PARTIAL takes one range m:n or "
					   "-m:-n of non-zero numbers";
				return -1;
			}
			prog->partial_lo = range.lo;
			prog->partial_hi = range.hi;
			prog->partial_last = range.last;
			prog->partial_reversed = range.reversed;
			i++;
		}
		prog->return_opts |= opts[j].opt;
	}
	/* RFC 5267 4.4: one of PARTIAL and ALL at most */
	if ((prog->return_opts & IMAP_SEARCH_RETURN_PARTIAL) != 0 &&
	    (prog->return_opts & IMAP_SEARCH_RETURN_ALL) != 0) {
		*error_r = "PARTIAL and ALL cannot be used together";
		return -1;
	}
	/* RETURN () is RETURN (ALL) (RFC 4731 section 3.1) */
	if (arg->list_count == 0)
		prog->return_opts = IMAP_SEARCH_RETURN_ALL;
	return 0;
}

static int parse_return(struct parse_ctx *ctx, const struct imap_arg *arg)
{
	return imap_search_return_parse(arg, ctx->prog, &ctx->error);
}

/* Prepares the KMP tables of the BODY and TEXT keys. */
static void add_needles(struct imap_search_program *prog,
			struct imap_search_key *key)
{
	for (; key != NULL; key = key->next) {
		add_needles(prog, key->child);
		if ((key->type != IMAP_SEARCH_BODY &&
		     key->type != IMAP_SEARCH_TEXT) ||
		    key->value_len == 0)
			continue;
		struct imap_search_needle *nd;

		prog->needles = xreallocarray(prog->needles,
					      prog->needle_count + 1,
					      sizeof(*prog->needles));
		nd = &prog->needles[prog->needle_count];
		nd->text = key->value;
		nd->len = key->value_len;
		nd->text_key = key->type == IMAP_SEARCH_TEXT;
		nd->fail = xreallocarray(NULL, nd->len, sizeof(size_t));
		nd->fail[0] = 0;
		for (size_t i = 1, k = 0; i < nd->len; i++) {
			while (k > 0 && nd->text[i] != nd->text[k])
				k = nd->fail[k - 1];
			if (nd->text[i] == nd->text[k])
				k++;
			nd->fail[i] = k;
		}
		key->needle = prog->needle_count++;
	}
}

enum imap_search_parse_result
imap_search_parse(const struct imap_arg *args, size_t count,
		  const struct imap_search_parse_opts *opts,
		  struct imap_search_program **prog_r, const char **error_r)
{
	struct imap_search_limits limits = opts->limits;
	struct parse_ctx ctx = { .limits = &limits };
	size_t pos = 0;

	if (limits.max_depth == 0)
		limits.max_depth = DEFAULT_MAX_DEPTH;
	if (limits.max_keys == 0)
		limits.max_keys = DEFAULT_MAX_KEYS;
	*prog_r = NULL;
	ctx.prog = xcalloc(1, sizeof(*ctx.prog));
	if (opts->allow_return && pos < count &&
	    imap_arg_atom_equals(&args[pos], "RETURN")) {
		if (pos + 1 >= count || parse_return(&ctx, &args[pos + 1]) < 0) {
			if (ctx.error == NULL)
				ctx.error = "RETURN takes a list of options";
			goto bad;
		}
		pos += 2;
	}
	if (opts->charset != NULL) {
		ctx.prog->charset = xstrdup(opts->charset);
	} else if (pos < count && imap_arg_atom_equals(&args[pos], "CHARSET")) {
		if (pos + 1 >= count || !imap_arg_is_string(&args[pos + 1]) ||
		    memchr(args[pos + 1].str, '\0', args[pos + 1].len) !=
			    NULL) {
			ctx.error = "CHARSET takes a charset name";
			goto bad;
		}
		ctx.prog->charset = xstrdup(args[pos + 1].str);
		pos += 2;
	} else {
		ctx.prog->charset = xstrdup("UTF-8");
	}
	if (!charset_known(ctx.prog->charset)) {
		imap_search_program_free(&ctx.prog);
		*error_r = "Unknown charset";
		return IMAP_SEARCH_PARSE_BADCHARSET;
	}
	ctx.prog->root = parse_list(&ctx, args, count, &pos, 0);
	if (ctx.prog->root == NULL)
		goto bad;
	add_needles(ctx.prog, ctx.prog->root);
	*prog_r = ctx.prog;
	return IMAP_SEARCH_PARSE_OK;
bad:
	imap_search_program_free(&ctx.prog);
	*error_r = ctx.error != NULL ? ctx.error : "Invalid search program";
	return IMAP_SEARCH_PARSE_BAD;
}

void imap_search_program_free(struct imap_search_program **prog)
{
	if (*prog == NULL)
		return;
	key_free((*prog)->root);
	for (size_t i = 0; i < (*prog)->needle_count; i++)
		free((*prog)->needles[i].fail);
	free((*prog)->needles);
	free((*prog)->charset);
	x_free(*prog);
}

static bool fields_within(const struct imap_search_key *key,
			  bool (*wanted)(const char *name, size_t len),
			  unsigned int depth)
{
	for (; key != NULL; key = key->next) {
		if (key->type == IMAP_SEARCH_HEADER &&
		    !wanted(key->name, strlen(key->name)))
			return false;
		/* the parser bounds the depth; this guards the recursion */
		if (key->child != NULL &&
		    (depth >= 1000 || !fields_within(key->child, wanted,
						      depth + 1)))
			return false;
	}
	return true;
}

static bool uses_field(const struct imap_search_key *key, const char *name,
		       unsigned int depth)
{
	for (; key != NULL; key = key->next) {
		if (key->type == IMAP_SEARCH_HEADER &&
		    strcasecmp(key->name, name) == 0)
			return true;
		if ((key->type == IMAP_SEARCH_SENTBEFORE ||
		     key->type == IMAP_SEARCH_SENTON ||
		     key->type == IMAP_SEARCH_SENTSINCE) &&
		    strcasecmp(name, "Date") == 0)
			return true;
		if (key->child != NULL && depth < 1000 &&
		    uses_field(key->child, name, depth + 1))
			return true;
	}
	return false;
}

bool imap_search_program_uses_field(const struct imap_search_program *prog,
				    const char *name)
{
	return uses_field(prog->root, name, 0);
}

bool imap_search_program_fields_within(
	const struct imap_search_program *prog,
	bool (*wanted)(const char *name, size_t len))
{
	if ((prog->need & IMAP_SEARCH_NEED_BODY) != 0)
		return false;
	return fields_within(prog->root, wanted, 0);
}

static void bind_keys(struct imap_search_key *key,
		      int (*lookup)(const char *, uint32_t *, void *),
		      void *context)
{
	for (; key != NULL; key = key->next) {
		bind_keys(key->child, lookup, context);
		if (key->type != IMAP_SEARCH_KEYWORD)
			continue;
		uint32_t id;
		key->keyword_id = lookup(key->name, &id, context) > 0 ?
					  id : UINT32_MAX;
	}
}

void imap_search_bind_keywords(struct imap_search_program *prog,
			       int (*lookup)(const char *name, uint32_t *id_r,
					     void *context),
			       void *context)
{
	bind_keys(prog->root, lookup, context);
}

/* ---- evaluator ---- */

static int64_t internal_day(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return day_floor(t);
	return day_floor(t + tm.tm_gmtoff);
}

static bool memmem_ok(const char *hay, size_t hay_len, const char *needle,
		      size_t len)
{
	return len == 0 || memmem(hay, hay_len, needle, len) != NULL;
}

static int eval_header(const struct imap_search_key *key,
		       const struct imap_search_content *content)
{
	for (size_t i = 0; i < content->field_count; i++) {
		const struct imap_search_header_field *f = &content->fields[i];

		if (strcasecmp(f->name, key->name) == 0 &&
		    memmem_ok(f->value, f->value_len, key->value,
			      key->value_len))
			return 1;
	}
	return 0;
}

static bool saved_contains(const struct imap_search_env *env, uint32_t uid)
{
	size_t lo = 0, hi = env->saved_count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (env->saved[mid] == uid)
			return true;
		if (env->saved[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int eval_key(const struct imap_search_env *env,
		    const struct imap_search_msg *msg,
		    const struct imap_search_content *content,
		    const struct imap_search_key *key)
{
	const struct imap_search_key *c;
	int r, ret;

	switch (key->type) {
	case IMAP_SEARCH_ALL:
		return 1;
	case IMAP_SEARCH_AND:
		ret = 1;
		for (c = key->child; c != NULL; c = c->next) {
			r = eval_key(env, msg, content, c);
			if (r == 0)
				return 0;
			if (r == IMAP_SEARCH_NEED_CONTENT)
				ret = r;
		}
		return ret;
	case IMAP_SEARCH_OR:
		ret = 0;
		for (c = key->child; c != NULL; c = c->next) {
			r = eval_key(env, msg, content, c);
			if (r == 1)
				return 1;
			if (r == IMAP_SEARCH_NEED_CONTENT)
				ret = r;
		}
		return ret;
	case IMAP_SEARCH_NOT:
		r = eval_key(env, msg, content, key->child);
		return r == IMAP_SEARCH_NEED_CONTENT ? r : !r;
	case IMAP_SEARCH_SEQSET:
		return imap_seqset_contains(&key->set, msg->seq,
					    env->msg_count);
	case IMAP_SEARCH_UIDSET:
		return imap_seqset_contains(&key->set, msg->uid,
					    env->max_uid);
	case IMAP_SEARCH_SAVED:
		return saved_contains(env, msg->uid);
	case IMAP_SEARCH_FLAG:
		return (msg->flags & key->flag) != 0;
	case IMAP_SEARCH_RECENT:
		return msg->recent;
	case IMAP_SEARCH_KEYWORD:
		for (size_t i = 0; i < msg->keyword_count; i++)
			if (msg->keywords[i] == key->keyword_id)
				return 1;
		return 0;
	case IMAP_SEARCH_LARGER:
		return msg->size > key->num;
	case IMAP_SEARCH_SMALLER:
		return msg->size < key->num;
	case IMAP_SEARCH_BEFORE:
		return internal_day(msg->internal_date) < key->day;
	case IMAP_SEARCH_ON:
		return internal_day(msg->internal_date) == key->day;
	case IMAP_SEARCH_SINCE:
		return internal_day(msg->internal_date) >= key->day;
	case IMAP_SEARCH_OLDER:
		return env->now - msg->internal_date >= (int64_t)key->num;
	case IMAP_SEARCH_YOUNGER:
		return env->now - msg->internal_date <= (int64_t)key->num;
	case IMAP_SEARCH_MODSEQ:
		return msg->modseq >= key->num;
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		if (content == NULL)
			return IMAP_SEARCH_NEED_CONTENT;
		if (!content->has_date)
			return 0;
		if (key->type == IMAP_SEARCH_SENTBEFORE)
			return content->sent_day < key->day;
		if (key->type == IMAP_SEARCH_SENTON)
			return content->sent_day == key->day;
		return content->sent_day >= key->day;
	case IMAP_SEARCH_HEADER:
		if (content == NULL)
			return IMAP_SEARCH_NEED_CONTENT;
		return eval_header(key, content);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		if (key->needle == NO_NEEDLE)
			return 1;
		if (content == NULL)
			return IMAP_SEARCH_NEED_CONTENT;
		return content->found != NULL && content->found[key->needle];
	}
	return 0;
}

static void bind_sets(struct imap_search_key *key, uint32_t msg_count,
		      uint32_t max_uid, unsigned int depth)
{
	for (; key != NULL; key = key->next) {
		if (key->type == IMAP_SEARCH_SEQSET)
			imap_seqset_normalize(&key->set, msg_count);
		else if (key->type == IMAP_SEARCH_UIDSET)
			imap_seqset_normalize(&key->set, max_uid);
		/* the parser bounds the depth; this guards the recursion */
		if (key->child != NULL && depth < 1000)
			bind_sets(key->child, msg_count, max_uid, depth + 1);
	}
}

void imap_search_bind_sets(struct imap_search_program *prog,
			   uint32_t msg_count, uint32_t max_uid)
{
	bind_sets(prog->root, msg_count, max_uid, 0);
}

int imap_search_eval(const struct imap_search_program *prog,
		     const struct imap_search_env *env,
		     const struct imap_search_msg *msg,
		     const struct imap_search_content *content)
{
	return eval_key(env, msg, content, prog->root);
}
