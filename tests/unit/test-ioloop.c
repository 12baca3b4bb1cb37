/* test-ioloop.c: unit tests for lib/ioloop (timers, io readiness, signals). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include "ioloop.h"
#include "log.h"
#include "mem.h"

static int warnings_logged;

static void count_log(enum log_level level, const char *line, void *context)
{
	if (level >= LOG_LEVEL_WARNING)
		warnings_logged++;
}

/* Every test but the leak test must log nothing. */
static int check_no_warnings(void **state)
{
	int n = warnings_logged;

	warnings_logged = 0;
	return n == 0 ? 0 : -1;
}

/* Runs rounds until *flag is set or 2 s pass. */
static void run_until(struct ioloop *loop, const bool *flag)
{
	uint64_t start = ioloop_now_ms(loop);

	while (!*flag && ioloop_now_ms(loop) - start < 2000)
		ioloop_run_once(loop, 100);
	assert_true(*flag);
}

/* ---------------------------------------------------------------- timers */

struct order_ctx {
	struct ioloop *loop;
	int seen[8];
	int count;
};

struct order_item {
	struct order_ctx *ctx;
	int id;
};

static void order_cb(void *context)
{
	struct order_item *item = context;

	item->ctx->seen[item->ctx->count++] = item->id;
	if (item->ctx->count == 4)
		ioloop_stop(item->ctx->loop);
}

static void test_timers_in_order(void **state)
{
	struct order_ctx ctx = { .loop = ioloop_create() };
	struct order_item items[4] = {
		{ &ctx, 30 }, { &ctx, 10 }, { &ctx, 20 }, { &ctx, 11 },
	};
	unsigned int delays[4] = { 30, 10, 20, 10 };
	uint64_t start = ioloop_now_ms(ctx.loop);

	for (int i = 0; i < 4; i++)
		(void)timeout_add_once(ctx.loop, delays[i], order_cb, &items[i]);
	ioloop_run(ctx.loop);
	assert_int_equal(ctx.count, 4);
	assert_int_equal(ctx.seen[0], 10);
	assert_int_equal(ctx.seen[1], 11); /* same due time: order added */
	assert_int_equal(ctx.seen[2], 20);
	assert_int_equal(ctx.seen[3], 30);
	assert_true(ioloop_now_ms(ctx.loop) - start >= 30);
	ioloop_destroy(&ctx.loop);
	assert_null(ctx.loop);
}

struct heap_ctx {
	struct ioloop *loop;
	uint64_t last_due;
	int fired;
	bool in_order;
};

struct heap_item {
	struct heap_ctx *ctx;
	uint64_t due;
	struct timeout *to;
};

static void heap_cb(void *context)
{
	struct heap_item *item = context;

	if (item->due < item->ctx->last_due)
		item->ctx->in_order = false;
	item->ctx->last_due = item->due;
	item->ctx->fired++;
	item->to = NULL;
}

/* Many timers, some removed and some reset: the heap keeps them in due
 * order and none fires twice or after removal. */
static void test_many_timers(void **state)
{
	struct heap_ctx ctx = { .loop = ioloop_create(), .in_order = true };
	struct heap_item items[300];
	unsigned int seed = 12345, expected = 0;
	uint64_t start = ioloop_now_ms(ctx.loop);

	for (size_t i = 0; i < N_ELEMENTS(items); i++) {
		unsigned int delay;

		seed = seed * 1103515245 + 12345;
		delay = (seed >> 16) % 40;
		items[i].ctx = &ctx;
		items[i].due = start + delay;
		items[i].to = timeout_add_once(ctx.loop, delay, heap_cb,
					       &items[i]);
	}
	for (size_t i = 0; i < N_ELEMENTS(items); i += 3)
		timeout_remove(&items[i].to);
	for (size_t i = 1; i < N_ELEMENTS(items); i += 3) {
		/* Reset from "now" (start, the loop has not run). */
		timeout_reset(items[i].to);
	}
	for (size_t i = 0; i < N_ELEMENTS(items); i++) {
		if (items[i].to != NULL)
			expected++;
	}
	while (ctx.fired < (int)expected &&
	       ioloop_now_ms(ctx.loop) - start < 1000)
		ioloop_run_once(ctx.loop, 100);
	assert_int_equal(ctx.fired, expected);
	assert_true(ctx.in_order);
	ioloop_run_once(ctx.loop, 20);
	assert_int_equal(ctx.fired, expected);
	ioloop_destroy(&ctx.loop);
}

struct count_ctx {
	struct ioloop *loop;
	int repeat_calls, once_calls;
	struct timeout *repeat, *once;
	bool done;
};

static void repeat_cb(void *context)
{
	struct count_ctx *ctx = context;

	ctx->repeat_calls++;
}

static void once_cb(void *context)
{
	struct count_ctx *ctx = context;

	ctx->once_calls++;
	ctx->once = NULL; /* freed by the loop */
	ctx->done = true;
}

static void test_once_vs_repeating(void **state)
{
	struct count_ctx ctx = { .loop = ioloop_create() };
	uint64_t start;

	ctx.repeat = timeout_add(ctx.loop, 10, repeat_cb, &ctx);
	ctx.once = timeout_add_once(ctx.loop, 45, once_cb, &ctx);
	run_until(ctx.loop, &ctx.done);
	assert_int_equal(ctx.once_calls, 1);
	/* Never more often than every 10 ms (a slow machine gives less). */
	assert_true(ctx.repeat_calls <= 5);
	/* The once-timer never comes back; the repeating one goes on. */
	start = ioloop_now_ms(ctx.loop);
	while (ctx.repeat_calls < 8 && ioloop_now_ms(ctx.loop) - start < 2000)
		ioloop_run_once(ctx.loop, 100);
	assert_int_equal(ctx.repeat_calls, 8);
	assert_int_equal(ctx.once_calls, 1);
	timeout_remove(&ctx.repeat);
	assert_null(ctx.repeat);
	timeout_remove(&ctx.repeat); /* NULL is harmless */
	ioloop_run_once(ctx.loop, 30);
	assert_int_equal(ctx.repeat_calls, 8);
	ioloop_destroy(&ctx.loop);
}

struct reset_ctx {
	struct ioloop *loop;
	struct timeout *idle, *kick;
	int kicks;
	uint64_t fired_at;
	bool done;
};

static void reset_idle_cb(void *context)
{
	struct reset_ctx *ctx = context;

	ctx->fired_at = ioloop_now_ms(ctx->loop);
	ctx->idle = NULL;
	ctx->done = true;
}

static void reset_kick_cb(void *context)
{
	struct reset_ctx *ctx = context;

	timeout_reset(ctx->idle);
	if (++ctx->kicks == 3)
		timeout_remove(&ctx->kick); /* its own, during dispatch */
}

static void test_timeout_reset(void **state)
{
	struct reset_ctx ctx = { .loop = ioloop_create() };
	uint64_t start = ioloop_now_ms(ctx.loop);

	ctx.idle = timeout_add_once(ctx.loop, 50, reset_idle_cb, &ctx);
	ctx.kick = timeout_add(ctx.loop, 20, reset_kick_cb, &ctx);
	run_until(ctx.loop, &ctx.done);
	assert_int_equal(ctx.kicks, 3);
	assert_null(ctx.kick);
	/* Kicked at ~20, ~40, ~60 ms: fires no earlier than 60 + 50. */
	assert_true(ctx.fired_at - start >= 105);
	ioloop_destroy(&ctx.loop);
}

struct remove_ctx {
	struct timeout *a, *b, *self_once;
	int a_calls, b_calls, self_calls;
};

static void remove_a_cb(void *context)
{
	struct remove_ctx *ctx = context;

	ctx->a_calls++;
	timeout_remove(&ctx->b); /* due in the same round */
	ctx->a = NULL;
}

static void remove_b_cb(void *context)
{
	struct remove_ctx *ctx = context;

	ctx->b_calls++;
}

static void remove_self_once_cb(void *context)
{
	struct remove_ctx *ctx = context;

	ctx->self_calls++;
	/* Removing a firing once-timer from its own callback is allowed. */
	timeout_remove(&ctx->self_once);
}

static void test_timer_removed_during_dispatch(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct remove_ctx ctx = { 0 };
	uint64_t start;

	ctx.a = timeout_add_once(loop, 5, remove_a_cb, &ctx);
	ctx.b = timeout_add_once(loop, 5, remove_b_cb, &ctx);
	ctx.self_once = timeout_add_once(loop, 5, remove_self_once_cb, &ctx);
	start = ioloop_now_ms(loop);
	while (ioloop_now_ms(loop) - start < 30)
		ioloop_run_once(loop, 10);
	assert_int_equal(ctx.a_calls, 1);
	assert_int_equal(ctx.b_calls, 0);
	assert_int_equal(ctx.self_calls, 1);
	assert_null(ctx.b);
	assert_null(ctx.self_once);
	ioloop_destroy(&loop);
}

struct zero_ctx {
	struct ioloop *loop;
	struct timeout *to;
	int calls;
	bool io_seen;
	struct io *io;
};

static void zero_cb(void *context)
{
	struct zero_ctx *ctx = context;

	ctx->calls++;
	ctx->to = timeout_add_once(ctx->loop, 0, zero_cb, ctx);
}

static void zero_io_cb(void *context)
{
	struct zero_ctx *ctx = context;

	ctx->io_seen = true;
}

static void test_zero_timer_no_starvation(void **state)
{
	struct zero_ctx ctx = { .loop = ioloop_create() };
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	ctx.to = timeout_add_once(ctx.loop, 0, zero_cb, &ctx);
	ctx.io = io_add(ctx.loop, fds[0], IO_READ, zero_io_cb, &ctx);
	assert_int_equal(write(fds[1], "x", 1), 1);
	ioloop_run_once(ctx.loop, 100);
	/* One call per round, and the io still ran. */
	assert_int_equal(ctx.calls, 1);
	assert_true(ctx.io_seen);
	ioloop_run_once(ctx.loop, 100);
	assert_int_equal(ctx.calls, 2);
	timeout_remove(&ctx.to);
	io_remove(&ctx.io);
	close(fds[0]);
	close(fds[1]);
	ioloop_destroy(&ctx.loop);
}

/* ---------------------------------------------------------------- io */

struct rw_ctx {
	struct ioloop *loop;
	int fd;
	struct io *rio, *wio;
	int reads, writes;
	char buf[16];
	ssize_t got;
};

static void rw_read_cb(void *context)
{
	struct rw_ctx *ctx = context;

	ctx->reads++;
	ctx->got = read(ctx->fd, ctx->buf, sizeof(ctx->buf));
}

static void rw_write_cb(void *context)
{
	struct rw_ctx *ctx = context;

	ctx->writes++;
}

static void test_io_read_write(void **state)
{
	struct rw_ctx ctx = { .loop = ioloop_create() };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	ctx.fd = sv[0];
	ctx.rio = io_add(ctx.loop, sv[0], IO_READ, rw_read_cb, &ctx);
	ctx.wio = io_add(ctx.loop, sv[0], IO_WRITE, rw_write_cb, &ctx);

	/* Writable at once, not readable. */
	ioloop_run_once(ctx.loop, 0);
	assert_int_equal(ctx.writes, 1);
	assert_int_equal(ctx.reads, 0);

	/* Without the write io, nothing is ready. */
	io_remove(&ctx.wio);
	assert_null(ctx.wio);
	ioloop_run_once(ctx.loop, 0);
	assert_int_equal(ctx.writes, 1);
	assert_int_equal(ctx.reads, 0);

	/* Data from the peer makes it readable. */
	assert_int_equal(write(sv[1], "hello", 5), 5);
	ioloop_run_once(ctx.loop, 100);
	assert_int_equal(ctx.reads, 1);
	assert_int_equal(ctx.got, 5);
	assert_memory_equal(ctx.buf, "hello", 5);

	/* The write io comes back while the read io stays. */
	ctx.wio = io_add(ctx.loop, sv[0], IO_WRITE, rw_write_cb, &ctx);
	ioloop_run_once(ctx.loop, 0);
	assert_int_equal(ctx.writes, 2);
	assert_int_equal(ctx.reads, 1);
	io_remove(&ctx.wio);

	/* A hangup reaches the read io, whose read() returns 0. */
	close(sv[1]);
	ioloop_run_once(ctx.loop, 100);
	assert_int_equal(ctx.reads, 2);
	assert_int_equal(ctx.got, 0);

	io_remove(&ctx.rio);
	io_remove(&ctx.rio); /* NULL is harmless */
	close(sv[0]);
	ioloop_destroy(&ctx.loop);
}

static void test_io_both_conditions(void **state)
{
	struct rw_ctx ctx = { .loop = ioloop_create() };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	ctx.fd = sv[0];
	ctx.rio = io_add(ctx.loop, sv[0], IO_READ | IO_WRITE, rw_read_cb,
			 &ctx);
	assert_int_equal(write(sv[1], "x", 1), 1);
	/* Readable and writable: called once per round. */
	ioloop_run_once(ctx.loop, 100);
	assert_int_equal(ctx.reads, 1);
	io_remove(&ctx.rio);
	close(sv[0]);
	close(sv[1]);
	ioloop_destroy(&ctx.loop);
}

struct pipes_ctx {
	struct ioloop *loop;
	int fds[2][2];
	struct io *io[2];
	int calls[2];
	int replaced_calls;
};

static void pipes_replaced_cb(void *context)
{
	struct pipes_ctx *ctx = context;
	char c;

	ctx->replaced_calls++;
	assert_int_equal(read(ctx->fds[1][0], &c, 1), 1);
}

static void pipes_cb(void *context, int idx)
{
	struct pipes_ctx *ctx = context;
	char c;
	int other = 1 - idx;

	ctx->calls[idx]++;
	assert_int_equal(read(ctx->fds[idx][0], &c, 1), 1);
	/* Removes the other pipe's io, due in the same round, and adds a
	 * new one on its fd: neither may run in this round. */
	io_remove(&ctx->io[other]);
	ctx->io[other] = io_add(ctx->loop, ctx->fds[other][0], IO_READ,
				pipes_replaced_cb, ctx);
	io_remove(&ctx->io[idx]); /* and its own */
}

static void pipes_cb0(void *context) { pipes_cb(context, 0); }
static void pipes_cb1(void *context) { pipes_cb(context, 1); }

static void test_io_removed_during_dispatch(void **state)
{
	struct pipes_ctx ctx = { .loop = ioloop_create() };

	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe2(ctx.fds[i], O_NONBLOCK), 0);
		assert_int_equal(write(ctx.fds[i][1], "x", 1), 1);
	}
	ctx.io[0] = io_add(ctx.loop, ctx.fds[0][0], IO_READ, pipes_cb0, &ctx);
	ctx.io[1] = io_add(ctx.loop, ctx.fds[1][0], IO_READ, pipes_cb1, &ctx);
	ioloop_run_once(ctx.loop, 100);
	/* Exactly one of the two ran, and not the replacement. */
	assert_int_equal(ctx.calls[0] + ctx.calls[1], 1);
	assert_int_equal(ctx.replaced_calls, 0);
	ioloop_run_once(ctx.loop, 100);
	assert_int_equal(ctx.calls[0] + ctx.calls[1], 1);
	assert_int_equal(ctx.replaced_calls, 1);
	for (int i = 0; i < 2; i++) {
		io_remove(&ctx.io[i]);
		close(ctx.fds[i][0]);
		close(ctx.fds[i][1]);
	}
	ioloop_destroy(&ctx.loop);
}

/* Closing an fd before removing its io must not upset the loop. */
static void test_io_fd_closed_first(void **state)
{
	struct rw_ctx ctx = { .loop = ioloop_create() };
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	ctx.rio = io_add(ctx.loop, fds[0], IO_READ, rw_read_cb, &ctx);
	close(fds[0]);
	close(fds[1]);
	io_remove(&ctx.rio);
	/* The number is reused by a new fd: it can be watched again. */
	assert_int_equal(pipe(fds), 0);
	ctx.fd = fds[0];
	ctx.rio = io_add(ctx.loop, fds[0], IO_READ, rw_read_cb, &ctx);
	assert_int_equal(write(fds[1], "ab", 2), 2);
	ioloop_run_once(ctx.loop, 100);
	assert_int_equal(ctx.reads, 1);
	io_remove(&ctx.rio);
	close(fds[0]);
	close(fds[1]);
	ioloop_destroy(&ctx.loop);
}

/* A child may drop the parent's loop without touching its epoll set. */
static void test_fork_child_destroys(void **state)
{
	struct rw_ctx ctx = { .loop = ioloop_create() };
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	ctx.fd = fds[0];
	ctx.rio = io_add(ctx.loop, fds[0], IO_READ, rw_read_cb, &ctx);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		io_remove(&ctx.rio);
		ioloop_destroy(&ctx.loop);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(write(fds[1], "z", 1), 1);
	ioloop_run_once(ctx.loop, 500);
	assert_int_equal(ctx.reads, 1);
	io_remove(&ctx.rio);
	close(fds[0]);
	close(fds[1]);
	ioloop_destroy(&ctx.loop);
}

/* A child goes on using the loop it inherited (a worker forked after the
 * listeners were set up), and the parent's loop is not disturbed. */
static void test_fork_child_uses_loop(void **state)
{
	struct rw_ctx ctx = { .loop = ioloop_create() };
	int fds[2], child_fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(pipe(child_fds), 0);
	ctx.fd = fds[0];
	ctx.rio = io_add(ctx.loop, fds[0], IO_READ, rw_read_cb, &ctx);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rw_ctx cctx = { .loop = ctx.loop, .fd = child_fds[0] };
		uint64_t start;

		/* The inherited io still works here ... */
		if (write(fds[1], "c", 1) != 1)
			_exit(1);
		ioloop_run_once(ctx.loop, 500);
		if (ctx.reads != 1 || ctx.got != 1)
			_exit(2);
		/* ... it can be replaced, and new ones added. */
		io_remove(&ctx.rio);
		cctx.rio = io_add(ctx.loop, child_fds[0], IO_READ, rw_read_cb,
				  &cctx);
		start = ioloop_now_ms(ctx.loop);
		while (cctx.reads == 0 &&
		       ioloop_now_ms(ctx.loop) - start < 1000)
			ioloop_run_once(ctx.loop, 100);
		if (cctx.reads != 1 || cctx.buf[0] != 'p')
			_exit(3);
		io_remove(&cctx.rio);
		ioloop_destroy(&ctx.loop);
		_exit(0);
	}
	/* The parent's loop still watches fds[0], not child_fds[0]. */
	assert_int_equal(write(child_fds[1], "p", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(write(fds[1], "z", 1), 1);
	ioloop_run_once(ctx.loop, 500);
	assert_int_equal(ctx.reads, 1);
	assert_memory_equal(ctx.buf, "z", 1);
	io_remove(&ctx.rio);
	for (int i = 0; i < 2; i++) {
		close(fds[i]);
		close(child_fds[i]);
	}
	ioloop_destroy(&ctx.loop);
}

/* ---------------------------------------------------------------- signals */

struct sig_ctx {
	int usr1, usr2_a, usr2_b;
	int order[4], n;
};

static void sig_usr1_cb(void *context)
{
	struct sig_ctx *ctx = context;

	ctx->usr1++;
}

static void sig_usr2_a_cb(void *context)
{
	struct sig_ctx *ctx = context;

	ctx->usr2_a++;
	ctx->order[ctx->n++] = 1;
}

static void sig_usr2_b_cb(void *context)
{
	struct sig_ctx *ctx = context;

	ctx->usr2_b++;
	ctx->order[ctx->n++] = 2;
}

static void test_signals(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct sig_ctx ctx = { 0 };
	sigset_t mask;

	ioloop_signal_add(loop, SIGUSR1, sig_usr1_cb, &ctx);
	ioloop_signal_add(loop, SIGUSR2, sig_usr2_a_cb, &ctx);
	ioloop_signal_add(loop, SIGUSR2, sig_usr2_b_cb, &ctx);
	/* Blocked: raising it does not run a handler or kill us. */
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
	assert_int_equal(sigismember(&mask, SIGUSR1), 1);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(ctx.usr1, 0);
	ioloop_run_once(loop, 500);
	assert_int_equal(ctx.usr1, 1);
	assert_int_equal(kill(getpid(), SIGUSR2), 0);
	ioloop_run_once(loop, 500);
	assert_int_equal(ctx.usr1, 1);
	assert_int_equal(ctx.usr2_a, 1);
	assert_int_equal(ctx.usr2_b, 1);
	assert_int_equal(ctx.order[0], 1);
	assert_int_equal(ctx.order[1], 2);
	ioloop_destroy(&loop);

	/* A new loop takes the signals over. */
	loop = ioloop_create();
	ioloop_signal_add(loop, SIGUSR1, sig_usr1_cb, &ctx);
	assert_int_equal(raise(SIGUSR1), 0);
	ioloop_run_once(loop, 500);
	assert_int_equal(ctx.usr1, 2);
	ioloop_destroy(&loop);
}

static void test_child_prepare_exec(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct sig_ctx ctx = { 0 };
	int status;
	pid_t pid;

	ioloop_signal_add(loop, SIGUSR1, sig_usr1_cb, &ctx);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sigset_t mask;
		struct sigaction sa;

		ioloop_child_prepare_exec();
		if (sigprocmask(SIG_BLOCK, NULL, &mask) < 0 ||
		    sigismember(&mask, SIGUSR1) != 0)
			_exit(1);
		if (sigaction(SIGPIPE, NULL, &sa) < 0 ||
		    sa.sa_handler != SIG_DFL)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ioloop_destroy(&loop);
}

static void alarm_handler(int signo)
{
	(void)signo;
}

/* An unrelated signal interrupting epoll_wait() is not an error. */
static void test_eintr(void **state)
{
	struct ioloop *loop = ioloop_create();
	struct sigaction sa, old_sa;
	struct itimerval it = { .it_value = { .tv_usec = 20000 } };
	uint64_t start;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler; /* no SA_RESTART */
	assert_int_equal(sigaction(SIGALRM, &sa, &old_sa), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	start = ioloop_now_ms(loop);
	ioloop_run_once(loop, 1000);
	assert_true(ioloop_now_ms(loop) - start < 900);
	assert_int_equal(sigaction(SIGALRM, &old_sa, NULL), 0);
	ioloop_destroy(&loop);
}

/* Leftovers at destroy are freed with one warning. */
static void test_destroy_leftovers(void **state)
{
	struct ioloop *loop = ioloop_create();
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	(void)io_add(loop, fds[0], IO_READ, zero_io_cb, NULL);
	(void)timeout_add(loop, 1000, zero_io_cb, NULL);
	ioloop_destroy(&loop);
	assert_int_equal(warnings_logged, 1);
	warnings_logged = 0;
	close(fds[0]);
	close(fds[1]);
}

static void test_now_advances(void **state)
{
	struct ioloop *loop = ioloop_create();
	uint64_t t0 = ioloop_now_ms(loop);

	ioloop_run_once(loop, 20);
	assert_true(ioloop_now_ms(loop) >= t0 + 19);
	ioloop_destroy(&loop);
	ioloop_destroy(&loop); /* NULL is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_many_timers),
		cmocka_unit_test(test_once_vs_repeating),
		cmocka_unit_test(test_timeout_reset),
		cmocka_unit_test(test_timer_removed_during_dispatch),
		cmocka_unit_test(test_zero_timer_no_starvation),
		cmocka_unit_test(test_io_read_write),
		cmocka_unit_test(test_io_both_conditions),
		cmocka_unit_test(test_io_removed_during_dispatch),
		cmocka_unit_test(test_io_fd_closed_first),
		cmocka_unit_test(test_fork_child_destroys),
		cmocka_unit_test(test_fork_child_uses_loop),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_child_prepare_exec),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_destroy_leftovers),
		cmocka_unit_test(test_now_advances),
	};

	log_set_handler(count_log, NULL);
	return cmocka_run_group_tests(tests, NULL, check_no_warnings);
}
