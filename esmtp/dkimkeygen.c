/* dkimkeygen.c: courier-dkimkeygen, makes a DKIM key pair for a domain in
 * the instance (etc/dkim/DOMAIN.SELECTOR.key, etc/dkim/selectors) and
 * prints the TXT record to publish. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "esmtp-private.h"
#include "instance.h"
#include "mem.h"
#include "pubkey.h"
#include "str.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: courier-dkimkeygen [-t rsa|ed25519] [-b bits] "
		"[-s selector] [-f] domain\n"
		"       courier-dkimkeygen -p domain\n");
	exit(2);
}

static bool name_ok(const char *s, bool dots)
{
	if (*s == '\0' || *s == '.' || *s == '-' || strlen(s) > 63 * 4)
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || (dots && *s == '.')))
			return false;
	}
	return true;
}

/* The TXT record for key, in zone file syntax, strings of at most 255. */
static void print_record(const char *domain, const char *selector,
			 const struct pubkey_private *key)
{
	struct str p, b64, rec;

	str_init(&p, 600);
	str_init(&b64, 800);
	str_init(&rec, 900);
	pubkey_private_public_append(key, &p);
	base64_encode(&b64, p.data, p.len, 0);
	str_printfa(&rec, "v=DKIM1; k=%s; p=%s",
		    pubkey_type_name(pubkey_private_get_type(key)),
		    str_c(&b64));
	printf("%s._domainkey.%s. IN TXT (", selector, domain);
	for (size_t i = 0; i < rec.len; i += 250) {
		size_t n = rec.len - i < 250 ? rec.len - i : 250;

		printf("\n\t\"%.*s\"", (int)n, rec.data + i);
	}
	printf(" )\n");
	str_free(&p);
	str_free(&b64);
	str_free(&rec);
}

/* Gives path to the owner of var/queue (esmtpd runs as it) when root. */
static void give_to_mail_user(const char *path)
{
	struct stat st;
	char *q = instance_var_path("queue");

	if (geteuid() == 0 && stat(q, &st) == 0 &&
	    chown(path, st.st_uid, st.st_gid) < 0)
		fprintf(stderr, "courier-dkimkeygen: chown %s: %s\n", path,
			strerror(errno));
	free(q);
}

/* Sets domain's line in the selectors file (rewritten whole). */
static int set_selector(const char *dir, const char *domain,
			const char *selector)
{
	char *path = xasprintf("%s/selectors", dir);
	char *tmp = xasprintf("%s/selectors.tmp", dir);
	struct str out;
	FILE *f = fopen(path, "r");
	char line[1024];
	int ret = 0;

	str_init(&out, 1024);
	if (f == NULL && errno != ENOENT) {
		fprintf(stderr, "courier-dkimkeygen: %s: %s\n", path,
			strerror(errno));
		ret = -1;
		goto out;
	}
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(domain);

		if (strncasecmp(line, domain, n) == 0 &&
		    (line[n] == ' ' || line[n] == '\t'))
			continue;	/* replaced below */
		str_append(&out, line);
		if (line[strlen(line) - 1] != '\n')
			str_append_c(&out, '\n');
	}
	if (f != NULL)
		fclose(f);
	str_printfa(&out, "%s %s\n", domain, selector);
	f = fopen(tmp, "w");
	if (f == NULL || fwrite(out.data, 1, out.len, f) != out.len ||
	    fclose(f) != 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "courier-dkimkeygen: %s: %s\n", path,
			strerror(errno));
		ret = -1;
	} else {
		chmod(path, 0644);
		give_to_mail_user(path);
	}
out:
	str_free(&out);
	free(path);
	free(tmp);
	return ret;
}

int main(int argc, char **argv)
{
	enum pubkey_type type = PUBKEY_RSA;
	unsigned int bits = 2048;
	const char *selector = NULL, *error;
	bool force = false, print_only = false;
	char *domain, *dir, *path, *sel_found = NULL;
	struct pubkey_private *key = NULL;
	struct str pem;
	int opt, fd;

	while ((opt = getopt(argc, argv, "t:b:s:fp")) != -1) {
		switch (opt) {
		case 't':
			if (strcmp(optarg, "rsa") == 0)
				type = PUBKEY_RSA;
			else if (strcmp(optarg, "ed25519") == 0)
				type = PUBKEY_ED25519;
			else
				usage();
			break;
		case 'b':
			bits = (unsigned int)strtoul(optarg, NULL, 10);
			if (bits < PUBKEY_RSA_MIN_BITS ||
			    bits > PUBKEY_RSA_MAX_BITS) {
				fprintf(stderr, "courier-dkimkeygen: RSA keys "
					"have 1024 to 4096 bits\n");
				return 2;
			}
			break;
		case 's':
			selector = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'p':
			print_only = true;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	domain = str_lcase(xstrdup(argv[optind]));
	if (!name_ok(domain, true) ||
	    (selector != NULL && !name_ok(selector, true))) {
		fprintf(stderr, "courier-dkimkeygen: bad domain or selector\n");
		return 2;
	}
	dir = instance_etc_path("dkim");
	if (print_only) {
		sel_found = esmtp_dkim_selector(domain);
		if (sel_found == NULL) {
			fprintf(stderr, "courier-dkimkeygen: %s has no "
				"selector in %s/selectors\n", domain, dir);
			return 1;
		}
		path = xasprintf("%s/%s.%s.key", dir, domain, sel_found);
		if (pubkey_private_read_file(path, &key, &error) < 0) {
			fprintf(stderr, "courier-dkimkeygen: %s: %s\n", path,
				error);
			return 1;
		}
		print_record(domain, sel_found, key);
		pubkey_private_destroy(&key);
		return 0;
	}
	if (selector == NULL)
		selector = type == PUBKEY_ED25519 ? "courier-ed25519" :
			   "courier";
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "courier-dkimkeygen: %s: %s\n", dir,
			strerror(errno));
		return 1;
	}
	path = xasprintf("%s/%s.%s.key", dir, domain, selector);
	if (pubkey_private_generate(type, bits, &key, &error) < 0) {
		fprintf(stderr, "courier-dkimkeygen: %s\n", error);
		return 1;
	}
	str_init(&pem, 4096);
	pubkey_private_pem_append(key, &pem);
	if (force)
		(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "courier-dkimkeygen: %s: %s%s\n", path,
			strerror(errno),
			errno == EEXIST ? " (-f replaces it)" : "");
		return 1;
	}
	if (pem.len == 0 || write(fd, pem.data, pem.len) != (ssize_t)pem.len ||
	    fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "courier-dkimkeygen: %s: write failed\n", path);
		(void)unlink(path);
		return 1;
	}
	give_to_mail_user(path);
	if (set_selector(dir, domain, selector) < 0)
		return 1;
	fprintf(stderr, "courier-dkimkeygen: wrote %s; publish this record, "
		"then mail from %s is signed:\n", path, domain);
	print_record(domain, selector, key);
	pubkey_private_destroy(&key);
	str_free(&pem);
	free(path);
	free(dir);
	free(domain);
	return 0;
}
