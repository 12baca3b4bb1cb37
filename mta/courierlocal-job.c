/* courierlocal-job.c: one local delivery job: the P records, each
 * recipient as its account, forwards, and the status records. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "courierlocal.h"
#include "maildropfilter.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "submit.h"

static void deliver_rcpt(const char *qid, const struct ctl_file *ctl,
			 const char *key, size_t rn, int data_fd,
			 struct outcome *o)
{
	struct auth_record rec;
	struct delivery dl;
	const char *error;
	char *ext, *akey = NULL, *dotfile = NULL, *maildrop = NULL;
	char *sender;
	const char *address = ctl->rcpts[rn].address;
	int r;

	/* the envelope sender of this delivery: with VERP, the recipient's
	 * own (ctlfile.h) */
	if (ctl->verp && *ctl->sender != '\0') {
		struct str v;

		str_init(&v, 256);
		ctl_verp_sender(&v, ctl->sender, address);
		sender = str_steal(&v);
	} else {
		sender = xstrdup(ctl->sender);
	}
	auth_record_init(&rec);
	{
		struct aliases_db *adb = aliases_default_db();

		akey = adb == NULL ? NULL : aliases_self_key(adb, address,
			aliases_is_local_domain);
	}
	if (akey != NULL)
		r = alias_account(akey, &rec, &ext, &error);
	else
		r = lookup(key, &rec, &ext, &error);
	if (r < 0) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 account lookup failed "
		       "(%s)", error);
		goto out;
	}
	if (r == 0 && akey == NULL) {
		free(ext);
		ext = NULL;
		r = aliasdir_account(key, &rec, &ext);
		if (ext == NULL)
			ext = xstrdup("");
	}
	if (r == 0) {
		result(o, CTL_STATUS_FAILED, "550 5.1.1 <%s>: unknown user",
		       address);
		goto out;
	}
	if (!rec.has_uid || (rec.uid == 0 && geteuid() == 0)) {
		result(o, CTL_STATUS_DEFERRED, "4.3.0 <%s>: the account has "
		       "uid 0: delivery as root is refused (give it a mail "
		       "user)", address);
		goto out;
	}
	if (is_loop(data_fd, address)) {
		result(o, CTL_STATUS_FAILED, "550 5.4.6 <%s>: mail loop "
		       "(Delivered-To: already present)", address);
		goto out;
	}
	memset(&dl, 0, sizeof(dl));
	dl.qid = qid;
	dl.sender = sender;
	dl.address = address;
	dl.ext = ext;
	if (akey != NULL) {
		dotfile = aliases_dotfile_name(akey);
		dl.dotfile = dotfile;
	} else {
		/* PREFIX/libexec/courier/modules/courierlocal */
		maildrop = maildropfilter_program(3);
		dl.maildrop = maildrop;
	}
	dl.rec = &rec;
	dl.data_fd = data_fd;
	dl.rcpt_no = (unsigned int)rn;
	dl.dynamic = dynamic_allowed();
	/* P records of earlier attempts (ours is not in ctl) */
	dl.retry = ctl->rcpts[rn].started > 0;
	str_init(&dl.prefix, 256);
	str_printfa(&dl.prefix, "Return-Path: <%s>\nDelivered-To: %s\n",
		    sender, address);
	str_init(&dl.forwards, 256);
	{
		struct outcome uo = { CTL_STATUS_NONE, NULL, false };
		struct str reply;
		int sw = account_enter(&rec, &error);

		if (sw < 0) {
			result(&uo, CTL_STATUS_DEFERRED, "4.3.0 cannot switch "
			       "to uid %lu: %s", (unsigned long)rec.uid,
			       error);
		} else if (chdir(rec.home) < 0) {
			result(&uo, CTL_STATUS_DEFERRED, "4.3.0 %s: %s",
			       rec.home, strerror(errno));
		} else {
			deliver_as_user(&dl, &uo);
		}
		if (sw != 0 && account_leave(&error) < 0) {
			/* never go on half the account's */
			log_error("%s: %s", qid, error);
			_exit(1);
		}
		if (chdir("/") < 0)
			log_error("chdir /: %s", strerror(errno));
		if (dl.want_maildrop && uo.status == CTL_STATUS_NONE)
			uo.status = STATUS_MAILDROP;
		/* the outcome as one text: status, whether it is unsafe to
		 * retry, the diagnostic, then the addresses to forward to,
		 * one a line */
		str_init(&reply, 256);
		str_printfa(&reply, "%d %d %s\n%s", (int)uo.status,
			    uo.unsafe ? 1 : 0, uo.diag != NULL ? uo.diag : "",
			    str_c(&dl.forwards));
		free(uo.diag);
		{
			char **lines = str_split(str_c(&reply), "\n");
			int st = atoi(lines[0]);
			const char *diag = strchr(lines[0], ' ');
			size_t nfwd = 0;

			if (diag != NULL) {
				if (diag[1] == '1')
					o->unsafe = true;
				diag = strchr(diag + 1, ' ');
			}

			for (size_t i = 1; lines[i] != NULL; i++)
				nfwd++;
			if (nfwd > 0 && st != CTL_STATUS_DEFERRED &&
			    st != CTL_STATUS_FAILED) {
				/* forward a copy, same sender (the VERP
				 * one: its bounces name this recipient) */
				struct submit_options so = {
					.sender = sender,
					.source = "local",
					.protocol = "local",
					.uid = rec.uid,
				};
				struct submit *s = submit_begin(&so, &error);
				char fq[QUEUE_ID_LEN + 1];

				o->unsafe = true;
				for (size_t i = 1; s != NULL &&
				     lines[i] != NULL; i++)
					(void)submit_add_rcpt(s, lines[i], 0,
							      NULL, &error);
				if (s != NULL) {
					struct str hdr;
					char b[65536];
					ssize_t n;

					str_init(&hdr, 128);
					str_printfa(&hdr, "Delivered-To: %s\n",
						    address);
					submit_write(s, str_c(&hdr),
						     str_len(&hdr));
					str_free(&hdr);
					(void)lseek(data_fd, 0, SEEK_SET);
					while ((n = read(data_fd, b,
							 sizeof(b))) > 0)
						submit_write(s, b, (size_t)n);
				}
				if (s == NULL ||
				    submit_finish(&s, fq, &error) < 0) {
					result(o, *error == '5' ?
					       CTL_STATUS_FAILED :
					       CTL_STATUS_DEFERRED,
					       "%s (forwarding)", error);
				} else if (st == CTL_STATUS_NONE) {
					result(o, CTL_STATUS_DELIVERED, "250 "
					       "2.0.0 forwarded as %s", fq);
				}
			}
			if (st == STATUS_MAILDROP)
				deliver_maildrop(&dl, o);
			else if (st == CTL_STATUS_DELIVERED ||
			    st == CTL_STATUS_FAILED ||
			    st == CTL_STATUS_DEFERRED)
				result(o, (enum ctl_status)st, "%s",
				       diag != NULL ? diag + 1 : "");
			else if (o->status == CTL_STATUS_NONE)
				result(o, CTL_STATUS_DELIVERED,
				       "250 2.0.0 nothing to deliver");
			str_split_free(&lines);
		}
		str_free(&reply);
	}
	str_free(&dl.prefix);
	str_free(&dl.forwards);
out:
	free(ext);
	free(akey);
	free(dotfile);
	free(maildrop);
	free(sender);
	auth_record_free(&rec);
}

/* One job: "delid qid host n addr [n addr...]" split at tabs.  Returns
 * when the outcomes are recorded, everything it took closed and freed
 * (the worker goes on to the next job); exits the process (status 1)
 * when they cannot be recorded. */
void run_job(char **f, size_t count)
{
	const char *qid = f[1], *key = f[2];
	char *ctlpath = queue_path(qid, 'C'), *datapath = queue_path(qid, 'D');
	struct ctl_file *ctl = NULL;
	struct str rec;
	const char *error;
	size_t *undone, nundone = 0;
	bool sync = false;
	int lockfd, datafd;

	if (ctlpath == NULL || datapath == NULL)
		_exit(1);
	lockfd = open(ctlpath, O_RDONLY | O_CLOEXEC);
	if (lockfd < 0) {
		/* gone: nothing to do */
		free(ctlpath);
		free(datapath);
		return;
	}
	while (flock(lockfd, LOCK_EX) < 0 && errno == EINTR)
		;
	if (queue_ctl_read(qid, &ctl, &error) <= 0) {
		close(lockfd);	/* and with it the lock */
		free(ctlpath);
		free(datapath);
		return;
	}
	datafd = open(datapath, O_RDONLY | O_CLOEXEC);
	str_init(&rec, 256);
	undone = xcalloc(count, sizeof(*undone));
	for (size_t i = 3; i + 1 < count; i += 2) {
		char *end;
		unsigned long n = strtoul(f[i], &end, 10);

		if (*end != '\0' || n >= ctl->rcpt_count ||
		    strcmp(ctl->rcpts[n].address, f[i + 1]) != 0) {
			log_error("%s: delivery of unknown recipient %s",
				  qid, f[i]);
			continue;
		}
		if (ctl->rcpts[n].status == CTL_STATUS_DELIVERED ||
		    ctl->rcpts[n].status == CTL_STATUS_FAILED)
			continue; /* done by an earlier run */
		undone[nundone++] = n;
		ctl_write_started(&rec, n, time(NULL));
	}
	/* the P records are on disk before any copy is made: if this
	 * process dies before its outcome is written, the retry knows to
	 * look for the copies it may have made */
	if (nundone > 0 &&
	    queue_ctl_append(qid, str_c(&rec), str_len(&rec), &error) < 0) {
		log_error("%s: %s", qid, error);
		_exit(1);
	}
	str_clear(&rec);
	for (size_t i = 0; i < nundone; i++) {
		size_t n = undone[i];
		struct outcome o = { CTL_STATUS_NONE, NULL, false };
		struct ctl_rcpt *r = &ctl->rcpts[n];

		if (datafd < 0)
			result(&o, CTL_STATUS_DEFERRED, "4.3.0 cannot open "
			       "the data file: %s", strerror(errno));
		else
			deliver_rcpt(qid, ctl, key, n, datafd, &o);
		if (o.status == CTL_STATUS_NONE)
			result(&o, CTL_STATUS_DEFERRED, "4.3.0 not delivered");
		log_info("%s: <%s> %s: %s", qid, r->address,
			 o.status == CTL_STATUS_DELIVERED ? "delivered" :
			 o.status == CTL_STATUS_FAILED ? "failed" : "deferred",
			 o.diag);
		ctl_write_status(&rec, n, o.status,
				 o.status == CTL_STATUS_DELIVERED ? 'l' : 0,
				 time(NULL), o.diag);
		if (o.unsafe || o.status != CTL_STATUS_DELIVERED)
			sync = true;
		free(o.diag);
	}
	/* Maildir copies only: a lost S record is repaired by the retry
	 * (the P record is durable, the copy is found by its name), so it
	 * needs no fdatasync of its own */
	if (str_len(&rec) > 0 &&
	    (sync ? queue_ctl_append(qid, str_c(&rec), str_len(&rec), &error) :
	     queue_ctl_append_nosync(qid, str_c(&rec), str_len(&rec),
				     &error)) < 0) {
		log_error("%s: %s", qid, error);
		_exit(1);
	}
	str_free(&rec);
	free(undone);
	ctl_file_free(&ctl);
	if (datafd >= 0)
		close(datafd);
	close(lockfd);		/* the lock goes last, after the records */
	free(ctlpath);
	free(datapath);
}
