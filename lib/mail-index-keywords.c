/* mail-index-keywords.c: the mail index's keyword names and ids. */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "log.h"
#include "maildir.h"
#include "maildir-keywords.h"
#include "mail-index-private.h"
#include "mem.h"

/* ---- keywords ---- */

int mail_index_kw_id(struct mail_index *index, MDB_txn *txn,
		     struct mail_index_hdr *hdr, const char *name,
		     bool create, uint32_t *id_r, const char **error_r)
{
	size_t len = strlen(name);
	uint8_t *k, ik[5];
	MDB_val key, val;
	uint32_t id;
	int rc;

	if (!maildir_keywords_name_valid(name)) {
		if (!create)
			return 0;
		mail_index_set_error(error_r, "invalid keyword name");
		errno = EINVAL;
		return -1;
	}
	k = xmalloc(len + 1);
	k[0] = 'n';
	memcpy(k + 1, name, len);
	for (size_t i = 1; i <= len; i++)
		k[i] = (uint8_t)tolower(k[i]);
	key.mv_size = len + 1;
	key.mv_data = k;
	rc = mdb_get(txn, index->env->db_kw, &key, &val);
	if (rc == 0 && val.mv_size == 4) {
		memcpy(id_r, val.mv_data, 4);
		free(k);
		return 1;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(k);
		mail_index_set_mdb_error(error_r, "read keyword", rc);
		return -1;
	}
	if (!create) {
		free(k);
		return 0;
	}
	if (hdr->keyword_count >= index->set.max_keywords) {
		free(k);
		mail_index_set_error(error_r, "too many keywords in folder");
		errno = EMLINK;
		return -1;
	}
	id = hdr->keyword_count;
	val.mv_size = 4;
	val.mv_data = &id;
	rc = mdb_put(txn, index->env->db_kw, &key, &val, 0);
	free(k);
	if (rc == 0) {
		ik[0] = 'i';
		mail_index_be32(ik + 1, id);
		key.mv_size = 5;
		key.mv_data = ik;
		val.mv_size = len;
		val.mv_data = (void *)name;
		rc = mdb_put(txn, index->env->db_kw, &key, &val, 0);
	}
	if (rc != 0) {
		mail_index_set_mdb_error(error_r, "write keyword", rc);
		return -1;
	}
	hdr->keyword_count++;
	*id_r = id;
	return 1;
}

int mail_index_kw_load(struct mail_index *index, MDB_txn *txn,
		       const struct mail_index_hdr *hdr, const char **error_r)
{
	uint8_t ik[5];
	MDB_val key = { 5, ik }, val;
	int rc;

	if (hdr->keyword_count <= index->kw_count)
		return 0;
	index->kw_names = xreallocarray(index->kw_names, hdr->keyword_count,
					sizeof(char *));
	while (index->kw_count < hdr->keyword_count) {
		ik[0] = 'i';
		mail_index_be32(ik + 1, (uint32_t)index->kw_count);
		rc = mdb_get(txn, index->env->db_kw, &key, &val);
		if (rc != 0) {
			mail_index_set_mdb_error(error_r, "read keyword", rc);
			return -1;
		}
		index->kw_names[index->kw_count++] =
			xstrndup(val.mv_data, val.mv_size);
	}
	return 0;
}

size_t mail_index_keyword_count(struct mail_index *index)
{
	struct mail_index_hdr hdr;
	MDB_txn *txn;

	if (mail_index_read_begin(index, &txn, NULL) < 0)
		return index->kw_count;
	if (mail_index_hdr_get(index, txn, &hdr, NULL) == 1)
		(void)mail_index_kw_load(index, txn, &hdr, NULL);
	mail_index_read_end(index, &txn);
	return index->kw_count;
}

const char *mail_index_keyword_name(struct mail_index *index, uint32_t id)
{
	if (id >= index->kw_count)
		(void)mail_index_keyword_count(index);
	return id < index->kw_count ? index->kw_names[id] : NULL;
}

int mail_index_keyword_lookup(struct mail_index *index, const char *name,
			      uint32_t *id_r, const char **error_r)
{
	MDB_txn *txn;
	int ret;

	if (mail_index_read_begin(index, &txn, error_r) < 0)
		return -1;
	ret = mail_index_kw_id(index, txn, NULL, name, false, id_r, error_r);
	mail_index_read_end(index, &txn);
	return ret;
}

bool mail_index_kw_has(const uint32_t *kw, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (kw[i] == id)
			return true;
	}
	return false;
}
