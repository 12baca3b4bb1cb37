/* auth-record.h: the account record every authlib backend returns, and its
 * wire form (the authdaemon reply of Courier's authlib).
 *
 * One record for every backend (DESIGN.md "Accounts"): a module fills a
 * struct auth_record, authdaemond merges DEFAULTOPTIONS into its options
 * and sends it to the client library as Courier's authdaemond does:
 *
 *	USERNAME=demo          system user name (optional, see below)
 *	UID=1000               numeric uid
 *	GID=1000               numeric gid
 *	HOME=/home/demo        home folder (required)
 *	ADDRESS=demo@ex.test   the account's login address (required)
 *	NAME=Demo User         full name (first GECOS field)
 *	MAILDIR=/home/demo/Maildir   maildir; absent: HOME/Maildir
 *	QUOTA=1000000S,1000C   Maildir++ quota
 *	PASSWD=$6$...          the crypted password
 *	PASSWD2=secret         the clear password (backends that keep one)
 *	OPTIONS=disableimap=1,wbnochangingfrom=1
 *	.
 *
 * Keys appear in that order; absent fields are left out.  Each value is
 * one line: a record whose fields contain CR, LF or NUL cannot be written
 * (auth_record_write() refuses it), so a backend's data can never inject
 * a key.  A failed request is the single line "FAIL"; a temporary failure
 * is a connection closed without a reply.
 *
 * Ownership: every char * field is owned by the record (heap, or NULL) and
 * freed by auth_record_free(); the password fields are wiped first.
 * Setters copy their argument. */
#ifndef AUTH_RECORD_H
#define AUTH_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "str.h"

/* Longest login name authlib accepts anywhere (bytes). */
#define AUTH_MAX_USER_LEN 512
/* Longest password authlib accepts anywhere (bytes). */
#define AUTH_MAX_PASSWORD_LEN 1024
/* Default bound on a serialised record (the client refuses more). */
#define AUTH_RECORD_MAX_SIZE 65536

struct auth_record {
	/* ADDRESS: the account's canonical login name ("demo@example.test",
	 * or a system login "joe").  Required. */
	char *address;
	/* USERNAME: a system user whose uid/gid the account uses, or NULL.
	 * When set and has_uid is false, authdaemond fills uid/gid from
	 * getpwnam() before replying. */
	char *sysusername;
	/* UID/GID: valid when has_uid is true. */
	bool has_uid;
	uid_t uid;
	gid_t gid;
	/* HOME: the home folder.  Required (absolute path). */
	char *home;
	/* MAILDIR: the maildir, or NULL for HOME/Maildir. */
	char *maildir;
	/* QUOTA: Maildir++ quota "NNNS,NNNC" (either part optional), or NULL
	 * for none. */
	char *quota;
	/* PASSWD: the crypted password in any scheme passwd.h verifies
	 * ("$6$...", "{SSHA}...", "{CRYPT}..."), or NULL. */
	char *passwd;
	/* PASSWD2: the clear password, or NULL. */
	char *clearpasswd;
	/* NAME: the full name, or NULL. */
	char *fullname;
	/* OPTIONS: "name=value,name=value" (a bare "name" means "name=1"),
	 * or NULL.  auth_record_merge_options() adds DEFAULTOPTIONS. */
	char *options;
	/* Courier's hmac-md5pw: 64 hex digits of precomputed HMAC-MD5 states
	 * (hash.h) for CRAM-MD5 without a clear password, or NULL.  Used
	 * inside authdaemond only: never written to the wire. */
	char *hmac_md5pw;
};

/* Zeroes a record (all fields NULL, has_uid false). */
void auth_record_init(struct auth_record *rec);
/* Frees every field (wiping passwd, clearpasswd and hmac_md5pw first)
 * and re-initialises the record.  NULL is harmless. */
void auth_record_free(struct auth_record *rec);
/* Deep copy of src into dest (dest is initialised first, not freed). */
void auth_record_copy(struct auth_record *dest, const struct auth_record *src);
/* Replaces *field (one of rec's char * fields) by a copy of value (NULL
 * clears it), wiping the old value. */
void auth_record_set(char **field, const char *value);

/* The maildir to use: rec->maildir, else "HOME/Maildir" (appended to
 * dest). */
void auth_record_maildir(const struct auth_record *rec, struct str *dest);

/* Checks what a reply must have: an address, a home, a uid/gid or a
 * sysusername, no CR/LF/NUL in any field.  Returns 0, or -1 with a static
 * *error_r (which names the field, never its value). */
int auth_record_validate(const struct auth_record *rec, const char **error_r);

/* ---- options ---- */

/* Merges defaults ("k=v,k=v", DEFAULTOPTIONS) into rec->options: every
 * default whose name the account does not set is appended.  defaults NULL
 * or "" changes nothing. */
void auth_record_merge_options(struct auth_record *rec, const char *defaults);
/* Looks name up in an "k=v,k=v" options string: returns 1 and a newly
 * allocated value in *value_r (a bare "k" gives "1"), or 0 when absent
 * (*value_r NULL).  The last occurrence wins.  options NULL is empty. */
int auth_options_get(const char *options, const char *name, char **value_r);
/* The option as a boolean: absent gives def; "", "0", "no", "false",
 * "off" (any case) give false; anything else true. */
bool auth_options_get_bool(const char *options, const char *name, bool def);
/* auth_options_get on rec->options. */
int auth_record_option(
	const struct auth_record *rec, const char *name, char **value_r);
bool auth_record_option_bool(
	const struct auth_record *rec, const char *name, bool def);
/* True when the account may not use service: option "disableSERVICE"
 * (service lowercased: disableimap, disablepop3, disablewebmail,
 * disableesmtp...) is true. */
bool auth_record_service_disabled(
	const struct auth_record *rec, const char *service);

/* ---- wire format ---- */

/* Appends the KEY=value lines and the "." line to dest.  include_passwords
 * false leaves PASSWD and PASSWD2 out.  Returns 0, or -1 with a static
 * *error_r when the record is not valid (auth_record_validate()); dest is
 * then unchanged. */
int auth_record_write(const struct auth_record *rec, bool include_passwords,
	struct str *dest, const char **error_r);

/* Resumable reader of a reply, for the client library: feed it bytes as
 * they come, in pieces of any size. */
enum auth_reply_status {
	AUTH_REPLY_ERROR = -1, /* malformed or over the size limit */
	AUTH_REPLY_MORE = 0,   /* need more input */
	AUTH_REPLY_RECORD = 1, /* a record ended with "." */
	AUTH_REPLY_FAIL = 2,   /* the server said "FAIL" */
};
struct auth_reply_parser;
/* A parser refusing replies over max_size bytes (0: AUTH_RECORD_MAX_SIZE)
 * and lines over AUTH_RECORD_MAX_SIZE. */
struct auth_reply_parser *auth_reply_parser_create(size_t max_size);
void auth_reply_parser_destroy(struct auth_reply_parser **parser);
/* Feeds len bytes.  Returns the status; on RECORD the record is in *rec_r
 * (initialised by the caller, filled by the parser, caller frees).  After
 * RECORD, FAIL or ERROR the parser is finished: further calls return
 * ERROR.  *used_r (if not NULL) is set to the bytes consumed (the rest
 * after the reply's end is left unread).  Unknown keys are ignored (newer
 * servers may send more); a duplicate key keeps its last value; a line
 * without '=' or a bad UID/GID number is an error.  *error_r is static. */
enum auth_reply_status auth_reply_parser_feed(struct auth_reply_parser *p,
	const void *data, size_t len, size_t *used_r, struct auth_record *rec_r,
	const char **error_r);

#endif
