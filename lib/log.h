/* log.h: one logging format for every program of the suite.
 *
 * Severities have fixed meanings (after Postfix's msg(3)):
 *   panic   - our own bug; logs and aborts (core dump).
 *   fatal   - the program cannot run (bad config, missing certificate);
 *             logs and exits with status 1 (or the status set by
 *             log_set_fatal_status()).
 *   error   - a peer, a file or the system misbehaved; we go on.
 *   warning - something looks wrong but is handled.
 *   info, debug - what happened.
 * Lines go to stderr ("ident[pid]: level: context: message") or to syslog
 * (mail facility) with the same text.  A log_ctx carries a session's
 * context (client IP, user, queue id) that every line it logs inherits.
 * Never pass a password or other secret to these functions. */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_PANIC,
};

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG,
};

/* Sets the program name and where lines go.  Callable more than once. */
void log_init(const char *ident, enum log_target target);
/* Lines below this level are dropped (default: info). */
void log_set_min_level(enum log_level level);
/* Exit status used by log_fatal() (default 1; sysexits users pass 75...). */
void log_set_fatal_status(int status);
/* Replaces the output with a callback (tests capture lines with it);
 * NULL restores the normal output.  The line has no trailing newline. */
typedef void log_handler_t(enum log_level level, const char *line,
			   void *context);
void log_set_handler(log_handler_t *handler, void *context);
const char *log_level_name(enum log_level level);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void log_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void log_vmsg(enum log_level level, const char *prefix, const char *fmt,
	      va_list ap) __attribute__((format(printf, 3, 0)));

/* A session's logging context: its prefix ("ip=1.2.3.4 user=x") goes in
 * front of every message logged through it. */
struct log_ctx {
	char *prefix;
};
struct log_ctx *log_ctx_new(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* Replaces the prefix (say, after login). */
void log_ctx_set(struct log_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_ctx_destroy(struct log_ctx **ctx);
void log_ctx_msg(const struct log_ctx *ctx, enum log_level level,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define ctx_debug(ctx, ...) log_ctx_msg(ctx, LOG_LEVEL_DEBUG, __VA_ARGS__)
#define ctx_info(ctx, ...) log_ctx_msg(ctx, LOG_LEVEL_INFO, __VA_ARGS__)
#define ctx_warning(ctx, ...) log_ctx_msg(ctx, LOG_LEVEL_WARNING, __VA_ARGS__)
#define ctx_error(ctx, ...) log_ctx_msg(ctx, LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
