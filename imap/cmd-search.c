/* cmd-search.c: SEARCH (with ESEARCH RETURN options and SEARCHRES),
 * SORT and THREAD, and their UID variants, over the selected mailbox. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap-client-private.h"
#include "imap-header-cache.h"
#include "imap-mailbox.h"
#include "imap-quote.h"
#include "imap-search.h"
#include "imap-sort.h"
#include "imap-thread.h"
#include "mem.h"

/* One message of the view, from its index record. */
struct msg_rec {
	uint32_t seq, uid;
	uint8_t flags;
	bool has_vsize;
	uint64_t vsize, modseq;
	int64_t internal_date;
	bool has_date;		/* internal_date is known */
	uint32_t *keywords;
	size_t keyword_count;
};

struct collect_ctx {
	const struct imap_mailbox *mbox;
	struct msg_rec *recs;
	size_t count, size;
	size_t next;	/* the records come in UID order: mbox->uids[next]
			 * is the first view UID not passed yet */
};

/* ---- the saved result (RFC 5182), kept by the selected mailbox ---- */

static void saved_set(struct imap_client *client, uint32_t *uids,
		      size_t count)
{
	if (client->mbox != NULL)
		imap_mailbox_save_result(client->mbox, uids, count);
	else
		free(uids);
}

void imap_search_saved_uids(const struct imap_client *client,
			    const uint32_t **uids_r, size_t *count_r)
{
	if (client->mbox != NULL) {
		*uids_r = client->mbox->saved_uids;
		*count_r = client->mbox->saved_count;
	} else {
		*uids_r = NULL;
		*count_r = 0;
	}
}

static int collect_cb(const struct mail_index_record *rec, void *context)
{
	struct collect_ctx *ctx = context;
	const struct imap_mailbox *mbox = ctx->mbox;
	struct msg_rec *m;
	uint32_t seq;

	/* the sequence number by walking the view along (a binary search a
	 * record was a seventh of a SEARCH) */
	while (ctx->next < mbox->count && mbox->uids[ctx->next] < rec->uid)
		ctx->next++;
	if (ctx->next == mbox->count || mbox->uids[ctx->next] != rec->uid)
		return 0;	/* not in the view (yet) */
	seq = (uint32_t)++ctx->next;
	if (ctx->count == ctx->size) {
		ctx->size = ctx->size == 0 ? 256 : ctx->size * 2;
		ctx->recs = xreallocarray(ctx->recs, ctx->size,
					  sizeof(*ctx->recs));
	}
	m = &ctx->recs[ctx->count++];
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->uid = rec->uid;
	m->flags = rec->flags;
	m->has_vsize = rec->has_vsize;
	m->vsize = rec->vsize;
	m->modseq = rec->modseq;
	m->internal_date = rec->internal_date;
	m->has_date = rec->has_internal_date;
	if (rec->keyword_count > 0) {
		m->keywords = xmemdup(rec->keywords,
				      rec->keyword_count * sizeof(uint32_t));
		m->keyword_count = rec->keyword_count;
	}
	return 0;
}

/* The pass of a program that reads only what a record's fixed part has
 * (flags, keywords, UID, sequence number, MODSEQ, \Recent, $):
 * evaluated as the records go by, read in place
 * (MAIL_INDEX_READ_FLAGS_ONLY), only the matches kept. */
struct light_ctx {
	struct collect_ctx c;
	const struct imap_search_program *prog;
	const struct imap_search_env *env;
};

static int light_cb(const struct mail_index_record *rec, void *context)
{
	struct light_ctx *lc = context;
	struct collect_ctx *ctx = &lc->c;
	const struct imap_mailbox *mbox = ctx->mbox;
	struct msg_rec *m;
	uint32_t seq;

	while (ctx->next < mbox->count && mbox->uids[ctx->next] < rec->uid)
		ctx->next++;
	if (ctx->next == mbox->count || mbox->uids[ctx->next] != rec->uid)
		return 0;	/* not in the view (yet) */
	seq = (uint32_t)++ctx->next;

	struct imap_search_msg sm = {
		.seq = seq,
		.uid = rec->uid,
		.flags = rec->flags,
		.recent = mbox->recent_count > 0 &&
			  imap_mailbox_is_recent(mbox, rec->uid),
		.modseq = rec->modseq,
		.keywords = rec->keywords,
		.keyword_count = rec->keyword_count,
	};
	if (imap_search_eval(lc->prog, lc->env, &sm, NULL) != 1)
		return 0;
	if (ctx->count == ctx->size) {
		ctx->size = ctx->size == 0 ? 256 : ctx->size * 2;
		ctx->recs = xreallocarray(ctx->recs, ctx->size,
					  sizeof(*ctx->recs));
	}
	m = &ctx->recs[ctx->count++];
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->uid = rec->uid;
	m->flags = rec->flags;
	m->has_vsize = rec->has_vsize;
	m->vsize = rec->vsize;
	m->modseq = rec->modseq;
	m->internal_date = rec->internal_date;
	m->has_date = rec->has_internal_date;
	return 0;
}

/* The UIDs a program can match lie in [*first_r, *last_r]: narrowed by
 * the sequence and UID sets ANDed at its top (sets bound already). */
static void program_uid_bounds(const struct imap_search_program *prog,
			       const struct imap_mailbox *mbox,
			       uint32_t *first_r, uint32_t *last_r)
{
	uint32_t first = 1, last = UINT32_MAX;

	for (const struct imap_search_key *k = prog->root->child; k != NULL;
	     k = k->next) {
		const struct imap_seqset *set = &k->set;
		uint32_t lo, hi;

		if ((k->type != IMAP_SEARCH_SEQSET &&
		     k->type != IMAP_SEARCH_UIDSET) ||
		    !set->normalized)
			continue;
		if (set->count == 0) {
			first = 1;
			last = 0;
			break;
		}
		lo = set->ranges[0].lo;
		hi = set->ranges[set->count - 1].hi;
		if (k->type == IMAP_SEARCH_SEQSET) {
			/* sequence numbers of the view to its UIDs */
			if (mbox->count == 0 || lo > mbox->count) {
				first = 1;
				last = 0;
				break;
			}
			if (hi > mbox->count)
				hi = (uint32_t)mbox->count;
			lo = mbox->uids[lo - 1];
			hi = mbox->uids[hi - 1];
		}
		if (lo > first)
			first = lo;
		if (hi < last)
			last = hi;
	}
	*first_r = first;
	*last_r = last;
}

/* True when prog is decided by each record's fixed part alone (no size,
 * date, header or body). */
static bool program_is_light(const struct imap_search_program *prog)
{
	return (prog->need & ~(unsigned)IMAP_SEARCH_NEED_SAVED) == 0;
}

static void recs_free(struct msg_rec *recs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(recs[i].keywords);
	free(recs);
}

/* RFC822.SIZE for the records that do not have it in the index. */
static int fill_vsizes(struct mail_index *index, struct msg_rec *recs,
		       size_t count, const char **error_r)
{
	uint32_t *uids = NULL;
	size_t *idx = NULL, n = 0;

	for (size_t i = 0; i < count; i++) {
		if (recs[i].has_vsize)
			continue;
		uids = xreallocarray(uids, n + 1, sizeof(*uids));
		idx = xreallocarray(idx, n + 1, sizeof(*idx));
		uids[n] = recs[i].uid;
		idx[n++] = i;
	}
	int ret = 0;
	if (n > 0) {
		uint64_t *sizes = xreallocarray(NULL, n, sizeof(*sizes));

		if (mail_index_get_vsizes(index, uids, n, sizes, error_r) < 0)
			ret = -1;
		for (size_t i = 0; ret == 0 && i < n; i++) {
			recs[idx[i]].vsize = sizes[i] == UINT64_MAX ?
						     0 : sizes[i];
			recs[idx[i]].has_vsize = true;
		}
		free(sizes);
	}
	free(uids);
	free(idx);
	return ret;
}

static int keyword_lookup(const char *name, uint32_t *id_r, void *context)
{
	const char *error;

	return mail_index_keyword_lookup(context, name, id_r, &error);
}

struct used_fields_ctx {
	const struct imap_search_program *prog;
	struct imap_search_loader *loader;
	/* the last field name asked about, and the answer */
	char last[256];
	bool last_used;
};

/* Gives the loader only the cached fields a key reads (decoding and
 * folding the others would be wasted). */
static void used_field_cb(const char *name, const char *value,
			  size_t value_len, void *context)
{
	struct used_fields_ctx *uf = context;
	size_t len = strlen(name);

	if (len >= sizeof(uf->last))
		return;
	if (strcmp(uf->last, name) != 0) {
		memcpy(uf->last, name, len + 1);
		uf->last_used = imap_search_program_uses_field(uf->prog, name);
	}
	if (uf->last_used)
		imap_search_loader_field(name, value, value_len, uf->loader);
}

static void search_env_init(struct imap_client *client,
			    struct imap_search_program *prog,
			    struct imap_search_env *env)
{
	const struct imap_mailbox *mbox = client->mbox;

	memset(env, 0, sizeof(*env));
	env->msg_count = (uint32_t)mbox->count;
	env->max_uid = mbox->count > 0 ? mbox->uids[mbox->count - 1] : 0;
	env->now = (int64_t)time(NULL);
	imap_search_saved_uids(client, &env->saved, &env->saved_count);
	imap_search_bind_sets(prog, env->msg_count, env->max_uid);
	/* a MODSEQ search key enables CONDSTORE (RFC 7162 3.1) */
	if (prog->has_modseq)
		client->condstore = true;
}

/* run_search() of a light program (program_is_light()): one pass that
 * reads the records in place, over the UIDs the program's top-level
 * sets allow. */
static int run_light(struct imap_client *client,
		     struct imap_search_program *prog, bool need_size,
		     struct msg_rec **recs_r, size_t *count_r,
		     const char **error_r)
{
	struct imap_mailbox *mbox = client->mbox;
	struct imap_search_env env;
	struct light_ctx lc = {
		.c = { .mbox = mbox },
		.prog = prog,
		.env = &env,
	};
	uint32_t first, last;

	search_env_init(client, prog, &env);
	program_uid_bounds(prog, mbox, &first, &last);
	/* the view's first UID at or above first */
	size_t lo = 0, hi = mbox->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mbox->uids[mid] < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	lc.c.next = lo;
	if (first <= last && mbox->count > 0 &&
	    mail_index_iterate_flags(mbox->index, first, last,
				     MAIL_INDEX_READ_FLAGS_ONLY, light_cb,
				     &lc, error_r) < 0) {
		free(lc.c.recs);
		return -1;
	}
	if (need_size && fill_vsizes(mbox->index, lc.c.recs, lc.c.count,
				     error_r) < 0) {
		free(lc.c.recs);
		return -1;
	}
	*recs_r = lc.c.recs;
	*count_r = lc.c.count;
	return 0;
}

/* True when a KEYWORD or UNKEYWORD key is in the tree of key. */
static bool keys_have_keyword(const struct imap_search_key *key,
			      unsigned int depth)
{
	for (; key != NULL; key = key->next) {
		if (key->type == IMAP_SEARCH_KEYWORD)
			return true;
		/* the parser bounds the depth; this guards the recursion */
		if (key->child != NULL &&
		    (depth >= 1000 || keys_have_keyword(key->child, depth + 1)))
			return true;
	}
	return false;
}

/* A program that is an AND of system flag tests (UNSEEN, DELETED
 * UNANSWERED, ALL...) as two masks: the flags that must be set and
 * those that must be clear.  Returns false for any other program. */
static bool flag_masks(const struct imap_search_key *key, uint8_t *set,
		       uint8_t *clear, unsigned int depth)
{
	for (; key != NULL; key = key->next) {
		switch (key->type) {
		case IMAP_SEARCH_ALL:
			break;
		case IMAP_SEARCH_FLAG:
			*set |= key->flag;
			break;
		case IMAP_SEARCH_NOT:
			if (key->child->type != IMAP_SEARCH_FLAG)
				return false;
			*clear |= key->child->flag;
			break;
		case IMAP_SEARCH_AND:
			if (depth >= 1000 ||
			    !flag_masks(key->child, set, clear, depth + 1))
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

static struct msg_rec *table_match(struct collect_ctx *ctx, uint32_t seq,
				   uint32_t uid, uint8_t flags)
{
	struct msg_rec *m;

	if (ctx->count == ctx->size) {
		ctx->size = ctx->size == 0 ? 256 : ctx->size * 2;
		ctx->recs = xreallocarray(ctx->recs, ctx->size,
					  sizeof(*ctx->recs));
	}
	m = &ctx->recs[ctx->count++];
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->uid = uid;
	m->flags = flags;
	return m;
}

/* run_search() of a light program without MODSEQ, size or date from
 * the index's flags table (mail_index_get_flags_table(): kept up to
 * date from the changes since the last SEARCH, no pass over the
 * records).  Returns 1 when done, 0 when the table cannot answer (a
 * keyword id it does not keep), -1 on error. */
static int run_table(struct imap_client *client,
		     struct imap_search_program *prog,
		     struct msg_rec **recs_r, size_t *count_r,
		     const char **error_r)
{
	struct imap_mailbox *mbox = client->mbox;
	struct mail_index_flags_table t;
	struct imap_search_env env;
	struct collect_ctx ctx = { .mbox = mbox };
	uint32_t first, last, kw_ids[64];
	uint8_t set = 0, clear = 0;

	if (mail_index_get_flags_table(mbox->index, &t, error_r) < 0)
		return -1;
	if (!t.keywords_complete && keys_have_keyword(prog->root, 0))
		return 0;
	search_env_init(client, prog, &env);
	program_uid_bounds(prog, mbox, &first, &last);
	bool masks = flag_masks(prog->root, &set, &clear, 0);
	size_t i = 0, j = 0;
	/* the view's first UID at or above first */
	size_t lo = 0, hi = mbox->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mbox->uids[mid] < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	i = lo;
	if (masks && (set & clear) != 0)
		i = mbox->count;	/* "SEEN UNSEEN": nothing */
	for (; i < mbox->count && j < t.count; i++) {
		uint32_t uid = mbox->uids[i];

		if (uid > last)
			break;
		while (j < t.count && t.uids[j] < uid)
			j++;
		if (j == t.count || t.uids[j] != uid)
			continue;	/* expunged: not in the index */
		uint8_t f = t.flags[j];
		if (masks) {
			if ((f & set) == set && (f & clear) == 0)
				table_match(&ctx, (uint32_t)(i + 1), uid, f);
			continue;
		}
		uint64_t kw = t.keywords != NULL ? t.keywords[j] : 0;
		size_t nkw = 0;
		for (; kw != 0; kw &= kw - 1)
			kw_ids[nkw++] = (uint32_t)__builtin_ctzll(kw);
		struct imap_search_msg m = {
			.seq = (uint32_t)(i + 1),
			.uid = uid,
			.flags = f,
			.recent = mbox->recent_count > 0 &&
				  imap_mailbox_is_recent(mbox, uid),
			.keywords = kw_ids,
			.keyword_count = nkw,
		};
		if (imap_search_eval(prog, &env, &m, NULL) == 1)
			table_match(&ctx, m.seq, uid, f);
	}
	*recs_r = ctx.recs;
	*count_r = ctx.count;
	return 1;
}

/* Runs prog over the view: *recs_r gets the matching messages in
 * sequence order (caller frees with recs_free()); their RFC822.SIZE is
 * known when need_size or prog needs it, their internal date when
 * need_date or prog needs it (else only when the index has it: reading
 * the others would stat() each file after a cold SELECT).  Returns 0 or
 * -1. */
static int run_search(struct imap_client *client,
		      struct imap_search_program *prog, bool need_size,
		      bool need_date, struct msg_rec **recs_r,
		      size_t *count_r, const char **error_r)
{
	struct imap_mailbox *mbox = client->mbox;
	struct collect_ctx ctx = { .mbox = mbox };
	size_t matched = 0;

	*recs_r = NULL;
	*count_r = 0;
	imap_search_bind_keywords(prog, keyword_lookup, mbox->index);
	if (program_is_light(prog) && !need_date && !need_size &&
	    !prog->has_modseq) {
		int ret = run_table(client, prog, recs_r, count_r, error_r);

		if (ret != 0)
			return ret < 0 ? -1 : 0;
	}
	if (program_is_light(prog) && !need_date)
		return run_light(client, prog, need_size, recs_r, count_r,
				 error_r);
	unsigned read_flags = need_date ||
				      (prog->need & IMAP_SEARCH_NEED_DATE) != 0 ?
				      0 : MAIL_INDEX_READ_NO_DATE;
	if (mail_index_iterate_flags(mbox->index, 1, UINT32_MAX, read_flags,
				     collect_cb, &ctx, error_r) < 0 ||
	    ((need_size || (prog->need & IMAP_SEARCH_NEED_SIZE) != 0) &&
	     fill_vsizes(mbox->index, ctx.recs, ctx.count, error_r) < 0)) {
		recs_free(ctx.recs, ctx.count);
		return -1;
	}
	struct imap_search_env env;
	search_env_init(client, prog, &env);
	bool from_cache = imap_search_program_fields_within(
		prog, imap_header_cache_wanted);
	for (size_t i = 0; i < ctx.count; i++) {
		struct msg_rec *r = &ctx.recs[i];
		struct imap_search_msg m = {
			.seq = r->seq,
			.uid = r->uid,
			.flags = r->flags,
			.recent = imap_mailbox_is_recent(mbox, r->uid),
			.size = r->vsize,
			.modseq = r->modseq,
			.internal_date = r->internal_date,
			.keywords = r->keywords,
			.keyword_count = r->keyword_count,
		};
		int ret = imap_search_eval(prog, &env, &m, NULL);

		if (ret == IMAP_SEARCH_NEED_CONTENT && from_cache) {
			/* header keys only: the index cache's fields */
			struct used_fields_ctx uf = {
				.prog = prog,
				.loader = imap_search_loader_new(prog),
			};
			struct imap_search_content *content;

			ret = imap_mailbox_header_fields(
				mbox, r->uid, used_field_cb, &uf, error_r);
			content = imap_search_loader_finish(&uf.loader);
			if (ret < 0) {
				imap_search_content_free(&content);
				recs_free(ctx.recs, ctx.count);
				return -1;
			}
			if (ret == 1)
				ret = imap_search_eval(prog, &env, &m,
						       content);
			else if (ret == 2)
				ret = IMAP_SEARCH_NEED_CONTENT;
			imap_search_content_free(&content);
		}
		if (ret == IMAP_SEARCH_NEED_CONTENT) {
			struct imap_search_content *content = NULL;
			int fd;

			ret = mail_index_open_message(mbox->index, r->uid, &fd,
						      error_r);
			if (ret < 0) {
				recs_free(ctx.recs, ctx.count);
				return -1;
			}
			if (ret > 0) {
				ret = imap_search_content_load(prog, fd,
							       &content,
							       error_r);
				close(fd);
				if (ret < 0) {
					recs_free(ctx.recs, ctx.count);
					return -1;
				}
				ret = imap_search_eval(prog, &env, &m,
						       content);
				imap_search_content_free(&content);
			}
		}
		if (ret == 1) {
			struct msg_rec t = ctx.recs[matched];

			ctx.recs[matched++] = *r;
			*r = t;
		}
	}
	for (size_t i = matched; i < ctx.count; i++)
		x_free(ctx.recs[i].keywords);
	*recs_r = ctx.recs;
	*count_r = matched;
	return 0;
}

/* Parses the program and answers BAD or NO [BADCHARSET] itself. */
static struct imap_search_program *
parse_program(struct imap_cmd *cmd, const struct imap_arg *args, size_t count,
	      bool allow_return, const char *charset)
{
	struct imap_search_parse_opts opts = {
		.allow_return = allow_return,
		.charset = charset,
	};
	struct imap_search_program *prog;
	const char *error;

	switch (imap_search_parse(args, count, &opts, &prog, &error)) {
	case IMAP_SEARCH_PARSE_OK:
		return prog;
	case IMAP_SEARCH_PARSE_BADCHARSET:
		imap_cmd_no(cmd, "[BADCHARSET (" IMAP_SEARCH_CHARSETS ")] %s",
			    error);
		return NULL;
	case IMAP_SEARCH_PARSE_BAD:
		break;
	}
	imap_cmd_bad(cmd, "%s", error);
	return NULL;
}

/* Appends " n" for each of nums[0..count) (the SEARCH and SORT
 * responses: tens of thousands of numbers, without a printf each). */
static void append_numbers(struct str *out, const uint32_t *nums,
			   size_t count)
{
	char buf[4096];
	size_t len = 0;

	for (size_t i = 0; i < count; i++) {
		char digits[10];
		size_t n = 0;
		uint32_t v = nums[i];

		do {
			digits[n++] = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
		if (len + n + 1 > sizeof(buf)) {
			str_append_n(out, buf, len);
			len = 0;
		}
		buf[len++] = ' ';
		while (n > 0)
			buf[len++] = digits[--n];
	}
	str_append_n(out, buf, len);
}

/* Appends numbers (ascending) as a sequence set "1:3,5". */
static void append_set(struct str *out, const uint32_t *nums, size_t count)
{
	for (size_t i = 0; i < count;) {
		size_t j = i;

		while (j + 1 < count && nums[j + 1] == nums[j] + 1)
			j++;
		if (i > 0)
			str_append_c(out, ',');
		if (j > i)
			str_printfa(out, "%u:%u", nums[i], nums[j]);
		else
			str_printfa(out, "%u", nums[i]);
		i = j + 1;
	}
}

static uint64_t max_modseq(const struct msg_rec *recs, size_t count)
{
	uint64_t m = 0;

	for (size_t i = 0; i < count; i++)
		if (recs[i].modseq > m)
			m = recs[i].modseq;
	return m;
}

/* True when the command has RETURN (... SAVE ...). */
static bool asks_save(const struct imap_cmd *cmd)
{
	const struct imap_arg *ret;

	if (cmd->count < 2 || !imap_arg_atom_equals(&cmd->args[0], "RETURN") ||
	    cmd->args[1].type != IMAP_ARG_LIST)
		return false;
	ret = &cmd->args[1];
	for (size_t i = 0; i < ret->list_count; i++)
		if (imap_arg_atom_equals(&ret->list[i], "SAVE"))
			return true;
	return false;
}

static void partial_of(const struct imap_search_program *prog,
		       struct imap_partial_range *r_r)
{
	r_r->lo = prog->partial_lo;
	r_r->hi = prog->partial_hi;
	r_r->last = prog->partial_last;
	r_r->reversed = prog->partial_reversed;
}

/* Marks in returned[] the results (nums order) that the RETURN options
 * give back: all of them with ALL or COUNT or without MIN, MAX and
 * PARTIAL; else MIN's, MAX's and PARTIAL's.  This is what SAVE keeps
 * (RFC 5182 section 2.4, RFC 9394 section 3.2) and what MODSEQ
 * describes.  Returns how many are marked. */
static size_t returned_results(const struct imap_search_program *prog,
			       unsigned int opts, size_t count,
			       bool *returned)
{
	size_t n = 0;

	if ((opts & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) !=
		    0 ||
	    (opts & (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX |
		     IMAP_SEARCH_RETURN_PARTIAL)) == 0) {
		for (size_t i = 0; i < count; i++)
			returned[i] = true;
		return count;
	}
	for (size_t i = 0; i < count; i++)
		returned[i] = false;
	if (count == 0)
		return 0;
	if ((opts & IMAP_SEARCH_RETURN_MIN) != 0)
		returned[0] = true;
	if ((opts & IMAP_SEARCH_RETURN_MAX) != 0)
		returned[count - 1] = true;
	if ((opts & IMAP_SEARCH_RETURN_PARTIAL) != 0) {
		struct imap_partial_range r;
		size_t first, k;

		partial_of(prog, &r);
		imap_partial_range_select(&r, count, &first, &k);
		for (size_t i = 0; i < k; i++)
			returned[first + i] = true;
	}
	for (size_t i = 0; i < count; i++)
		n += returned[i] ? 1 : 0;
	return n;
}

struct imap_search_context;
static bool context_tag_used(struct imap_cmd *cmd);
static void context_add(struct imap_cmd *cmd,
			struct imap_search_program **prog,
			const struct imap_sort_criterion *crit, int ncrit,
			uint32_t *uids, size_t count);

/* The ESEARCH response of SEARCH (nums ascending) or of SORT with RETURN
 * (ESORT, RFC 5267: nums in the sort order; MIN and MAX are the first and
 * the last of that order, ALL and PARTIAL keep it, runs of consecutive
 * ascending numbers as ranges). */
static void esearch_append(struct str *s, const struct imap_cmd *cmd,
			   const struct imap_search_program *prog,
			   unsigned int opts, const uint32_t *nums,
			   size_t count, uint64_t modseq)
{
	str_append(s, "* ESEARCH (TAG ");
	imap_quote_cstr(s, cmd->tag, false);
	str_append_c(s, ')');
	if (cmd->uid)
		str_append(s, " UID");
	if ((opts & IMAP_SEARCH_RETURN_MIN) != 0 && count > 0)
		str_printfa(s, " MIN %u", nums[0]);
	if ((opts & IMAP_SEARCH_RETURN_MAX) != 0 && count > 0)
		str_printfa(s, " MAX %u", nums[count - 1]);
	if ((opts & IMAP_SEARCH_RETURN_ALL) != 0 && count > 0) {
		str_append(s, " ALL ");
		append_set(s, nums, count);
	}
	if ((opts & IMAP_SEARCH_RETURN_COUNT) != 0)
		str_printfa(s, " COUNT %zu", count);
	if ((opts & IMAP_SEARCH_RETURN_PARTIAL) != 0) {
		/* ret-data-partial = "PARTIAL" SP "(" partial-range SP
		 * partial-results ")", partial-results = sequence-set / "NIL"
		 * (RFC 9394 section 4) */
		struct imap_partial_range r;
		size_t first, n;

		partial_of(prog, &r);
		imap_partial_range_select(&r, count, &first, &n);
		str_append(s, " PARTIAL (");
		imap_partial_range_append(s, &r);
		str_append_c(s, ' ');
		if (n == 0)
			str_append(s, "NIL");
		else
			append_set(s, nums + first, n);
		str_append_c(s, ')');
	}
	/* the highest MODSEQ of what is returned (RFC 7162 3.1.5) */
	if (prog->has_modseq && count > 0 && modseq > 0)
		str_printfa(s, " MODSEQ %llu", (unsigned long long)modseq);
	str_append(s, "\r\n");
}

void cmd_search(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	struct imap_search_program *prog;
	struct msg_rec *recs;
	size_t count;
	const char *error;

	prog = parse_program(cmd, cmd->args, cmd->count, true, NULL);
	if (prog == NULL) {
		/* a failed SEARCH ... SAVE leaves $ empty (RFC 5182 2.1) */
		if (asks_save(cmd))
			saved_set(client, NULL, 0);
		return;
	}
	if ((prog->return_opts & IMAP_SEARCH_RETURN_UPDATE) != 0 &&
	    context_tag_used(cmd)) {
		imap_search_program_free(&prog);
		return;
	}
	if (run_search(client, prog, false, false, &recs, &count, &error) <
	    0) {
		if ((prog->return_opts & IMAP_SEARCH_RETURN_SAVE) != 0)
			saved_set(client, NULL, 0);
		imap_search_program_free(&prog);
		imap_cmd_no(cmd, "[SERVERBUG] SEARCH failed: %s", error);
		return;
	}
	uint32_t *nums = count > 0 ? xreallocarray(NULL, count, sizeof(*nums)) :
				     NULL;
	for (size_t i = 0; i < count; i++)
		nums[i] = cmd->uid ? recs[i].uid : recs[i].seq;
	unsigned int opts = prog->return_opts;
	bool esearch = prog->has_return;
	if (!prog->has_return)
		opts = IMAP_SEARCH_RETURN_ALL;

	bool *returned = xcalloc(count > 0 ? count : 1, sizeof(*returned));
	size_t nret = returned_results(prog, opts, count, returned);
	uint64_t modseq = 0;
	for (size_t i = 0; i < count; i++)
		if (returned[i] && recs[i].modseq > modseq)
			modseq = recs[i].modseq;
	if ((opts & IMAP_SEARCH_RETURN_SAVE) != 0) {
		/* with MIN, MAX or PARTIAL (and not ALL nor COUNT), only
		 * what those return is saved (RFC 5182 section 2.4, RFC 9394
		 * section 3.2) */
		uint32_t *uids = NULL;
		size_t n = 0;

		if (nret > 0)
			uids = xreallocarray(NULL, nret, sizeof(*uids));
		for (size_t i = 0; i < count; i++)
			if (returned[i])
				uids[n++] = recs[i].uid;
		saved_set(client, uids, n);
	}
	free(returned);

	struct str s;
	str_init(&s, 64 + count * 6);
	if (!esearch) {
		str_append(&s, "* SEARCH");
		append_numbers(&s, nums, count);
		if (prog->has_modseq && count > 0)
			str_printfa(&s, " (MODSEQ %llu)",
				    (unsigned long long)max_modseq(recs,
								   count));
		str_append(&s, "\r\n");
	} else if ((opts & ~(unsigned)IMAP_SEARCH_RETURN_SAVE) != 0) {
		esearch_append(&s, cmd, prog, opts, nums, count, modseq);
	}
	(void)imap_client_write(client, str_c(&s), str_len(&s));
	str_free(&s);
	free(nums);
	if ((opts & IMAP_SEARCH_RETURN_UPDATE) != 0) {
		uint32_t *uids = xcalloc(count > 0 ? count : 1, sizeof(*uids));

		for (size_t i = 0; i < count; i++)
			uids[i] = recs[i].uid;
		context_add(cmd, &prog, NULL, 0, uids, count);
	}
	recs_free(recs, count);
	imap_search_program_free(&prog);
	imap_cmd_ok(cmd, "%sSEARCH completed", cmd->uid ? "UID " : "");
}

/* ---- SORT and THREAD ---- */

static void sort_field_cb(const char *name, const char *value,
			  size_t value_len, void *context)
{
	imap_sort_msg_field(context, name, value, value_len);
}

/* The internal date of a record that has none yet (read from its file). */
static int record_date(struct imap_client *client, struct msg_rec *r,
		       const char **error_r)
{
	struct mail_index_record rec;
	int ret;

	if (r->has_date)
		return 0;
	ret = mail_index_lookup_uid(client->mbox->index, r->uid, &rec,
				    error_r);
	if (ret < 0)
		return -1;
	/* expunged meanwhile: sorted as if it arrived at the epoch */
	r->internal_date = ret > 0 ? rec.internal_date : 0;
	r->has_date = true;
	return 0;
}

/* Reads the header fields of m that m->want names, from the index's
 * sort keys, else its cache, else the file (the keys worked out from a
 * header are kept in the index: imap_sort_keys_add()).  Returns 0 or
 * -1. */
static int sort_msg_header(struct imap_client *client,
			   struct imap_sort_keys *keys, struct imap_sort_msg *m,
			   const char **error_r)
{
	int fd, ret;

	if (imap_sort_keys_get(keys, m))
		return 0;
	ret = imap_mailbox_header_fields(client->mbox, m->uid, sort_field_cb,
					 m, error_r);
	if (ret == 1)
		imap_sort_keys_add(keys, m);
	if (ret != 2)
		return ret < 0 ? -1 : 0; /* done: the fields came cached */
	ret = mail_index_open_message(client->mbox->index, m->uid, &fd,
				      error_r);
	if (ret <= 0)
		return ret;
	ret = imap_search_read_header(fd, sort_field_cb, m, error_r);
	close(fd);
	if (ret >= 0)
		imap_sort_keys_add(keys, m);
	return ret < 0 ? -1 : 0;
}

/* Builds the sort data of the matching messages: the keys want names
 * (IMAP_SORT_WANT_*).  The internal date is read for the records that
 * lack it only where it is used: ARRIVAL, or DATE of a message without
 * a valid Date: field. */
static int sort_msgs(struct imap_client *client, struct msg_rec *recs,
		     size_t count, unsigned int want,
		     struct imap_sort_msg **msgs_r, const char **error_r)
{
	struct imap_sort_msg *msgs = xcalloc(count > 0 ? count : 1,
					     sizeof(*msgs));
	struct imap_sort_keys *keys =
		(want & IMAP_SORT_WANT_HEADER) != 0 && count > 0 ?
			imap_sort_keys_begin(client->mbox->index) : NULL;

	for (size_t i = 0; i < count; i++) {
		struct imap_sort_msg *m = &msgs[i];
		int ret = 0;

		m->want = want & IMAP_SORT_WANT_HEADER;
		m->seq = recs[i].seq;
		m->uid = recs[i].uid;
		m->size = recs[i].vsize;
		if (m->want != 0)
			ret = sort_msg_header(client, keys, m, error_r);
		if (ret == 0 && ((want & IMAP_SORT_WANT_ARRIVAL) != 0 ||
				 ((want & IMAP_SORT_WANT_DATE) != 0 &&
				  !m->has_date)))
			ret = record_date(client, &recs[i], error_r);
		if (ret < 0) {
			for (size_t j = 0; j <= i; j++)
				imap_sort_msg_free(&msgs[j]);
			free(msgs);
			imap_sort_keys_end(&keys);
			return -1;
		}
		m->arrival = recs[i].internal_date;
		imap_sort_msg_finish(m);
	}
	imap_sort_keys_end(&keys);
	*msgs_r = msgs;
	return 0;
}

/* The charset argument of SORT and THREAD: an astring. */
static const char *charset_arg(const struct imap_arg *arg)
{
	if (!imap_arg_is_string(arg) || memchr(arg->str, '\0', arg->len))
		return NULL;
	return arg->str;
}

void cmd_sort(struct imap_cmd *cmd)
{
	struct imap_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
	struct imap_search_program *prog;
	struct imap_sort_msg *msgs;
	struct msg_rec *recs;
	size_t count;
	const char *error, *charset;
	int ncrit;

	/* ESORT (RFC 5267): SORT RETURN (options) criteria charset keys */
	const struct imap_arg *args = cmd->args, *ret_list = NULL;
	size_t nargs = cmd->count;
	if (nargs > 0 && imap_arg_atom_equals(&args[0], "RETURN")) {
		if (nargs < 2) {
			imap_cmd_bad(cmd, "RETURN takes a list of options");
			return;
		}
		ret_list = &args[1];
		args += 2;
		nargs -= 2;
	}
	if (nargs < 3) {
		imap_cmd_bad(cmd, "SORT takes criteria, a charset and search "
				  "keys");
		return;
	}
	ncrit = imap_sort_parse_criteria(&args[0], crit, &error);
	if (ncrit < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	charset = charset_arg(&args[1]);
	if (charset == NULL) {
		imap_cmd_bad(cmd, "SORT needs a charset");
		return;
	}
	prog = parse_program(cmd, args + 2, nargs - 2, false, charset);
	if (prog == NULL)
		return;
	if (ret_list != NULL &&
	    imap_search_return_parse(ret_list, prog, &error) < 0) {
		imap_search_program_free(&prog);
		imap_cmd_bad(cmd, "%s", error);
		return;
	}
	if ((prog->return_opts & IMAP_SEARCH_RETURN_UPDATE) != 0 &&
	    context_tag_used(cmd)) {
		imap_search_program_free(&prog);
		return;
	}
	unsigned int want = imap_sort_want(crit, (size_t)ncrit);
	if (run_search(cmd->client, prog, (want & IMAP_SORT_WANT_SIZE) != 0,
		       (want & IMAP_SORT_WANT_ARRIVAL) != 0, &recs, &count,
		       &error) < 0 ||
	    sort_msgs(cmd->client, recs, count, want, &msgs, &error) < 0) {
		if (recs != NULL)
			recs_free(recs, count);
		imap_search_program_free(&prog);
		imap_cmd_no(cmd, "[SERVERBUG] SORT failed: %s", error);
		return;
	}
	struct imap_sort_msg **order = xcalloc(count > 0 ? count : 1,
					       sizeof(*order));
	for (size_t i = 0; i < count; i++)
		order[i] = &msgs[i];
	imap_sort(order, count, crit, (size_t)ncrit);

	struct str s;
	str_init(&s, 64 + count * 6);
	if (prog->has_return) {
		uint32_t *nums = xcalloc(count > 0 ? count : 1,
					 sizeof(*nums));

		for (size_t i = 0; i < count; i++)
			nums[i] = cmd->uid ? order[i]->uid : order[i]->seq;
		if ((prog->return_opts & IMAP_SEARCH_RETURN_SAVE) != 0) {
			/* $ is a set: the UIDs ascending, as SEARCH saves */
			uint32_t *uids = NULL;

			if (count > 0) {
				uids = xreallocarray(NULL, count,
						     sizeof(*uids));
				for (size_t i = 0; i < count; i++)
					uids[i] = recs[i].uid;
			}
			saved_set(cmd->client, uids, count);
		}
		if ((prog->return_opts &
		     ~(unsigned)IMAP_SEARCH_RETURN_SAVE) != 0)
			esearch_append(&s, cmd, prog, prog->return_opts, nums,
				       count, max_modseq(recs, count));
		free(nums);
	} else {
		uint32_t *nums = xcalloc(count > 0 ? count : 1,
					 sizeof(*nums));

		for (size_t i = 0; i < count; i++)
			nums[i] = cmd->uid ? order[i]->uid : order[i]->seq;
		str_append(&s, "* SORT");
		append_numbers(&s, nums, count);
		free(nums);
		if (prog->has_modseq && count > 0)
			str_printfa(&s, " (MODSEQ %llu)",
				    (unsigned long long)max_modseq(recs,
								   count));
		str_append(&s, "\r\n");
	}
	(void)imap_client_write(cmd->client, str_c(&s), str_len(&s));
	str_free(&s);
	for (size_t i = 0; i < count; i++)
		imap_sort_msg_free(&msgs[i]);
	if ((prog->return_opts & IMAP_SEARCH_RETURN_UPDATE) != 0) {
		uint32_t *uids = xcalloc(count > 0 ? count : 1, sizeof(*uids));

		for (size_t i = 0; i < count; i++)
			uids[i] = order[i]->uid;
		context_add(cmd, &prog, crit, ncrit, uids, count);
	}
	free(msgs);
	free(order);
	recs_free(recs, count);
	imap_search_program_free(&prog);
	imap_cmd_ok(cmd, "%sSORT completed", cmd->uid ? "UID " : "");
}

void cmd_thread(struct imap_cmd *cmd)
{
	enum imap_thread_algorithm algo;
	struct imap_search_program *prog;
	struct imap_sort_msg *msgs;
	struct msg_rec *recs;
	size_t count;
	const char *error, *charset;

	if (cmd->count < 3) {
		imap_cmd_bad(cmd, "THREAD takes an algorithm, a charset and "
				  "search keys");
		return;
	}
	if (cmd->args[0].type != IMAP_ARG_ATOM ||
	    imap_thread_algorithm_parse(cmd->args[0].str, &algo) < 0) {
		imap_cmd_bad(cmd, "Unknown THREAD algorithm");
		return;
	}
	charset = charset_arg(&cmd->args[1]);
	if (charset == NULL) {
		imap_cmd_bad(cmd, "THREAD needs a charset");
		return;
	}
	prog = parse_program(cmd, cmd->args + 2, cmd->count - 2, false,
			     charset);
	if (prog == NULL)
		return;
	if (run_search(cmd->client, prog, false, false, &recs, &count,
		       &error) < 0 ||
	    sort_msgs(cmd->client, recs, count, IMAP_SORT_WANT_THREAD, &msgs,
		      &error) < 0) {
		if (recs != NULL)
			recs_free(recs, count);
		imap_search_program_free(&prog);
		imap_cmd_no(cmd, "[SERVERBUG] THREAD failed: %s", error);
		return;
	}
	struct imap_sort_msg **ptrs = xcalloc(count > 0 ? count : 1,
					      sizeof(*ptrs));
	for (size_t i = 0; i < count; i++)
		ptrs[i] = &msgs[i];
	struct str s;
	str_init(&s, 64 + count * 8);
	str_append(&s, count > 0 ? "* THREAD " : "* THREAD");
	imap_thread(ptrs, count, algo, cmd->uid, &s);
	str_append(&s, "\r\n");
	(void)imap_client_write(cmd->client, str_c(&s), str_len(&s));
	str_free(&s);
	for (size_t i = 0; i < count; i++)
		imap_sort_msg_free(&msgs[i]);
	free(msgs);
	free(ptrs);
	recs_free(recs, count);
	imap_search_program_free(&prog);
	imap_cmd_ok(cmd, "%sTHREAD completed", cmd->uid ? "UID " : "");
}

/* ---- live results (CONTEXT=SEARCH, CONTEXT=SORT, RFC 5267 4.3) ---- */

struct imap_search_context {
	char *tag;
	struct imap_search_program *prog;
	struct imap_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
	int ncrit;		/* 0: SEARCH */
	bool uid;		/* UID SEARCH / UID SORT */
	uint32_t *uids;		/* the result (UIDs) in its order */
	size_t count;
};

/* The result of a program now: UIDs ascending (SEARCH, ncrit 0) or in
 * the sort order.  Returns 0 or -1. */
static int context_result(struct imap_client *client,
			  struct imap_search_program *prog,
			  const struct imap_sort_criterion *crit, int ncrit,
			  uint32_t **uids_r, size_t *count_r,
			  const char **error_r)
{
	unsigned int want = imap_sort_want(crit, (size_t)ncrit);
	struct imap_sort_msg *msgs = NULL;
	struct msg_rec *recs;
	size_t count;

	if (run_search(client, prog, (want & IMAP_SORT_WANT_SIZE) != 0,
		       (want & IMAP_SORT_WANT_ARRIVAL) != 0, &recs, &count,
		       error_r) < 0)
		return -1;
	if (ncrit > 0 && sort_msgs(client, recs, count, want, &msgs,
				   error_r) < 0) {
		recs_free(recs, count);
		return -1;
	}
	uint32_t *uids = xcalloc(count > 0 ? count : 1, sizeof(*uids));
	if (ncrit > 0) {
		struct imap_sort_msg **order =
			xcalloc(count > 0 ? count : 1, sizeof(*order));
		for (size_t i = 0; i < count; i++)
			order[i] = &msgs[i];
		imap_sort(order, count, crit, (size_t)ncrit);
		for (size_t i = 0; i < count; i++)
			uids[i] = order[i]->uid;
		for (size_t i = 0; i < count; i++)
			imap_sort_msg_free(&msgs[i]);
		free(order);
		free(msgs);
	} else {
		for (size_t i = 0; i < count; i++)
			uids[i] = recs[i].uid;
	}
	recs_free(recs, count);
	*uids_r = uids;
	*count_r = count;
	return 0;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t *sorted_copy(const uint32_t *v, size_t n)
{
	uint32_t *c = xcalloc(n > 0 ? n : 1, sizeof(*c));

	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), uid_cmp);
	return c;
}

static bool in_sorted(const uint32_t *v, size_t n, uint32_t x)
{
	return n > 0 && bsearch(&x, v, n, sizeof(*v), uid_cmp) != NULL;
}

static void context_header(struct str *out,
			   const struct imap_search_context *ctx)
{
	str_append(out, "* ESEARCH (TAG ");
	imap_quote_cstr(out, ctx->tag, false);
	str_append_c(out, ')');
	if (ctx->uid)
		str_append(out, " UID");
}

/* " REMOVEFROM (0 set)" of uids[0..n) as the client numbers them. */
static void context_removefrom(struct str *out,
			       const struct imap_search_context *ctx,
			       const struct imap_mailbox *mbox,
			       const uint32_t *uids, size_t n)
{
	uint32_t *nums = xcalloc(n > 0 ? n : 1, sizeof(*nums));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t v = ctx->uid ? uids[i] : imap_mailbox_seq(mbox, uids[i]);
		if (v != 0)
			nums[k++] = v;
	}
	if (k > 0) {
		qsort(nums, k, sizeof(*nums), uid_cmp);
		context_header(out, ctx);
		str_append(out, " REMOVEFROM (0 ");
		append_set(out, nums, k);
		str_append(out, ")\r\n");
	}
	free(nums);
}

void imap_search_contexts_expunged(struct imap_client *client,
				   const uint32_t *uids, size_t count,
				   struct str *out)
{
	struct imap_mailbox *mbox = client->mbox;

	if (mbox == NULL || mbox->context_count == 0 || count == 0)
		return;
	uint32_t *gone = sorted_copy(uids, count);
	for (size_t c = 0; c < mbox->context_count; c++) {
		struct imap_search_context *ctx = mbox->contexts[c];
		uint32_t *removed = xcalloc(ctx->count > 0 ? ctx->count : 1,
					    sizeof(*removed));
		size_t nr = 0, keep = 0;

		for (size_t i = 0; i < ctx->count; i++) {
			if (in_sorted(gone, count, ctx->uids[i]))
				removed[nr++] = ctx->uids[i];
			else
				ctx->uids[keep++] = ctx->uids[i];
		}
		ctx->count = keep;
		context_removefrom(out, ctx, mbox, removed, nr);
		free(removed);
	}
	free(gone);
}

void imap_search_contexts_refresh(struct imap_client *client,
				  struct str *out)
{
	struct imap_mailbox *mbox = client->mbox;
	const char *error;

	for (size_t c = 0; mbox != NULL && c < mbox->context_count; c++) {
		struct imap_search_context *ctx = mbox->contexts[c];
		uint32_t *now;
		size_t n;

		if (context_result(client, ctx->prog, ctx->crit, ctx->ncrit,
				   &now, &n, &error) < 0)
			continue;	/* kept as it was; tried again later */
		uint32_t *was = sorted_copy(ctx->uids, ctx->count);
		uint32_t *is = sorted_copy(now, n);
		uint32_t *removed = xcalloc(ctx->count > 0 ? ctx->count : 1,
					    sizeof(*removed));
		size_t nr = 0;

		for (size_t i = 0; i < ctx->count; i++)
			if (!in_sorted(is, n, ctx->uids[i]))
				removed[nr++] = ctx->uids[i];
		context_removefrom(out, ctx, mbox, removed, nr);
		/* ADDTO: SEARCH (0 set); SORT "pos n" at the final positions,
		 * ascending, so inserting them in turn gives the new order */
		bool any = false;
		if (ctx->ncrit == 0) {
			uint32_t *nums = xcalloc(n > 0 ? n : 1, sizeof(*nums));
			size_t k = 0;

			for (size_t i = 0; i < n; i++) {
				if (in_sorted(was, ctx->count, now[i]))
					continue;
				uint32_t v = ctx->uid ? now[i] :
					     imap_mailbox_seq(mbox, now[i]);
				if (v != 0)
					nums[k++] = v;
			}
			if (k > 0) {
				qsort(nums, k, sizeof(*nums), uid_cmp);
				context_header(out, ctx);
				str_append(out, " ADDTO (0 ");
				append_set(out, nums, k);
				str_append(out, ")\r\n");
			}
			free(nums);
		} else {
			for (size_t i = 0; i < n; i++) {
				if (in_sorted(was, ctx->count, now[i]))
					continue;
				uint32_t v = ctx->uid ? now[i] :
					     imap_mailbox_seq(mbox, now[i]);
				if (v == 0)
					continue;
				if (!any) {
					context_header(out, ctx);
					str_append(out, " ADDTO (");
				} else {
					str_append_c(out, ' ');
				}
				str_printfa(out, "%zu %u", i + 1, v);
				any = true;
			}
			if (any)
				str_append(out, ")\r\n");
		}
		free(removed);
		free(was);
		free(is);
		free(ctx->uids);
		ctx->uids = now;
		ctx->count = n;
	}
}

static void context_free(struct imap_search_context **ctx)
{
	free((*ctx)->tag);
	imap_search_program_free(&(*ctx)->prog);
	free((*ctx)->uids);
	x_free(*ctx);
}

void imap_search_contexts_free(struct imap_mailbox *mbox)
{
	/* and the flags table of SEARCH (run_table()) */
	if (mbox->index != NULL)
		mail_index_drop_flags_table(mbox->index);
	for (size_t i = 0; i < mbox->context_count; i++)
		context_free(&mbox->contexts[i]);
	x_free(mbox->contexts);
	mbox->context_count = 0;
}

/* True (after answering BAD) when tag already names a live context. */
static bool context_tag_used(struct imap_cmd *cmd)
{
	const struct imap_mailbox *mbox = cmd->client->mbox;

	for (size_t i = 0; mbox != NULL && i < mbox->context_count; i++) {
		if (strcmp(mbox->contexts[i]->tag, cmd->tag) == 0) {
			imap_cmd_bad(cmd, "Tag reuse: %s still has updates",
				     cmd->tag);
			return true;
		}
	}
	return false;
}

/* Keeps a SEARCH or SORT with UPDATE as a context: takes *prog and
 * uids (its result, in its order), or answers NO [NOUPDATE] untagged
 * when there are too many. */
static void context_add(struct imap_cmd *cmd,
			struct imap_search_program **prog,
			const struct imap_sort_criterion *crit, int ncrit,
			uint32_t *uids, size_t count)
{
	struct imap_mailbox *mbox = cmd->client->mbox;

	if (mbox->context_count >= IMAP_SEARCH_MAX_CONTEXTS) {
		struct str s;

		str_init(&s, 64);
		str_append(&s, "* NO [NOUPDATE ");
		imap_quote_cstr(&s, cmd->tag, false);
		str_append(&s, "] Too many searches with updates\r\n");
		(void)imap_client_write(cmd->client, str_c(&s), str_len(&s));
		str_free(&s);
		free(uids);
		return;
	}
	struct imap_search_context *ctx = xcalloc(1, sizeof(*ctx));
	ctx->tag = xstrdup(cmd->tag);
	ctx->prog = *prog;
	*prog = NULL;
	if (ncrit > 0)
		memcpy(ctx->crit, crit, (size_t)ncrit * sizeof(*crit));
	ctx->ncrit = ncrit;
	ctx->uid = cmd->uid;
	ctx->uids = uids;
	ctx->count = count;
	mbox->contexts = xreallocarray(mbox->contexts, mbox->context_count + 1,
				       sizeof(*mbox->contexts));
	mbox->contexts[mbox->context_count++] = ctx;
}

/* command-select =/ "CANCELUPDATE" 1*(SP quoted) (RFC 5267 section 5):
 * the tags are quoted strings only, all checked before any is
 * cancelled; a tag without updates is not an error. */
void cmd_cancelupdate(struct imap_cmd *cmd)
{
	struct imap_mailbox *mbox = cmd->client->mbox;

	if (cmd->count == 0) {
		imap_cmd_bad(cmd, "CANCELUPDATE takes one or more tags");
		return;
	}
	for (size_t a = 0; a < cmd->count; a++) {
		if (cmd->args[a].type != IMAP_ARG_STRING) {
			imap_cmd_bad(cmd, "CANCELUPDATE takes quoted tags "
					  "(RFC 5267: 1*(SP quoted))");
			return;
		}
	}
	for (size_t a = 0; a < cmd->count; a++) {
		for (size_t i = 0; i < mbox->context_count; i++) {
			if (strcmp(mbox->contexts[i]->tag,
				   cmd->args[a].str) != 0)
				continue;
			context_free(&mbox->contexts[i]);
			mbox->contexts[i] =
				mbox->contexts[--mbox->context_count];
			break;
		}
	}
	imap_cmd_ok(cmd, "No further updates");
}
