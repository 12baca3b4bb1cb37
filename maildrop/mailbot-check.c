/* mailbot-check.c: who mailbot(1) answers: the sender's address, the
 * messages it never answers, -r and the -d once-per-period database. */
#include "config.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mailbot.h"
#include "mdmsg.h"
#include "mem.h"
#include "rfc822-addr.h"
#include "str.h"

/* Parses an address header value; NULL if there is no mailbox in it. */
struct rfc822_addr_list *mailbot_parse_addrs(const char *value)
{
	struct rfc822_addr_parser *p;
	struct rfc822_addr_list *list = NULL;

	if (value == NULL)
		return NULL;
	p = rfc822_addr_parser_create(NULL);
	if (rfc822_addr_parse(p, value, strlen(value), &list, NULL) < 0)
		list = NULL;
	rfc822_addr_parser_destroy(&p);
	if (list != NULL && list->mailbox_count == 0)
		rfc822_addr_list_free(&list);
	return list;
}

/* The first valid mailbox of a list with a domain. */
const struct rfc822_addr *mailbot_first_mailbox(const struct rfc822_addr_list *l)
{
	for (size_t i = 0; l != NULL && i < l->count; i++) {
		const struct rfc822_addr *a = &l->addrs[i];

		if (a->type == RFC822_ADDR_MAILBOX && !a->invalid &&
		    !a->null_addr && a->local != NULL && a->domain != NULL)
			return a;
	}
	return NULL;
}

char *mailbot_addr_spec_lower(const struct rfc822_addr *a)
{
	struct str s;

	str_init(&s, 64);
	(void)rfc822_addr_format_spec(&s, a);
	return str_lcase(str_steal(&s));
}

/* Should this message get no reply at all? */
bool mailbot_declined(const struct md_message *msg)
{
	char *v;
	bool no = false;

	if ((v = md_message_header(msg, "Precedence")) != NULL) {
		const char *p = v + strspn(v, " \t");

		no = strncasecmp(p, "junk", 4) == 0 ||
		     strncasecmp(p, "bulk", 4) == 0 ||
		     strncasecmp(p, "list", 4) == 0;
		free(v);
	}
	if (!no && (v = md_message_header(msg, "List-Id")) != NULL) {
		no = true;
		free(v);
	}
	if (!no && (v = md_message_header(msg, "Auto-Submitted")) != NULL) {
		const char *p = v + strspn(v, " \t");

		no = strncasecmp(p, "no", 2) != 0 ||
		     (p[2] != '\0' && p[2] != ' ' && p[2] != ';');
		free(v);
	}
	if (!no && (v = md_message_header(msg, "Content-Type")) != NULL) {
		const char *p = v + strspn(v, " \t");

		no = strncasecmp(p, "multipart/report", 16) == 0;
		free(v);
	}
	return no;
}

/* -r: does any To/Cc address equal one of the list (case-insensitive)? */
bool mailbot_addressed_to(const struct md_message *msg, const char *list)
{
	static const char *const hdrs[] = { "To", "Cc" };
	char **want = str_split(list, ",");
	bool found = false;

	for (size_t h = 0; h < N_ELEMENTS(hdrs) && !found; h++) {
		char *v = md_message_header(msg, hdrs[h]);
		struct rfc822_addr_list *l = mailbot_parse_addrs(v);

		for (size_t i = 0; l != NULL && i < l->count && !found; i++) {
			char *a;

			if (l->addrs[i].type != RFC822_ADDR_MAILBOX ||
			    l->addrs[i].invalid || l->addrs[i].local == NULL)
				continue;
			a = mailbot_addr_spec_lower(&l->addrs[i]);
			for (size_t w = 0; want[w] != NULL && !found; w++) {
				char *t = want[w];

				while (*t == ' ' || *t == '\t')
					t++;
				size_t tl = strlen(t);
				while (tl > 0 && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
					tl--;
				found = tl == strlen(a) && strncasecmp(t, a, tl) == 0;
			}
			free(a);
		}
		rfc822_addr_list_free(&l);
		free(v);
	}
	str_split_free(&want);
	return found;
}

/* -d: 1 if addr was answered less than days ago; else records now (when
 * record) and returns 0.  -1 on a database error. */
int mailbot_already_answered(const char *db, const char *addr, double days,
			    bool record)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	time_t now = time(NULL), then = 0;
	char buf[32];
	int rc = 0;

	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_mapsize(env, (size_t)64 * 1024 * 1024);
	if (mdb_env_open(env, db, MDB_NOSUBDIR, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0) {
		mdb_env_close(env);
		return -1;
	}
	if (mdb_dbi_open(txn, NULL, 0, &dbi) != 0) {
		mdb_txn_abort(txn);
		mdb_env_close(env);
		return -1;
	}
	k.mv_data = (void *)addr;
	k.mv_size = strlen(addr);
	if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size < sizeof(buf)) {
		memcpy(buf, v.mv_data, v.mv_size);
		buf[v.mv_size] = '\0';
		then = (time_t)strtoll(buf, NULL, 10);
		if (then <= now && (double)(now - then) < days * 86400.0)
			rc = 1;
	}
	if (rc == 0 && record) {
		int n = snprintf(buf, sizeof(buf), "%lld", (long long)now);

		v.mv_data = buf;
		v.mv_size = (size_t)n;
		if (mdb_put(txn, dbi, &k, &v, 0) != 0) {
			mdb_txn_abort(txn);
			mdb_env_close(env);
			return -1;
		}
		rc = mdb_txn_commit(txn) == 0 ? 0 : -1;
	} else {
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

