/* ioloop.c: the epoll event loop: fd readiness, timers and signals. */
#include "config.h"
#include "ioloop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"

#define IOLOOP_MAX_EVENTS 128
/* Expired timers collected on the stack per round before spilling. */
#define IOLOOP_EXPIRED_STACK 32

struct io {
	struct ioloop *loop;
	int fd;
	enum io_condition cond;
	io_callback_t *cb;
	void *context;
	uint64_t added_round;
	bool removed;
	struct io *next_free;
};

struct timeout {
	struct ioloop *loop;
	unsigned int msecs;
	bool repeat;
	bool removed;
	bool pending_fire;	/* collected as expired, not yet called */
	uint64_t due_ms;
	uint64_t seq;		/* ties: earlier added fires first */
	size_t heap_index;	/* SIZE_MAX = not in the heap */
	io_callback_t *cb;
	void *context;
	struct timeout *next_free;
};

/* What is watched on one fd. */
struct io_fd {
	struct io *read;
	struct io *write;
	uint32_t events;	/* registered in epoll; 0 = not registered */
	/* epoll refused the fd (a regular file, /dev/null: EPERM): it is
	 * always ready, as poll() would say, and is not in the epoll set. */
	bool always_ready;
};

struct signal_handler {
	int signo;
	io_callback_t *cb;
	void *context;
	struct signal_handler *next;
};

struct ioloop {
	int epfd;
	bool running;
	uint64_t now_ms;
	uint64_t round;		/* incremented at the start of each round */
	unsigned int depth;	/* nested rounds in progress */

	struct io_fd *fds;
	size_t fds_count;
	size_t n_always_ready;	/* fds with always_ready and events */

	struct timeout **heap;
	size_t heap_count, heap_alloc;
	uint64_t timeout_seq;

	/* Freed when no round is in progress any more. */
	struct io *free_ios;
	struct timeout *free_timeouts;

	int sigfd;
	sigset_t sigset;	/* the signals we watch (and blocked) */
	struct io *sig_io;
	struct signal_handler *signals;
	unsigned int n_ios, n_timeouts;

	/* Inherited through fork() and not used since: the epoll instance
	 * is the parent's, so this process must leave it alone until
	 * ioloop_adopt_if_forked() gives it its own. */
	bool foreign;
	struct ioloop *prev, *next;
};

/* Every loop of the process, to mark them foreign in a forked child. */
static struct ioloop *ioloops;
/* Signals some loop blocked that were not blocked before. */
static sigset_t ioloop_blocked_signals;
static bool ioloop_sigpipe_ignored;
static pthread_once_t ioloop_atfork_once = PTHREAD_ONCE_INIT;

static void ioloop_atfork_child(void)
{
	for (struct ioloop *loop = ioloops; loop != NULL; loop = loop->next)
		loop->foreign = true;
}

static void ioloop_atfork_init(void)
{
	sigemptyset(&ioloop_blocked_signals);
	if (pthread_atfork(NULL, NULL, ioloop_atfork_child) != 0)
		log_panic("pthread_atfork() failed");
}

void ioloop_child_prepare_exec(void)
{
	(void)pthread_once(&ioloop_atfork_once, ioloop_atfork_init);
	if (!sigisemptyset(&ioloop_blocked_signals))
		(void)sigprocmask(SIG_UNBLOCK, &ioloop_blocked_signals, NULL);
	if (ioloop_sigpipe_ignored)
		signal(SIGPIPE, SIG_DFL);
}

/* In a forked child, on first real use of an inherited loop: a new epoll
 * set of our own with the same registrations.  The parent's set, shared
 * through the inherited epoll fd, is never touched. */
static void ioloop_adopt_if_forked(struct ioloop *loop)
{
	int epfd;

	if (!loop->foreign)
		return;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		log_panic("epoll_create1(): %m");
	/* Closing our copy leaves the parent's epoll instance alone. */
	close(loop->epfd);
	loop->epfd = epfd;
	loop->foreign = false;
	for (size_t fd = 0; fd < loop->fds_count; fd++) {
		struct io_fd *f = &loop->fds[fd];
		struct epoll_event ev;

		if (f->events == 0 || f->always_ready)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.events = f->events;
		ev.data.fd = (int)fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, (int)fd, &ev) < 0) {
			/* Closed without removing its io: it stays
			 * silent until removed. */
			log_warning("ioloop: fd %zu watched but not open "
				    "after fork: %m", fd);
			f->events = 0;
		}
	}
}

static uint64_t clock_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		log_panic("clock_gettime(CLOCK_MONOTONIC): %m");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct ioloop *ioloop_create(void)
{
	struct ioloop *loop = xcalloc(1, sizeof(*loop));

	(void)pthread_once(&ioloop_atfork_once, ioloop_atfork_init);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		log_panic("epoll_create1(): %m");
	loop->sigfd = -1;
	sigemptyset(&loop->sigset);
	loop->now_ms = clock_now_ms();
	/* A write to a peer that went away must fail with EPIPE, not kill
	 * the daemon. */
	if (signal(SIGPIPE, SIG_IGN) != SIG_IGN)
		ioloop_sigpipe_ignored = true;
	loop->next = ioloops;
	if (ioloops != NULL)
		ioloops->prev = loop;
	ioloops = loop;
	return loop;
}

static void ioloop_free_deferred(struct ioloop *loop)
{
	while (loop->free_ios != NULL) {
		struct io *io = loop->free_ios;

		loop->free_ios = io->next_free;
		free(io);
	}
	while (loop->free_timeouts != NULL) {
		struct timeout *to = loop->free_timeouts;

		loop->free_timeouts = to->next_free;
		free(to);
	}
}

void ioloop_destroy(struct ioloop **_loop)
{
	struct ioloop *loop = *_loop;

	if (loop == NULL)
		return;
	*_loop = NULL;

	if (loop->sig_io != NULL) {
		/* Internal, so not counted (see ioloop_signal_add()). */
		loop->n_ios++;
		io_remove(&loop->sig_io);
	}
	if (loop->n_ios > 0 || loop->n_timeouts > 0) {
		log_warning("ioloop destroyed with %u io(s) and %u timeout(s) "
			    "still added", loop->n_ios, loop->n_timeouts);
	}
	/* Leftovers are freed so that nothing leaks; their owners' pointers
	 * dangle, which is why the header asks for removal first. */
	for (size_t fd = 0; fd < loop->fds_count; fd++) {
		struct io_fd *f = &loop->fds[fd];

		if (f->read != NULL)
			free(f->read);
		if (f->write != NULL && f->write != f->read)
			free(f->write);
	}
	for (size_t i = 0; i < loop->heap_count; i++)
		free(loop->heap[i]);
	ioloop_free_deferred(loop);
	while (loop->signals != NULL) {
		struct signal_handler *h = loop->signals;

		loop->signals = h->next;
		free(h);
	}
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	close(loop->epfd);
	if (loop->prev != NULL)
		loop->prev->next = loop->next;
	else
		ioloops = loop->next;
	if (loop->next != NULL)
		loop->next->prev = loop->prev;
	free(loop->fds);
	free(loop->heap);
	free(loop);
}

void ioloop_stop(struct ioloop *loop)
{
	loop->running = false;
}

uint64_t ioloop_now_ms(const struct ioloop *loop)
{
	return loop->now_ms;
}

/* ---------------------------------------------------------------- io */

static void io_fd_update(struct ioloop *loop, int fd)
{
	struct io_fd *f = &loop->fds[fd];
	uint32_t want = 0;
	struct epoll_event ev;
	int op;

	if (f->read != NULL)
		want |= EPOLLIN;
	if (f->write != NULL)
		want |= EPOLLOUT;
	if (want == f->events)
		return;
	if (f->always_ready) {
		/* Never in the epoll set: only the count changes. */
		if (f->events != 0 && want == 0) {
			loop->n_always_ready--;
			f->always_ready = false;
		}
		f->events = want;
		return;
	}
	if (loop->foreign) {
		/* Not adopted yet: the epoll set is still the parent's, so
		 * only note what adopting must register. */
		f->events = want;
		return;
	}

	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.fd = fd;
	if (want == 0)
		op = EPOLL_CTL_DEL;
	else if (f->events == 0)
		op = EPOLL_CTL_ADD;
	else
		op = EPOLL_CTL_MOD;

	if (epoll_ctl(loop->epfd, op, fd, &ev) < 0) {
		if (op == EPOLL_CTL_ADD && errno == EPERM) {
			/* A regular file or the like (a tunnel session
			 * reading its commands from a file): always ready. */
			f->always_ready = true;
			loop->n_always_ready++;
		} else if (op == EPOLL_CTL_DEL &&
			   (errno == EBADF || errno == ENOENT)) {
			/* The fd was closed before its io was removed:
			 * the kernel already forgot it. */
		} else if (op == EPOLL_CTL_MOD && errno == ENOENT) {
			/* Closed and reopened under the same number. */
			if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
				log_panic("epoll_ctl(ADD, %d): %m", fd);
		} else {
			log_panic("epoll_ctl(%s, %d): %m",
				  op == EPOLL_CTL_ADD ? "ADD" :
				  op == EPOLL_CTL_MOD ? "MOD" : "DEL", fd);
		}
	}
	f->events = want;
}

struct io *io_add(struct ioloop *loop, int fd, enum io_condition cond,
		  io_callback_t *cb, void *context)
{
	struct io *io;
	struct io_fd *f;

	ioloop_adopt_if_forked(loop);
	if (fd < 0)
		log_panic("io_add(): invalid fd %d", fd);
	if ((cond & (IO_READ | IO_WRITE)) == 0 ||
	    (cond & ~(IO_READ | IO_WRITE)) != 0)
		log_panic("io_add(): invalid condition 0x%x", (unsigned)cond);
	if ((size_t)fd >= loop->fds_count) {
		size_t n = loop->fds_count == 0 ? 64 : loop->fds_count;

		while (n <= (size_t)fd)
			n *= 2;
		loop->fds = xreallocarray(loop->fds, n, sizeof(*loop->fds));
		memset(loop->fds + loop->fds_count, 0,
		       (n - loop->fds_count) * sizeof(*loop->fds));
		loop->fds_count = n;
	}
	f = &loop->fds[fd];
	if (((cond & IO_READ) != 0 && f->read != NULL) ||
	    ((cond & IO_WRITE) != 0 && f->write != NULL))
		log_panic("io_add(): fd %d already has an io for 0x%x",
			  fd, (unsigned)cond);

	io = xcalloc(1, sizeof(*io));
	io->loop = loop;
	io->fd = fd;
	io->cond = cond;
	io->cb = cb;
	io->context = context;
	io->added_round = loop->round;
	if ((cond & IO_READ) != 0)
		f->read = io;
	if ((cond & IO_WRITE) != 0)
		f->write = io;
	io_fd_update(loop, fd);
	loop->n_ios++;
	return io;
}

void io_remove(struct io **_io)
{
	struct io *io = *_io;
	struct ioloop *loop;
	struct io_fd *f;

	if (io == NULL)
		return;
	*_io = NULL;
	loop = io->loop;
	if (io->removed)
		log_panic("io_remove(): io for fd %d removed twice", io->fd);
	io->removed = true;
	f = &loop->fds[io->fd];
	if (f->read == io)
		f->read = NULL;
	if (f->write == io)
		f->write = NULL;
	io_fd_update(loop, io->fd);
	loop->n_ios--;
	if (loop->depth > 0) {
		io->next_free = loop->free_ios;
		loop->free_ios = io;
	} else {
		free(io);
	}
}

/* ---------------------------------------------------------------- timers */

static bool timeout_before(const struct timeout *a, const struct timeout *b)
{
	if (a->due_ms != b->due_ms)
		return a->due_ms < b->due_ms;
	return a->seq < b->seq;
}

static void heap_set(struct ioloop *loop, size_t i, struct timeout *to)
{
	loop->heap[i] = to;
	to->heap_index = i;
}

static void heap_up(struct ioloop *loop, size_t i)
{
	struct timeout *to = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timeout_before(to, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, to);
}

static void heap_down(struct ioloop *loop, size_t i)
{
	struct timeout *to = loop->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= loop->heap_count)
			break;
		if (child + 1 < loop->heap_count &&
		    timeout_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timeout_before(loop->heap[child], to))
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, to);
}

static void heap_insert(struct ioloop *loop, struct timeout *to)
{
	if (loop->heap_count == loop->heap_alloc) {
		loop->heap_alloc = loop->heap_alloc == 0 ? 16 :
			loop->heap_alloc * 2;
		loop->heap = xreallocarray(loop->heap, loop->heap_alloc,
					   sizeof(*loop->heap));
	}
	to->seq = loop->timeout_seq++;
	heap_set(loop, loop->heap_count++, to);
	heap_up(loop, to->heap_index);
}

static void heap_delete(struct ioloop *loop, struct timeout *to)
{
	size_t i = to->heap_index;
	struct timeout *last;

	if (i == SIZE_MAX)
		return;
	to->heap_index = SIZE_MAX;
	last = loop->heap[--loop->heap_count];
	if (last == to)
		return;
	heap_set(loop, i, last);
	if (i > 0 && timeout_before(last, loop->heap[(i - 1) / 2]))
		heap_up(loop, i);
	else
		heap_down(loop, i);
}

static struct timeout *
timeout_new(struct ioloop *loop, unsigned int msecs, bool repeat,
	    io_callback_t *cb, void *context)
{
	struct timeout *to = xcalloc(1, sizeof(*to));

	if (repeat && msecs == 0)
		log_panic("timeout_add(): a repeating timer needs msecs > 0");
	to->loop = loop;
	to->msecs = msecs;
	to->repeat = repeat;
	to->cb = cb;
	to->context = context;
	to->due_ms = loop->now_ms + msecs;
	to->heap_index = SIZE_MAX;
	heap_insert(loop, to);
	loop->n_timeouts++;
	return to;
}

struct timeout *timeout_add_once(struct ioloop *loop, unsigned int msecs,
				 io_callback_t *cb, void *context)
{
	return timeout_new(loop, msecs, false, cb, context);
}

struct timeout *timeout_add(struct ioloop *loop, unsigned int msecs,
			    io_callback_t *cb, void *context)
{
	return timeout_new(loop, msecs, true, cb, context);
}

void timeout_reset(struct timeout *to)
{
	struct ioloop *loop = to->loop;

	if (to->removed)
		log_panic("timeout_reset(): timeout already removed or fired");
	heap_delete(loop, to);
	to->pending_fire = false;
	to->due_ms = loop->now_ms + to->msecs;
	heap_insert(loop, to);
}

static void timeout_free(struct ioloop *loop, struct timeout *to)
{
	to->removed = true;
	to->pending_fire = false;
	heap_delete(loop, to);
	loop->n_timeouts--;
	if (loop->depth > 0) {
		to->next_free = loop->free_timeouts;
		loop->free_timeouts = to;
	} else {
		free(to);
	}
}

void timeout_remove(struct timeout **_to)
{
	struct timeout *to = *_to;

	if (to == NULL)
		return;
	*_to = NULL;
	/* A once-timer removed from its own callback was already retired
	 * by the loop (its memory lives until the round ends). */
	if (to->removed)
		return;
	timeout_free(to->loop, to);
}

/* Milliseconds until the first timer is due, capped to INT_MAX; -1 when
 * there is no timer. */
static int ioloop_next_timer_msecs(struct ioloop *loop)
{
	uint64_t due;

	if (loop->heap_count == 0)
		return -1;
	due = loop->heap[0]->due_ms;
	if (due <= loop->now_ms)
		return 0;
	if (due - loop->now_ms > INT_MAX)
		return INT_MAX;
	return (int)(due - loop->now_ms);
}

static void ioloop_run_timers(struct ioloop *loop)
{
	struct timeout *stack[IOLOOP_EXPIRED_STACK];
	struct timeout **expired = stack;
	size_t count = 0, alloc = N_ELEMENTS(stack);

	/* Collect first: timers added or reset by callbacks wait for the
	 * next round, so a 0 ms timer re-adding itself cannot starve io. */
	while (loop->heap_count > 0 && loop->heap[0]->due_ms <= loop->now_ms) {
		struct timeout *to = loop->heap[0];

		heap_delete(loop, to);
		to->pending_fire = true;
		if (count == alloc) {
			alloc *= 2;
			if (expired == stack) {
				expired = xreallocarray(NULL, alloc,
							sizeof(*expired));
				memcpy(expired, stack, sizeof(stack));
			} else {
				expired = xreallocarray(expired, alloc,
							sizeof(*expired));
			}
		}
		expired[count++] = to;
	}

	for (size_t i = 0; i < count; i++) {
		struct timeout *to = expired[i];

		/* Removed or reset by an earlier callback of this round. */
		if (to->removed || !to->pending_fire)
			continue;
		to->pending_fire = false;
		if (to->repeat) {
			to->due_ms = loop->now_ms + to->msecs;
			heap_insert(loop, to);
		} else {
			/* Retired before the call: freed when the round
			 * ends, so the callback may still look at it. */
			timeout_free(loop, to);
		}
		to->cb(to->context);
	}
	if (expired != stack)
		free(expired);
}

/* ---------------------------------------------------------------- signals */

static void ioloop_signal_read(void *context)
{
	struct ioloop *loop = context;
	struct signalfd_siginfo si[8];
	ssize_t ret;

	for (;;) {
		ret = read(loop->sigfd, si, sizeof(si));
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_error("read(signalfd): %m");
			return;
		}
		if (ret == 0)
			return;
		for (size_t i = 0; i < (size_t)ret / sizeof(si[0]); i++) {
			int signo = (int)si[i].ssi_signo;
			struct signal_handler *h = loop->signals;

			while (h != NULL) {
				/* Handlers are only ever added, so the
				 * list stays valid across the call. */
				struct signal_handler *next = h->next;

				if (h->signo == signo)
					h->cb(h->context);
				h = next;
			}
		}
		if ((size_t)ret < sizeof(si))
			return;
	}
}

void ioloop_signal_add(struct ioloop *loop, int signo, io_callback_t *cb,
		       void *context)
{
	struct signal_handler *h, **tail;
	sigset_t one, old;

	ioloop_adopt_if_forked(loop);
	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
		log_panic("ioloop_signal_add(): bad signal %d", signo);

	h = xcalloc(1, sizeof(*h));
	h->signo = signo;
	h->cb = cb;
	h->context = context;
	/* Appended: handlers of one signal run in the order added. */
	for (tail = &loop->signals; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = h;

	if (sigismember(&loop->sigset, signo) == 1)
		return;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, &old) < 0)
		log_panic("sigprocmask(): %m");
	if (sigismember(&old, signo) == 0)
		sigaddset(&ioloop_blocked_signals, signo);
	sigaddset(&loop->sigset, signo);
	loop->sigfd = signalfd(loop->sigfd, &loop->sigset,
			       SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->sigfd < 0)
		log_panic("signalfd(): %m");
	if (loop->sig_io == NULL) {
		loop->sig_io = io_add(loop, loop->sigfd, IO_READ,
				      ioloop_signal_read, loop);
		/* Internal: not counted as a leak at destroy. */
		loop->n_ios--;
	}
}

/* ---------------------------------------------------------------- running */

/* The fds epoll refused: their ios are called every round, as if epoll
 * had reported them ready for what they watch. */
static void ioloop_run_always_ready(struct ioloop *loop, uint64_t this_round)
{
	for (size_t fd = 0; fd < loop->fds_count; fd++) {
		struct io *rio, *wio;

		/* Looked up every time: a callback may change the array. */
		if (!loop->fds[fd].always_ready)
			continue;
		rio = loop->fds[fd].read;
		if (rio != NULL && rio->added_round < this_round)
			rio->cb(rio->context);
		if (fd >= loop->fds_count || !loop->fds[fd].always_ready)
			continue;
		wio = loop->fds[fd].write;
		if (wio != NULL && wio != rio && wio->added_round < this_round)
			wio->cb(wio->context);
	}
}

void ioloop_run_once(struct ioloop *loop, int timeout_msecs)
{
	struct epoll_event events[IOLOOP_MAX_EVENTS];
	uint64_t this_round;
	int wait_msecs, next, n;

	ioloop_adopt_if_forked(loop);
	loop->round++;
	this_round = loop->round;
	loop->depth++;

	loop->now_ms = clock_now_ms();
	next = ioloop_next_timer_msecs(loop);
	wait_msecs = timeout_msecs;
	if (next >= 0 && (wait_msecs < 0 || next < wait_msecs))
		wait_msecs = next;
	if (loop->n_always_ready > 0)
		wait_msecs = 0;

	n = epoll_wait(loop->epfd, events, IOLOOP_MAX_EVENTS, wait_msecs);
	if (n < 0) {
		if (errno != EINTR)
			log_panic("epoll_wait(): %m");
		n = 0;
	}
	loop->now_ms = clock_now_ms();

	for (int i = 0; i < n; i++) {
		int fd = events[i].data.fd;
		uint32_t ev = events[i].events;
		struct io *rio, *wio;

		if ((size_t)fd >= loop->fds_count)
			continue;
		/* An error or hangup is reported to both sides: their
		 * read() or write() tells them what happened. */
		if ((ev & (EPOLLERR | EPOLLHUP)) != 0)
			ev |= EPOLLIN | EPOLLOUT;

		rio = loop->fds[fd].read;
		if ((ev & EPOLLIN) != 0 && rio != NULL &&
		    rio->added_round < this_round)
			rio->cb(rio->context);
		/* Looked up again: the read callback may have removed or
		 * replaced the write io (or the read io doing both). */
		wio = loop->fds[fd].write;
		if ((ev & EPOLLOUT) != 0 && wio != NULL &&
		    wio->added_round < this_round &&
		    !(wio == rio && (ev & EPOLLIN) != 0))
			wio->cb(wio->context);
	}
	if (loop->n_always_ready > 0)
		ioloop_run_always_ready(loop, this_round);

	ioloop_run_timers(loop);

	loop->depth--;
	if (loop->depth == 0)
		ioloop_free_deferred(loop);
}

void ioloop_run(struct ioloop *loop)
{
	loop->running = true;
	while (loop->running)
		ioloop_run_once(loop, -1);
}
