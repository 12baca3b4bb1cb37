# bench/postfix-instance.sh: a private Postfix instance for the benchmarks
# (sourced by bash, after bench/lib.sh).
#
#   postfix_instance_create DIR PORT DOMAIN ACCOUNTS UID GID DURABLE
#       makes a Postfix instance in DIR (DIR/etc: main.cf, master.cf and
#       the mailbox table; DIR/queue; DIR/vmail/DOMAIN/uN/Maildir/ for
#       N = 0..ACCOUNTS-1, owned by UID:GID), its SMTP server on
#       127.0.0.1:PORT, delivering uN@DOMAIN with virtual(8) to Maildir.
#       DURABLE=1 sets the dirsync attribute (chattr +D) on DIR first,
#       which every folder made under it inherits (see below).
#   postfix_instance_start DIR / postfix_instance_stop DIR
#       starts / stops its master (postfix -c DIR/etc start|stop)
#   postfix_instance_pid DIR
#       the pid of its master process
#   postfix_instance_sendmail DIR ARGS...
#       Postfix's sendmail for that instance
#
# It never touches /etc/postfix or the system's queue: the instance is only
# known through its config folder (MAIL_CONFIG / -c), which is allowed
# because the benchmarks run as root.
#
# Durability.  Postfix's cleanup(8) fsyncs the queue file before smtpd
# says 250 (and postdrop fsyncs the maildrop file before sendmail exits);
# virtual(8) fsyncs the Maildir file before it links it into new/.
# Postfix never fsyncs a folder: it relies on the file system to make the
# name of a renamed or linked file durable (its documentation recommends
# "chattr +S" on the queue for Linux file systems that do not).  The root
# file system here is ext4 without a journal, where a name is not durable
# until its folder is written back.  So DURABLE=1 gives the instance the
# dirsync attribute: every change to a folder under DIR (create, rename,
# link, unlink) is written synchronously, and an acknowledged message is
# on disk by name, as the suite's queue guarantees with its folder fsync.
# DURABLE=0 is Postfix as Debian ships it.

postfix_instance_create() {
	local dir=$1 port=$2 domain=$3 accounts=$4 uid=$5 gid=$6 durable=$7
	local i home
	mkdir -p "$dir"
	if [ "$durable" = 1 ]; then
		chattr +D "$dir" || {
			echo "bench: chattr +D $dir failed" >&2
			return 1
		}
	fi
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/vmail/$domain"
	chown postfix "$dir/data"
	cat >"$dir/etc/main.cf" <<EOF
# main.cf of a benchmark instance (bench/postfix-instance.sh)
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.$domain
mydomain = $domain
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
biff = no
alias_maps =
alias_database =
append_dot_mydomain = no
virtual_mailbox_domains = $domain
virtual_mailbox_base = $dir/vmail
virtual_mailbox_maps = texthash:$dir/etc/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = 1
# room for the idle-connection measure (1,000 sessions from 127.0.0.1)
smtpd_client_connection_count_limit = 0
default_process_limit = 100
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
EOF
	# Debian's master.cf with every service out of chroot (a chroot would
	# need a copy of /etc in the queue), the SMTP listener on PORT with
	# room for 1,100 sessions, and the postlog service for maillog_file.
	{
		echo "127.0.0.1:$port inet n - n - 1100 smtpd"
		grep -v '^#' /etc/postfix/master.cf.proto |
			sed -e '/^smtp  *inet/d' -e '/^  *flags=/d' \
			    -e '/^  *-o /d' -e '/^\s*$/d' |
			awk '$1 !~ /^(maildrop|uucp|ifmail|bsmtp|scalemail-backend|mailman)$/ {
				if (NF >= 8) $5 = "n"; print }'
	} >"$dir/etc/master.cf"
	: >"$dir/etc/vmailbox"
	for ((i = 0; i < accounts; i++)); do
		home=$dir/vmail/$domain/u$i/Maildir
		mkdir -p "$home/tmp" "$home/new" "$home/cur"
		printf 'u%d@%s %s/u%d/Maildir/\n' "$i" "$domain" "$domain" "$i" \
			>>"$dir/etc/vmailbox"
	done
	chown -R "$uid:$gid" "$dir/vmail/$domain"
	MAIL_CONFIG=$dir/etc postfix -c "$dir/etc" check >/dev/null 2>&1 || {
		echo "bench: postfix -c $dir/etc check failed (run it on a" \
			"terminal to see why)" >&2
		return 1
	}
}

postfix_instance_start() {
	MAIL_CONFIG=$1/etc postfix -c "$1/etc" start >/dev/null 2>&1 || {
		echo "bench: postfix -c $1/etc start failed" >&2
		MAIL_CONFIG=$1/etc postfix -c "$1/etc" start
		return 1
	}
	local i
	for ((i = 0; i < 50; i++)); do
		[ -s "$1/queue/pid/master.pid" ] && return 0
		sleep 0.1
	done
	echo "bench: postfix master did not start" >&2
	return 1
}

postfix_instance_pid() {
	tr -d ' \n' <"$1/queue/pid/master.pid"
}

postfix_instance_stop() {
	[ -s "$1/queue/pid/master.pid" ] || return 0
	MAIL_CONFIG=$1/etc postfix -c "$1/etc" stop >/dev/null 2>&1 || true
}

postfix_instance_sendmail() {
	local dir=$1
	shift
	MAIL_CONFIG=$dir/etc /usr/sbin/sendmail -C "$dir/etc" "$@"
}
