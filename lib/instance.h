/* instance.h: where an instance's files are.
 *
 * An instance is an install tree (DESIGN.md): bin/, sbin/, etc/ (control
 * files), var/ (queue, sockets, pids, logs), share/ (templates).  The
 * paths are those given to configure; the environment variable
 * COURIER_INSTANCE=/path names another instance's root instead, whose
 * etc/ and var/ are then used (tests run many instances from one build). */
#ifndef INSTANCE_H
#define INSTANCE_H

const char *instance_etcdir(void);
const char *instance_vardir(void);
const char *instance_bindir(void);
const char *instance_sbindir(void);
const char *instance_libexecdir(void);
const char *instance_datadir(void);
/* "etcdir/name" and "vardir/name", newly allocated (caller frees). */
char *instance_etc_path(const char *name);
char *instance_var_path(const char *name);
/* The suite's program REL ("sbin/esmtpd", "bin/maildrop",
 * "libexec/courier/mailfilterexec") of the install tree this process runs
 * from: LEVELS folders above the folder of /proc/self/exe (1 for a
 * program in bin/ or sbin/, 3 in libexec/courier/modules/), so that an
 * install moved to another prefix (a test's) finds its own programs;
 * when it is not there, the configured BINDIR, SBINDIR or LIBEXECDIR
 * (else PREFIX) path.  Newly allocated (caller frees); the file may not
 * exist. */
char *instance_program(int levels, const char *rel);
/* Forgets cached paths (after COURIER_INSTANCE changed, in tests). */
void instance_reset(void);

#endif
