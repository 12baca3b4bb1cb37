/* daemon.h: the daemon skeleton, written once (STYLE.md item 12).
 *
 * Every daemon of the suite starts the same way:
 *
 *   1. parse options, load the config, bind its ports (listen.h): errors
 *      still reach the terminal;
 *   2. daemon_pidfile_create(): refuses to start twice;
 *   3. daemon_detach() (unless told to stay in the foreground), then
 *      daemon_pidfile_update() and daemon_stdio_null();
 *   4. daemon_drop_privileges() before the first byte from a client;
 *   5. optionally daemon_supervise(): the process stays as a supervisor
 *      that restarts the worker when it dies ("a daemon that dies is
 *      restarted and loses no mail");
 *   6. ioloop_run(); on SIGTERM stop, daemon_pidfile_remove().
 *
 * Results follow the house rule: -1 error, 0/1 as documented, with
 * error_r set on failure.  Error strings live in a static buffer that the
 * next daemon_* call may overwrite. */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

struct daemon_pidfile;

/* Creates (or takes over) the pid file at path, locks it for the life of
 * the process (flock, kept by children through fork) and writes our pid.
 * Returns 1 and *pf_r on success; 0 when a live process holds the lock
 * (error_r "PATH: already running as pid N"); -1 on other errors. */
int daemon_pidfile_create(const char *path, struct daemon_pidfile **pf_r,
			  const char **error_r);
/* Rewrites the pid (after daemon_detach() or daemon_supervise() changed
 * which process is the daemon) and makes this process the owner.
 * Returns 0 or -1. */
int daemon_pidfile_update(struct daemon_pidfile *pf, const char **error_r);
/* In the owner process: unlinks the file; in any process: closes it and
 * frees the handle.  Sets *pf to NULL. */
void daemon_pidfile_remove(struct daemon_pidfile **pf);
/* The pid stored in the file at path when a live process holds its lock;
 * 0 when none does (no file, stale file); -1 on errors. */
pid_t daemon_pidfile_read(const char *path);

/* Goes to the background: forks twice (the caller's process exits with
 * status 0, the daemon is not a session leader and has no controlling
 * terminal), starts a new session and changes to "/".  Returns 0 in the
 * daemon, -1 with error_r if a fork failed (nothing changed then). */
int daemon_detach(const char **error_r);

/* Points stdin and stdout (and stderr unless keep_stderr) at /dev/null,
 * and makes sure fds 0, 1 and 2 are open, so that a later socket never
 * becomes fd 2 and receives log lines.  Returns 0 or -1. */
int daemon_stdio_null(bool keep_stderr, const char **error_r);

/* Switches for good to a user and group: supplementary groups (the
 * user's, from initgroups()), then real, effective and saved gid, then
 * uid; then checks that root cannot be regained.  user is a name or a
 * numeric uid; group is NULL (the user's primary group), a name or a
 * numeric gid.  Returns 1 when switched; 0 when not running as root
 * (nothing changed: the caller keeps its own uid); -1 with error_r on
 * failure (unknown user, uid 0 asked for, a failed call).  After -1 from
 * a failed call the process is in an unknown state and must exit. */
int daemon_drop_privileges(const char *user, const char *group,
			   const char **error_r);
/* The same with ids, for delivery to an account looked up elsewhere.
 * user_name names the user whose supplementary groups to take; NULL
 * keeps gid as the only group. */
int daemon_drop_privileges_id(uid_t uid, gid_t gid, const char *user_name,
			      const char **error_r);
/* The same with the supplementary groups given: exactly groups[0..n-1]
 * (n == 0: gid alone), whatever /etc/group says; a daemon that needs a
 * group besides gid that initgroups() would not give (the user's primary
 * group when /etc/group does not list the user in it).  Group 0 in the
 * list is refused (-1, nothing changed), as uid 0 is.  Returns as
 * daemon_drop_privileges_id(). */
int daemon_drop_privileges_groups(uid_t uid, gid_t gid, const gid_t *groups,
				  size_t ngroups, const char **error_r);

struct daemon_supervise_settings {
	unsigned int min_backoff_msecs;	/* first restart delay; 0 = 1000 */
	unsigned int max_backoff_msecs;	/* doubling stops here; 0 = 60000 */
	/* A worker that lived this long restarts without delay, and the
	 * backoff starts over; 0 = 10000. */
	unsigned int stable_msecs;
	/* After forwarding SIGTERM, SIGKILL the worker after; 0 = 10000. */
	unsigned int stop_timeout_msecs;
};

/* Becomes a supervisor: forks a worker and restarts it whenever it dies
 * by a signal or exits non-zero (with a backoff that doubles while
 * workers die young).  SIGHUP is passed on to the worker; SIGTERM or
 * SIGINT is passed on, waited for (SIGKILL after stop_timeout) and ends
 * supervision.  A worker exiting with status 0 ends it too.
 *
 * Returns 0 in each worker (which goes on to be the daemon, with the
 * signal mask of the caller and SIGTERM sent to it if the supervisor
 * dies); 1 in the supervisor when supervision ends (the caller cleans up
 * and exits); -1 with error_r if the first fork failed.  Call it before
 * creating an ioloop; set may be NULL.  Listening sockets opened before
 * are inherited by every worker. */
int daemon_supervise(const struct daemon_supervise_settings *set,
		     const char **error_r);

#endif
