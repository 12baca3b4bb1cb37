/* tls-private.h: helpers shared by the two TLS implementations. */
#ifndef TLS_PRIVATE_H
#define TLS_PRIVATE_H

#include "tls.h"

/* Largest certificate, key, CA or DH file read (a CA bundle fits). */
#define TLS_MAX_FILE_SIZE (16 * 1024 * 1024)

/* Formats the module's context-creation error and returns it; the text
 * lives until the next call. */
const char *tls_error_set(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* Canonical name of a version, "TLSv1.2". */
const char *tls_version_name(enum tls_version v);
/* Checks the settings' version range; -1 with *error_r if min > max. */
int tls_settings_check(const struct tls_settings *set, const char **error_r);
/* Frees file data read by tls_read_file(), wiping it first. */
void tls_file_free(char **data, size_t size);

#endif
