/* config-rc.h: Courier's "NAME value" settings files (authldaprc,
 * authmysqlrc, authpgsqlrc...).
 *
 * One setting a line: a NAME ([A-Za-z_][A-Za-z0-9_]*), blanks, then the
 * value up to the end of the line, blanks and all; a trailing backslash
 * joins the next line (the backslash and newline become blanks, as Courier
 * reads them); '#' starts a comment line; trailing blanks are dropped.
 * The settings land in a struct config_env (config-env.h), so the typed
 * settings loader (config-settings.h) applies them as it does NAME=value
 * files.  These files hold passwords: the reader wipes its buffers. */
#ifndef CONFIG_RC_H
#define CONFIG_RC_H

#include "config-env.h"
#include "config-errors.h"
#include "config-file.h"

/* Appends the settings in lines to env.  A line that is not "NAME value"
 * is an error reported to errs with its file and line, and parsing goes
 * on.  Returns the number of errors. */
unsigned int config_rc_parse(struct config_env *env,
			     const struct config_lines *lines,
			     struct config_errors *errs);
/* Reads the rc file (or folder, config-file.h's rules) name_or_path.
 * Returns 1 with *env_r (free with config_env_free), 0 when it is missing,
 * -1 when unreadable (errs says why).  Malformed lines are reported to errs
 * and are not a failure.  limits NULL means config_default_limits. */
int config_rc_read(const char *name_or_path,
		   const struct config_limits *limits,
		   struct config_env **env_r, struct config_errors *errs);

#endif
