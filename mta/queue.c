/* queue.c: the mail queue on disk (queue.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance.h"
#include "mem.h"
#include "queue.h"
#include "str.h"

#define QUEUE_BUCKET_SECS 10000

static char *queue_dir_override, *queue_dir_cached;
/* Error strings are per thread: commits may run in worker threads. */
static _Thread_local char errbuf[1024];

/* Group commits (see queue_new_commit()): a sync that started after a
 * committer's own writes covers them, so concurrent committers share
 * one.  The count of syncs started and finished, whether one runs, the
 * key (bucket number, or 0 for the file system) and result of the last
 * finished one; all under the group's lock. */
struct group_sync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t started, done;
	bool running;
	int64_t done_key;
	int done_errno;
	atomic_ulong count;
};

static struct group_sync group_dir = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, false,
	0, 0, 0
};
/* syncfs() calls made by the batches (batch_commit()). */
static atomic_ulong syncfs_count;
/* Failed syncfs() calls so far: a message begun before one and committed
 * after it fails (syncfs reports an error of the file system once, to
 * whichever call sees it, maybe one that did not cover that message). */
static atomic_ulong sync_errors;
/* The fd syncfs() is called on: open for the life of the process, so
 * that it sees every write-back error since the first commit. */
static int syncfs_fd = -1;
static dev_t syncfs_dev;
static pthread_once_t syncfs_once = PTHREAD_ONCE_INIT;

static const char *err(const char *what, const char *path)
{
	snprintf(errbuf, sizeof(errbuf), "%s %s: %s", what, path,
		 strerror(errno));
	return errbuf;
}

const char *queue_dir(void)
{
	if (queue_dir_override != NULL)
		return queue_dir_override;
	if (queue_dir_cached == NULL)
		queue_dir_cached = instance_var_path("queue");
	return queue_dir_cached;
}

void queue_set_dir(const char *dir)
{
	x_free(queue_dir_override);
	x_free(queue_dir_cached);
	if (dir != NULL)
		queue_dir_override = xstrdup(dir);
}

static int mkdir_if_missing(const char *path, const char **error_r)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		*error_r = err("cannot create", path);
		return -1;
	}
	return 0;
}

int queue_init_dirs(const char **error_r)
{
	char *tmp = xasprintf("%s/tmp", queue_dir());
	char *msgs = xasprintf("%s/msgs", queue_dir());
	int ret = 0;

	if (mkdir_if_missing(queue_dir(), error_r) < 0 ||
	    mkdir_if_missing(tmp, error_r) < 0 ||
	    mkdir_if_missing(msgs, error_r) < 0)
		ret = -1;
	free(tmp);
	free(msgs);
	return ret;
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

bool queue_id_valid(const char *qid, time_t *secs_r)
{
	if (qid == NULL || strlen(qid) != QUEUE_ID_LEN ||
	    !hex_run(qid, 16) || qid[16] != '.' || !hex_run(qid + 17, 8) ||
	    qid[25] != '.' || !hex_run(qid + 26, 8))
		return false;
	if (secs_r != NULL)
		*secs_r = (time_t)strtoull(qid + 17, NULL, 16);
	return true;
}

static char *bucket_path(time_t secs)
{
	return xasprintf("%s/msgs/%" PRId64, queue_dir(),
			 (int64_t)(secs / QUEUE_BUCKET_SECS));
}

/* Whether a bucket's period is over, and the next one too: no submit
 * still makes messages for it, so it may go when empty.  The current
 * bucket stays even when empty, so that a quiet queue does not make,
 * fsync and remove a folder for every message. */
static bool bucket_is_old(uint64_t bucket_no, time_t now)
{
	return now > 0 && bucket_no + 1 < (uint64_t)now / QUEUE_BUCKET_SECS;
}

char *queue_path(const char *qid, char type)
{
	time_t secs;
	char *bucket, *path;

	if (!queue_id_valid(qid, &secs))
		return NULL;
	bucket = bucket_path(secs);
	path = xasprintf("%s/%c%s", bucket, type, qid);
	free(bucket);
	return path;
}

static int fsync_path(const char *path, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		*error_r = err("cannot open", path);
		return -1;
	}
	if (fsync(fd) < 0) {
		*error_r = err("cannot fsync", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int queue_new_begin(struct queue_new **new_r, const char **error_r)
{
	static atomic_uint counter;
	struct queue_new *qn;
	struct timespec ts;
	struct stat st;

	*new_r = NULL;
	qn = xcalloc(1, sizeof(*qn));
	qn->sync_errors = atomic_load(&sync_errors);
	clock_gettime(CLOCK_REALTIME, &ts);
	for (int tries = 0;; tries++) {
		unsigned int c = atomic_fetch_add(&counter, 1);

		qn->tmp_data = xasprintf("%s/tmp/%" PRId64 ".%ld.%u.D",
					 queue_dir(), (int64_t)ts.tv_sec,
					 (long)getpid(), c);
		qn->data_fd = open(qn->tmp_data,
				   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				   0640);
		if (qn->data_fd >= 0)
			break;
		if (errno == ENOENT && tries == 0 &&
		    queue_init_dirs(error_r) == 0) {
			x_free(qn->tmp_data);
			continue;
		}
		if (errno != EEXIST || tries > 100) {
			*error_r = err("cannot create", qn->tmp_data);
			free(qn->tmp_data);
			free(qn);
			return -1;
		}
		x_free(qn->tmp_data);
	}
	if (fstat(qn->data_fd, &st) < 0) {
		*error_r = err("cannot stat", qn->tmp_data);
		queue_new_abort(&qn);
		return -1;
	}
	/* The time is taken after the file exists: no other message can
	 * hold this inode at this nanosecond. */
	clock_gettime(CLOCK_REALTIME, &ts);
	qn->time = ts.tv_sec;
	snprintf(qn->qid, sizeof(qn->qid), "%016" PRIX64 ".%08" PRIX32
		 ".%08" PRIX32, (uint64_t)st.st_ino, (uint32_t)ts.tv_sec,
		 (uint32_t)ts.tv_nsec);
	qn->tmp_ctl = xasprintf("%s/tmp/%s.C", queue_dir(), qn->qid);
	*new_r = qn;
	return 0;
}

void queue_new_abort(struct queue_new **newp)
{
	struct queue_new *qn = *newp;

	if (qn == NULL)
		return;
	if (qn->data_fd >= 0)
		close(qn->data_fd);
	unlink(qn->tmp_data);
	unlink(qn->tmp_ctl);
	free(qn->tmp_data);
	free(qn->tmp_ctl);
	free(qn);
	*newp = NULL;
}

/* A new bucket gets the mode of msgs/ whatever the umask: with a
 * setgid, group-writable msgs/ (a queue group, doc/mta.md) every
 * submitter of the group can add to it. */
static void bucket_set_mode(const char *bucket)
{
	char *msgs = xasprintf("%s/msgs", queue_dir());
	struct stat st;

	if (stat(msgs, &st) == 0)
		(void)chmod(bucket, st.st_mode & 07777);
	free(msgs);
}

/* Links from into bucket as to, making the bucket when it is missing
 * (courierd may remove an empty bucket at any time).  Sets *made_r when
 * this call made the bucket. */
static int link_into_bucket(const char *bucket, const char *from,
			    const char *to, bool *made_r,
			    const char **error_r)
{
	for (int tries = 0; tries < 10; tries++) {
		if (link(from, to) == 0)
			return 0;
		if (errno == EACCES && tries < 9) {
			/* another submitter's bucket, its mode not set yet */
			usleep(2000);
			continue;
		}
		if (errno != ENOENT) {
			*error_r = err("cannot link", to);
			return -1;
		}
		if (mkdir(bucket, 0750) == 0) {
			*made_r = true;
			bucket_set_mode(bucket);
		} else if (errno != EEXIST) {
			*error_r = err("cannot create", bucket);
			return -1;
		}
	}
	*error_r = err("cannot link", to);
	return -1;
}

/* The syncs a group runs: 0 or an errno. */
static int sync_dir(const char *path)
{
	int e = 0, fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	return e;
}

#ifdef __linux__
static void syncfs_open(void)
{
	char *tmp = xasprintf("%s/tmp", queue_dir());

	struct stat st;

	syncfs_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (syncfs_fd >= 0 && fstat(syncfs_fd, &st) == 0)
		syncfs_dev = st.st_dev;
	else if (syncfs_fd >= 0) {
		close(syncfs_fd);
		syncfs_fd = -1;
	}
	free(tmp);
}

static int sync_fs(void)
{
	if (syncfs_fd < 0)
		return EBADF;
	if (syncfs(syncfs_fd) < 0) {
		int e = errno;

		atomic_fetch_add(&sync_errors, 1);
		return e;
	}
	return 0;
}
#else
static int sync_fs(void)
{
	return ENOSYS;
}
#endif

/* Runs op(path) after this thread's writes, sharing the work with
 * concurrent commits: a sync of the same key that started after our
 * writes were made covers them, so we wait for the next one to finish
 * instead of issuing our own.  N concurrent commits thus cost about one
 * sync instead of N.  Returns 0, or -1 with *error_r. */
static int group_run(struct group_sync *g, int64_t key, const char *path,
		     int (*op)(const char *path), const char **error_r)
{
	uint64_t need;
	int ret = 0;

	pthread_mutex_lock(&g->lock);
	/* Our writes are done: any sync started from now on covers them. */
	need = g->started + 1;
	for (;;) {
		if (g->done >= need) {
			if (g->done_key == key) {
				if (g->done_errno != 0) {
					errno = g->done_errno;
					*error_r = err("cannot sync", path);
					ret = -1;
				}
				break;
			}
			/* Another key's sync: we need one of ours. */
			need = g->started + 1;
		}
		if (!g->running) {
			uint64_t gen = ++g->started;
			int e;

			g->running = true;
			pthread_mutex_unlock(&g->lock);
			atomic_fetch_add(&g->count, 1);
			e = op(path);
			pthread_mutex_lock(&g->lock);
			g->running = false;
			g->done = gen;
			g->done_key = key;
			g->done_errno = e;
			pthread_cond_broadcast(&g->cond);
			continue;
		}
		pthread_cond_wait(&g->cond, &g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return ret;
}

unsigned long queue_group_fsyncs(void)
{
	return atomic_load(&group_dir.count);
}

unsigned long queue_group_syncfs(void)
{
	return atomic_load(&syncfs_count);
}

/* Whether the tmp/ files of qn can be made durable by syncfs() on
 * syncfs_fd: Linux, and the same file system (queue_set_dir() may have
 * moved the queue since the first commit). */
static bool syncfs_usable(struct queue_new *qn)
{
#ifdef __linux__
	struct stat st;

	pthread_once(&syncfs_once, syncfs_open);
	return syncfs_fd >= 0 && fstat(qn->data_fd, &st) == 0 &&
	       st.st_dev == syncfs_dev;
#else
	(void)qn;
	return false;
#endif
}

/* A commit waiting for the batch that covers it (batch_commit()). */
struct commit_req {
	struct queue_new *qn;
	const char *bucket, *data, *ctl;
	int64_t bucket_no;
	bool made;		/* its link made the bucket */
	bool linked;		/* both files are in the bucket */
	bool done;
	int ret;
	char error[1024];
	struct commit_req *next;
};

static pthread_mutex_t batch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t batch_cond = PTHREAD_COND_INITIALIZER;
static struct commit_req *batch_head, **batch_tail = &batch_head;
static bool batch_leader;

static void req_fail(struct commit_req *r, const char *error)
{
	r->ret = -1;
	snprintf(r->error, sizeof(r->error), "%s", error);
	if (r->linked) {
		unlink(r->ctl);
		unlink(r->data);
		r->linked = false;
	}
}

/* Commits a batch (run by its leader, without the lock): one syncfs()
 * for every tmp/ file of the batch, the links, one fsync of each bucket
 * (and of msgs/ when a link made a bucket). */
static void batch_run(struct commit_req *batch)
{
	const char *error = NULL;
	int e;

	atomic_fetch_add(&syncfs_count, 1);
	e = sync_fs();
	for (struct commit_req *r = batch; r != NULL; r = r->next) {
		if (e != 0) {
			errno = e;
			req_fail(r, err("cannot sync", r->qn->tmp_data));
		} else if (atomic_load(&sync_errors) != r->qn->sync_errors) {
			/* a write-back error since it was begun, maybe seen
			 * by a syncfs that did not cover it */
			errno = EIO;
			req_fail(r, err("cannot sync (a write-back error of "
					"the file system)", r->qn->tmp_data));
		} else if (link_into_bucket(r->bucket, r->qn->tmp_data,
					    r->data, &r->made, &error) < 0) {
			req_fail(r, error);
		} else if (link_into_bucket(r->bucket, r->qn->tmp_ctl, r->ctl,
					    &r->made, &error) < 0) {
			unlink(r->data);
			req_fail(r, error);
		} else {
			r->linked = true;
		}
	}
	for (struct commit_req *r = batch; r != NULL; r = r->next) {
		bool made = false;
		bool first = true;

		if (!r->linked)
			continue;
		/* the first linked one of its bucket syncs it for all */
		for (struct commit_req *o = batch; o != r; o = o->next)
			if (o->linked && o->bucket_no == r->bucket_no)
				first = false;
		if (!first)
			continue;
		for (struct commit_req *o = r; o != NULL; o = o->next)
			made = made || (o->linked && o->made &&
					o->bucket_no == r->bucket_no);
		e = 0;
		if (made) {
			char *msgs = xasprintf("%s/msgs", queue_dir());

			e = sync_dir(msgs);
			if (e != 0) {
				errno = e;
				error = err("cannot fsync", msgs);
			}
			free(msgs);
		}
		if (e == 0) {
			atomic_fetch_add(&group_dir.count, 1);
			e = sync_dir(r->bucket);
			if (e != 0) {
				errno = e;
				error = err("cannot fsync", r->bucket);
			}
		}
		for (struct commit_req *o = r; o != NULL; o = o->next) {
			if (o->linked && o->bucket_no == r->bucket_no) {
				if (e != 0)
					req_fail(o, error);
				else
					o->ret = 0;
			}
		}
	}
}

/* Group commit with a leader: the request joins the queue of waiting
 * commits; when no batch runs, the first waiter takes every request
 * queued so far (all written before) and commits them together, the
 * others wait for theirs to be done.  Returns 0, or -1 with *error_r. */
static int batch_commit(struct commit_req *req, const char **error_r)
{
	pthread_mutex_lock(&batch_lock);
	*batch_tail = req;
	batch_tail = &req->next;
	while (!req->done) {
		struct commit_req *batch;

		if (batch_leader) {
			pthread_cond_wait(&batch_cond, &batch_lock);
			continue;
		}
		batch_leader = true;
		batch = batch_head;
		batch_head = NULL;
		batch_tail = &batch_head;
		pthread_mutex_unlock(&batch_lock);
		batch_run(batch);
		pthread_mutex_lock(&batch_lock);
		for (struct commit_req *r = batch, *next; r != NULL;
		     r = next) {
			next = r->next;
			r->done = true;	/* r may be freed from here on */
		}
		batch_leader = false;
		pthread_cond_broadcast(&batch_cond);
	}
	pthread_mutex_unlock(&batch_lock);
	if (req->ret < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s", req->error);
		*error_r = errbuf;
	}
	return req->ret;
}

int queue_new_commit(struct queue_new **newp, const char *ctl_text,
		     size_t len, const char **error_r)
{
	struct queue_new *qn = *newp;
	char *bucket = bucket_path(qn->time);
	char *data = queue_path(qn->qid, 'D');
	char *ctl = queue_path(qn->qid, 'C');
	bool made = false;
	int fd = -1, ret = -1;

	/* 0660: the delivery modules append their status records, and
	 * courieresmtp runs as the queue's user and group, not root */
	fd = open(qn->tmp_ctl, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0) {
		*error_r = err("cannot create", qn->tmp_ctl);
		goto out;
	}
	/* whatever the umask (root's 022 would make it 0640) */
	if (fchmod(fd, 0660) < 0) {
		*error_r = err("cannot chmod", qn->tmp_ctl);
		goto out;
	}
	if (write_all(fd, ctl_text, len) < 0) {
		*error_r = err("cannot write", qn->tmp_ctl);
		goto out;
	}
	/* both files on disk before either is linked: a control file
	 * courierd can see always has its whole message */
	if (syncfs_usable(qn)) {
		struct commit_req req;

		memset(&req, 0, sizeof(req));
		req.qn = qn;
		req.bucket = bucket;
		req.data = data;
		req.ctl = ctl;
		req.bucket_no = (int64_t)(qn->time / QUEUE_BUCKET_SECS);
		ret = batch_commit(&req, error_r);
		goto out;
	}
	if (fsync(qn->data_fd) < 0) {
		*error_r = err("cannot fsync", qn->tmp_data);
		goto out;
	}
	if (fsync(fd) < 0) {
		*error_r = err("cannot fsync", qn->tmp_ctl);
		goto out;
	}
	if (link_into_bucket(bucket, qn->tmp_data, data, &made,
			     error_r) < 0)
		goto out;
	if (link_into_bucket(bucket, qn->tmp_ctl, ctl, &made,
			     error_r) < 0) {
		unlink(data);
		goto out;
	}
	if (made) {
		char *msgs = xasprintf("%s/msgs", queue_dir());
		int r = fsync_path(msgs, error_r);

		free(msgs);
		if (r < 0)
			goto fail_linked;
	}
	if (group_run(&group_dir, qn->time / QUEUE_BUCKET_SECS, bucket,
		      sync_dir, error_r) < 0)
		goto fail_linked;
	ret = 0;
	goto out;
fail_linked:
	unlink(ctl);
	unlink(data);
out:
	if (fd >= 0)
		close(fd);
	free(bucket);
	free(data);
	free(ctl);
	queue_new_abort(newp);
	return ret;
}

static int read_file(const char *path, struct str *out, size_t max,
		     const char **error_r)
{
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = err("cannot open", path);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = err("cannot read", path);
			close(fd);
			return -1;
		}
		if (str_len(out) + (size_t)n > max) {
			snprintf(errbuf, sizeof(errbuf), "%s: too large",
				 path);
			*error_r = errbuf;
			close(fd);
			return -1;
		}
		str_append_n(out, buf, (size_t)n);
	}
	close(fd);
	return 1;
}

int queue_ctl_read(const char *qid, struct ctl_file **ctl_r,
		   const char **error_r)
{
	char *path = queue_path(qid, 'C');
	struct str text;
	int ret;

	*ctl_r = NULL;
	if (path == NULL) {
		*error_r = "not a queue id";
		return -1;
	}
	str_init(&text, 4096);
	ret = read_file(path, &text, CTLFILE_DEFAULT_MAX_SIZE, error_r);
	if (ret > 0 && ctl_parse(str_c(&text), str_len(&text), NULL, ctl_r,
				 error_r) < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s: %s", path, *error_r);
		*error_r = errbuf;
		ret = -1;
	}
	str_free(&text);
	free(path);
	return ret;
}

static int ctl_append(const char *qid, const char *text, size_t len,
		      bool sync, const char **error_r)
{
	char *path = queue_path(qid, 'C');
	int fd, ret = -1;

	if (path == NULL) {
		*error_r = "not a queue id";
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		*error_r = err("cannot open", path);
		free(path);
		return -1;
	}
	if (write_all(fd, text, len) < 0)
		*error_r = err("cannot write", path);
	else if (sync && fdatasync(fd) < 0)
		*error_r = err("cannot fsync", path);
	else
		ret = 0;
	close(fd);
	free(path);
	return ret;
}

int queue_ctl_append(const char *qid, const char *text, size_t len,
		     const char **error_r)
{
	return ctl_append(qid, text, len, true, error_r);
}

int queue_ctl_append_nosync(const char *qid, const char *text, size_t len,
			    const char **error_r)
{
	return ctl_append(qid, text, len, false, error_r);
}

int queue_remove(const char *qid, const char **error_r)
{
	char *ctl = queue_path(qid, 'C'), *data = queue_path(qid, 'D');
	time_t secs;
	int ret = 0;

	if (ctl == NULL || data == NULL) {
		*error_r = "not a queue id";
		free(ctl);
		free(data);
		return -1;
	}
	if (unlink(ctl) < 0 && errno != ENOENT) {
		*error_r = err("cannot remove", ctl);
		ret = -1;
	} else if (unlink(data) < 0 && errno != ENOENT) {
		*error_r = err("cannot remove", data);
		ret = -1;
	} else {
		char *bucket;

		queue_id_valid(qid, &secs);
		/* An old bucket goes with its last message (rmdir fails
		 * while others are in it: fine); the current ones stay, and
		 * queue_clean_stale() removes them once old and empty. */
		if (bucket_is_old((uint64_t)secs / QUEUE_BUCKET_SECS,
				  time(NULL))) {
			bucket = bucket_path(secs);
			(void)rmdir(bucket);
			free(bucket);
		}
	}
	free(ctl);
	free(data);
	return ret;
}

off_t queue_data_size(const char *qid)
{
	char *path = queue_path(qid, 'D');
	struct stat st;
	int r;

	if (path == NULL)
		return -1;
	r = stat(path, &st);
	free(path);
	return r < 0 ? -1 : st.st_size;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The buckets of msgs/, as numbers, sorted. */
static int list_buckets(uint64_t **buckets_r, size_t *count_r,
			const char **error_r)
{
	char *msgs = xasprintf("%s/msgs", queue_dir());
	DIR *dir = opendir(msgs);
	struct dirent *de;
	uint64_t *v = NULL;
	size_t count = 0, alloc = 0;

	if (dir == NULL) {
		*error_r = err("cannot read", msgs);
		free(msgs);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		const char *p = de->d_name;
		char *end;
		unsigned long long b;

		if (*p < '0' || *p > '9')
			continue;
		errno = 0;
		b = strtoull(p, &end, 10);
		if (*end != '\0' || errno != 0)
			continue;
		if (count == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			v = xreallocarray(v, alloc, sizeof(*v));
		}
		v[count++] = b;
	}
	closedir(dir);
	free(msgs);
	if (count > 1)
		qsort(v, count, sizeof(*v), cmp_u64);
	*buckets_r = v;
	*count_r = count;
	return 0;
}

int queue_scan(queue_scan_callback_t *callback, void *context,
	       const char **error_r)
{
	uint64_t *buckets;
	size_t count;
	int ret = 0;

	if (list_buckets(&buckets, &count, error_r) < 0)
		return -1;
	for (size_t i = 0; i < count && ret == 0; i++) {
		char *path = xasprintf("%s/msgs/%" PRIu64, queue_dir(),
				       buckets[i]);
		DIR *dir = opendir(path);
		struct dirent *de;

		if (dir == NULL) {
			free(path);
			continue; /* removed meanwhile */
		}
		while ((de = readdir(dir)) != NULL) {
			if (de->d_name[0] != 'C' ||
			    !queue_id_valid(de->d_name + 1, NULL))
				continue;
			if (callback(de->d_name + 1, context) != 0) {
				ret = 1;
				break;
			}
		}
		closedir(dir);
		free(path);
	}
	free(buckets);
	return 0;
}

static unsigned int clean_dir(const char *path, time_t max_age,
			      bool data_only)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	unsigned int removed = 0;
	time_t now = time(NULL);

	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		char *file;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (data_only) {
			char *ctl;
			bool orphan;

			if (de->d_name[0] != 'D' ||
			    !queue_id_valid(de->d_name + 1, NULL))
				continue;
			ctl = queue_path(de->d_name + 1, 'C');
			orphan = access(ctl, F_OK) < 0 && errno == ENOENT;
			free(ctl);
			if (!orphan)
				continue;
		}
		file = xasprintf("%s/%s", path, de->d_name);
		if (lstat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime + max_age < now && unlink(file) == 0)
			removed++;
		free(file);
	}
	closedir(dir);
	return removed;
}

unsigned int queue_clean_stale(time_t max_age)
{
	char *tmp = xasprintf("%s/tmp", queue_dir());
	unsigned int removed = clean_dir(tmp, max_age, false);
	uint64_t *buckets;
	size_t count;
	const char *error;

	free(tmp);
	if (list_buckets(&buckets, &count, &error) < 0)
		return removed;
	for (size_t i = 0; i < count; i++) {
		char *path = xasprintf("%s/msgs/%" PRIu64, queue_dir(),
				       buckets[i]);

		removed += clean_dir(path, max_age, true);
		if (bucket_is_old(buckets[i], time(NULL)))
			(void)rmdir(path);
		free(path);
	}
	free(buckets);
	return removed;
}

char *queue_trigger_path(void)
{
	return xasprintf("%s/trigger", queue_dir());
}

int queue_trigger(const char *line, const char **error_r)
{
	char *path = queue_trigger_path();
	struct str buf;
	int fd, ret = 1;

	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENXIO || errno == ENOENT ? 0 : -1;
		if (ret < 0)
			*error_r = err("cannot open", path);
		free(path);
		return ret;
	}
	str_init(&buf, 64);
	str_append(&buf, line);
	str_append_c(&buf, '\n');
	/* Up to PIPE_BUF bytes go in whole or not at all. */
	if (write(fd, str_c(&buf), str_len(&buf)) < 0) {
		if (errno == EAGAIN || errno == EPIPE)
			ret = 0;
		else {
			*error_r = err("cannot write", path);
			ret = -1;
		}
	}
	str_free(&buf);
	close(fd);
	free(path);
	return ret;
}
