/* esmtp-vhost.c: me and esmtpgreeting per local address (vhost.ADDRESS). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "config-file.h"
#include "esmtp-vhost.h"
#include "mem.h"
#include "str.h"

/* The vhost key of local_ip, or NULL. */
static char *vhost_of(const char *local_ip)
{
	if (local_ip == NULL || *local_ip == '\0')
		return NULL;
	return config_vhost_select(local_ip, NULL);
}

char *esmtp_vhost_me(const char *local_ip)
{
	char *vhost = vhost_of(local_ip);
	char *me;

	if (vhost == NULL)
		return NULL;
	me = config_me(vhost);
	free(vhost);
	return me;
}

char *esmtp_vhost_greeting(const char *local_ip)
{
	char *vhost = vhost_of(local_ip);
	char *base, *path;
	struct config_lines *lines = NULL;
	struct str text;

	if (vhost == NULL)
		return NULL;
	base = config_path("esmtpgreeting");
	path = config_path_for_address("esmtpgreeting", vhost);
	free(vhost);
	if (strcmp(base, path) == 0 ||
	    config_lines_read(path, NULL, &lines, NULL) <= 0 ||
	    config_lines_count(lines) == 0) {
		config_lines_free(&lines);
		free(base);
		free(path);
		return NULL;
	}
	str_init(&text, 256);
	for (size_t i = 0; i < config_lines_count(lines); i++) {
		if (i > 0)
			str_append_c(&text, '\n');
		str_append(&text, config_lines_get(lines, i)->text);
	}
	config_lines_free(&lines);
	free(base);
	free(path);
	return str_steal(&text);
}
