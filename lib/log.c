/* log.c: the suite's logging to stderr or syslog (see log.h). */
#include "config.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static char log_ident[64] = "courier";
static enum log_target log_target = LOG_TARGET_STDERR;
static enum log_level log_min_level = LOG_LEVEL_INFO;
static int log_fatal_status = 1;
static log_handler_t *log_handler;
static void *log_handler_context;

static const char *const level_names[] = {
	"debug", "info", "warning", "error", "fatal", "panic",
};

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= N_ELEMENTS(level_names))
		return "?";
	return level_names[level];
}

void log_init(const char *ident, enum log_target target)
{
	const char *slash = strrchr(ident, '/');

	snprintf(log_ident, sizeof(log_ident), "%s",
		 slash != NULL ? slash + 1 : ident);
	if (log_target == LOG_TARGET_SYSLOG)
		closelog();
	log_target = target;
	if (target == LOG_TARGET_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_min_level(enum log_level level)
{
	log_min_level = level;
}

void log_set_fatal_status(int status)
{
	log_fatal_status = status;
}

void log_set_handler(log_handler_t *handler, void *context)
{
	log_handler = handler;
	log_handler_context = context;
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_DEBUG: return LOG_DEBUG;
	case LOG_LEVEL_INFO: return LOG_INFO;
	case LOG_LEVEL_WARNING: return LOG_WARNING;
	case LOG_LEVEL_ERROR: return LOG_ERR;
	case LOG_LEVEL_FATAL: return LOG_CRIT;
	case LOG_LEVEL_PANIC: return LOG_ALERT;
	}
	return LOG_ERR;
}

void log_vmsg(enum log_level level, const char *prefix, const char *fmt,
	      va_list ap)
{
	char msg[4096], line[4300];
	int saved_errno = errno;

	if (level < log_min_level)
		return;
	/* Formatting into fixed buffers truncates long messages instead of
	 * allocating: logging must work when memory has run out. */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Control characters from a peer never reach the log raw. */
	for (char *p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	if (prefix != NULL && *prefix != '\0')
		snprintf(line, sizeof(line), "%s: %s", prefix, msg);
	else
		snprintf(line, sizeof(line), "%s", msg);

	if (log_handler != NULL)
		log_handler(level, line, log_handler_context);
	else if (log_target == LOG_TARGET_SYSLOG)
		syslog(syslog_priority(level), "%s: %s",
		       log_level_name(level), line);
	else
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_ident,
			(long)getpid(), log_level_name(level), line);
	errno = saved_errno;
}

#define LOG_FUNC(name, level)					\
	void name(const char *fmt, ...)				\
	{							\
		va_list ap;					\
		va_start(ap, fmt);				\
		log_vmsg(level, NULL, fmt, ap);			\
		va_end(ap);					\
	}
LOG_FUNC(log_debug, LOG_LEVEL_DEBUG)
LOG_FUNC(log_info, LOG_LEVEL_INFO)
LOG_FUNC(log_warning, LOG_LEVEL_WARNING)
LOG_FUNC(log_error, LOG_LEVEL_ERROR)

void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_FATAL, NULL, fmt, ap);
	va_end(ap);
	exit(log_fatal_status);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_PANIC, NULL, fmt, ap);
	va_end(ap);
	abort();
}

struct log_ctx *log_ctx_new(const char *fmt, ...)
{
	struct log_ctx *ctx = xcalloc(1, sizeof(*ctx));
	va_list ap;

	va_start(ap, fmt);
	ctx->prefix = xvasprintf(fmt, ap);
	va_end(ap);
	return ctx;
}

void log_ctx_set(struct log_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	free(ctx->prefix);
	va_start(ap, fmt);
	ctx->prefix = xvasprintf(fmt, ap);
	va_end(ap);
}

void log_ctx_destroy(struct log_ctx **ctxp)
{
	if (*ctxp == NULL)
		return;
	free((*ctxp)->prefix);
	x_free(*ctxp);
}

void log_ctx_msg(const struct log_ctx *ctx, enum log_level level,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, ctx != NULL ? ctx->prefix : NULL, fmt, ap);
	va_end(ap);
}
