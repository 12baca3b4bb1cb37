/* maildropfilter.h: etc/maildropfilter, the control file that turns local
 * mail filtering on (the seed manual page; localmailfilter(7)): whether
 * it is there, and the maildrop it names.  Read by courierlocal (the
 * accounts' mail through maildrop) and by esmtpd's filter helper
 * mailfilterexec (rcptfilter, smtpfilter). */
#ifndef MAILDROPFILTER_H
#define MAILDROPFILTER_H

/* The maildrop to run when etc/maildropfilter exists: its first line when
 * that is an absolute path, else the suite's own bin/maildrop of the
 * install the calling program runs from, LEVELS folders above its own
 * (instance_program()).  NULL when the file does not exist: no
 * filtering.  Caller frees. */
char *maildropfilter_program(int levels);

#endif
