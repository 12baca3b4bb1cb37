/* tls-common.c: file reading, errors and settings checks shared by the
 * OpenSSL and GnuTLS implementations of tls.h. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mem.h"
#include "secure.h"
#include "tls-private.h"

static char tls_error_buf[1024];

const char *tls_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tls_error_buf, sizeof(tls_error_buf), fmt, ap);
	va_end(ap);
	return tls_error_buf;
}

const char *tls_version_name(enum tls_version v)
{
	switch (v) {
	case TLS_VERSION_1_0:
		return "TLSv1";
	case TLS_VERSION_1_1:
		return "TLSv1.1";
	case TLS_VERSION_1_2:
	case TLS_VERSION_DEFAULT:
		return "TLSv1.2";
	case TLS_VERSION_1_3:
		return "TLSv1.3";
	}
	return "unknown";
}

int tls_settings_check(const struct tls_settings *set, const char **error_r)
{
	enum tls_version min = set->min_version, max = set->max_version;

	if (min < TLS_VERSION_DEFAULT || min > TLS_VERSION_1_3 ||
	    max < TLS_VERSION_DEFAULT || max > TLS_VERSION_1_3) {
		*error_r = tls_error_set("invalid TLS protocol version");
		return -1;
	}
	if (min == TLS_VERSION_DEFAULT)
		min = TLS_VERSION_1_2;
	if (max != TLS_VERSION_DEFAULT && max < min) {
		*error_r = tls_error_set(
			"TLS protocol range is empty: minimum %s > maximum %s",
			tls_version_name(min), tls_version_name(max));
		return -1;
	}
	return 0;
}

int tls_read_file(const char *path, size_t max_size, char **data_r,
		  size_t *size_r, const char **error_r)
{
	struct stat st;
	char *data;
	size_t size = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = tls_error_set("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = tls_error_set("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = tls_error_set("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((unsigned long long)st.st_size > max_size) {
		*error_r = tls_error_set("%s: file too large", path);
		close(fd);
		return -1;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (size < (size_t)st.st_size) {
		ssize_t n = read(fd, data + size, (size_t)st.st_size - size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = tls_error_set("%s: %s", path,
				n < 0 ? strerror(errno) : "file shrank while read");
			close(fd);
			tls_file_free(&data, size);
			return -1;
		}
		size += (size_t)n;
	}
	close(fd);
	data[size] = '\0';
	*data_r = data;
	*size_r = size;
	return 0;
}

void tls_file_free(char **data, size_t size)
{
	if (*data == NULL)
		return;
	secure_wipe(*data, size);
	x_free(*data);
}
