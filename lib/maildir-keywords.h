/* maildir-keywords.h: IMAP keywords as Courier stores them in a maildir.
 *
 * Courier keeps a folder's keywords in <folder>/courierimapkeywords/:
 *
 *   :list       the keyword names, one per line, then an empty line, then
 *               one "<base name>:<i> <j> ..." line per message, where the
 *               numbers index the names (from 0).  Absent when no message
 *               has keywords.
 *   <base>      an update not yet folded in: the message's complete
 *               keyword list, one name per line (empty file = none).
 *   .<N>.<base> an older update from the 5-minute epoch N (time / 300);
 *               the bare <base> counts as epoch now/300 + 1.
 *   .tmp.*      scratch files of writers in progress (ignored).
 *
 * A message's keywords are those of its update with the highest epoch
 * (the bare name winning ties), or else those in :list.  The base name is
 * the message's file name without its ":2,..." info part.
 *
 * Writers here follow Courier's protocol: the update is written in the
 * maildir's tmp/, moved to courierimapkeywords/.tmp.<time>.<unique>, then
 * link()ed to the bare name, which fails if another writer got there
 * first; the other update is then moved to its epoch name and the change
 * is made again on fresh data.  Courier's readers fold the updates into
 * :list; maildir_keywords_compact() does the same.
 *
 * Parsing is bounded by limits fixed at creation and never fails on
 * garbage: unknown lines, bad indexes and overlong names are skipped. */
#ifndef MAILDIR_KEYWORDS_H
#define MAILDIR_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>
#include "str.h"

#define MAILDIR_KEYWORDS_DIR "courierimapkeywords"

struct maildir_keywords_limits {
	size_t max_line;	 /* longest line kept (default 1024) */
	size_t max_names;	 /* distinct keyword names (default 4096) */
	size_t max_per_message;	 /* keywords on one message (default 256) */
	size_t max_messages;	 /* messages with keywords (default 10^6) */
	size_t max_file;	 /* bytes read from one file (default 64 MB) */
};

struct maildir_keywords;

/* A new, empty map; limits NULL = defaults (zero fields = default). */
struct maildir_keywords *
maildir_keywords_new(const struct maildir_keywords_limits *limits);
void maildir_keywords_destroy(struct maildir_keywords **kw);

/* True if name can be stored: 1 to max_line bytes, printable ASCII
 * without space or the IMAP specials ( ) { % * " \ ] (an IMAP atom). */
bool maildir_keywords_name_valid(const char *name);

/* Merges the contents of a :list file (len bytes) into kw: messages it
 * names get the keywords it lists.  Returns the number of lines skipped
 * as garbage or over a limit (0 = clean). */
size_t maildir_keywords_parse_list(struct maildir_keywords *kw,
				   const char *buf, size_t len);
/* Replaces the keywords of message base with the contents of an update
 * file (one name per line, up to the first empty line).  Returns the
 * number of lines skipped. */
size_t maildir_keywords_parse_update(struct maildir_keywords *kw,
				     const char *base, const char *buf,
				     size_t len);

/* The keywords of the message (file name or base name), in the order they
 * were set; NULL with *count_r = 0 when none.  Valid until kw changes. */
const char *const *maildir_keywords_get(const struct maildir_keywords *kw,
					const char *name, size_t *count_r);
/* Number of messages that have at least one keyword. */
size_t maildir_keywords_message_count(const struct maildir_keywords *kw);
/* The base names of those messages, sorted (caller frees the array, not
 * the strings, which live until kw changes). */
const char **maildir_keywords_messages(const struct maildir_keywords *kw,
				       size_t *count_r);

/* In memory: adds (set) or removes keyword name (case-insensitive) for a
 * message.  Returns 1 if something changed, 0 if not, -1 if the name is
 * invalid or a limit is reached. */
int maildir_keywords_set(struct maildir_keywords *kw, const char *name,
			 const char *keyword, bool set);
/* Replaces all keywords of a message (names NULL or count 0 clears). */
int maildir_keywords_replace(struct maildir_keywords *kw, const char *name,
			     const char *const *names, size_t count);

/* Appends kw in :list format to out.  Returns the number of messages
 * written (0 means the :list file should not exist). */
size_t maildir_keywords_export(const struct maildir_keywords *kw,
			       struct str *out);

/* Loads the keywords of the maildir (or folder) dir, :list plus pending
 * updates; a missing courierimapkeywords/ is an empty map.  Read only.
 * Returns 0 and *kw_r, or -1 with *error_r. */
int maildir_keywords_load(const char *dir,
			  const struct maildir_keywords_limits *limits,
			  struct maildir_keywords **kw_r,
			  const char **error_r);

/* On disk: sets or clears one keyword of the message with file or base
 * name name, in Courier's update format.  Returns 1 if the keywords
 * changed, 0 if already so, -1 with *error_r. */
int maildir_keywords_update(const char *dir, const char *name,
			    const char *keyword, bool set,
			    const char **error_r);
/* On disk: replaces all keywords of a message. */
int maildir_keywords_store(const char *dir, const char *name,
			   const char *const *names, size_t count,
			   const char **error_r);

/* Folds pending updates into :list (written via tmp/ and rename) and
 * removes the update files that were folded.  Entries for messages that
 * no longer exist in new/ or cur/ are dropped.  Returns 0 or -1. */
int maildir_keywords_compact(const char *dir, const char **error_r);

#endif
