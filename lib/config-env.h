/* config-env.h: shell-style NAME=value settings files.
 *
 * Courier's authdaemonrc, esmtpd, imapd, pop3d... are sourced by sh: each
 * setting is NAME=value.  This parser accepts the subset those files use,
 * and refuses (with file:line) anything a shell would run instead:
 *
 *   # comment                     blank lines and comments are skipped
 *   NAME=value                    NAME is [A-Za-z_][A-Za-z0-9_]*, no blanks
 *   export NAME=value             "export " is allowed and ignored
 *   NAME="a $OTHER ${OTHER} \" b" double quotes: $NAME/${NAME} expanded,
 *                                 \ escapes only $ ` " \ and a newline
 *   NAME='literal $text'          single quotes: nothing is special
 *   NAME=a\ b"c"'d'               parts concatenate as in sh
 *   NAME=value   # comment        a comment after blanks
 *   NAME="line1
 *   line2"                        quotes and a trailing \ continue a line
 *
 * $NAME refers to an earlier assignment in the same file (an undefined
 * name expands to nothing, with a warning).  Command substitution
 * (`...`, $(...)), ${NAME:-x} forms, and unquoted ; & | < > ( ) are errors.
 * A malformed line is reported and skipped; parsing goes on with the next
 * line so that every error is shown. */
#ifndef CONFIG_ENV_H
#define CONFIG_ENV_H

#include <stddef.h>

#include "config-errors.h"
#include "config-file.h"

struct config_env_entry {
	char *name;
	char *value;
	const char *file; /* points into the env's file list */
	unsigned int line; /* line where NAME starts */
};

struct config_env {
	struct config_env_entry *entries;
	size_t count, alloc;
	char **files;
	size_t file_count;
	struct config_limits limits;
};

/* An empty set of settings; limits NULL means config_default_limits. */
struct config_env *config_env_new(const struct config_limits *limits);
void config_env_free(struct config_env **env);

/* Parses size bytes of data (need not be NUL-terminated) as coming from
 * file, appending the assignments.  Errors and warnings go to errs (NULL
 * logs them).  Returns the number of errors found in this data. */
unsigned int config_env_parse(struct config_env *env, const char *file,
			      const void *data, size_t size,
			      struct config_errors *errs);

/* Reads a NAME=value control file (config_path() rules; a folder is read as
 * its files concatenated, as for control files).  Returns 1 and *env_r,
 * 0 and *env_r = NULL when missing, -1 and *env_r = NULL when unreadable.
 * Malformed lines do not make it fail: check config_errors_error_count().*/
int config_env_read(const char *name_or_path,
		    const struct config_limits *limits,
		    struct config_env **env_r, struct config_errors *errs);

/* Appends one setting (name and value need not be NUL-terminated) coming
 * from file:line; the file name is copied once per env.  For readers of
 * other settings formats (config-rc.h) that fill the same structure. */
void config_env_add(struct config_env *env, const char *name, size_t name_len,
		    const char *value, size_t value_len, const char *file,
		    unsigned int line);

/* The value of the last assignment to name, or NULL.  NULL env is empty.*/
const char *config_env_get(const struct config_env *env, const char *name);
/* The last assignment to name, with its origin, or NULL. */
const struct config_env_entry *config_env_find(const struct config_env *env,
					       const char *name);

#endif
