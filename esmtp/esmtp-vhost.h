/* esmtp-vhost.h: esmtpd's per-address names (courier(8), "Servers with
 * multiple IP addresses"): when etc/vhost.ADDRESS exists for the local
 * address a client connected to, me.ADDRESS and esmtpgreeting.ADDRESS
 * are used instead of me and esmtpgreeting for that session (the name
 * in the EHLO/HELO reply and the 220 greeting).
 *
 * The files are looked up when asked (a stat of vhost.ADDRESS; the
 * others are read only for such an address), so changes apply to the
 * next session without a reload. */
#ifndef ESMTP_VHOST_H
#define ESMTP_VHOST_H

/* The server's name for a session on local_ip (printable, may be NULL):
 * me.LOCAL_IP's first line when vhost.LOCAL_IP exists (or, without
 * me.LOCAL_IP, me), else NULL: use the default name.  Caller frees. */
char *esmtp_vhost_me(const char *local_ip);

/* The greeting text (after "220 ", lines separated by LF) for a session
 * on local_ip: esmtpgreeting.LOCAL_IP when vhost.LOCAL_IP and that file
 * exist, else NULL: use the default greeting.  Caller frees. */
char *esmtp_vhost_greeting(const char *local_ip);

#endif
