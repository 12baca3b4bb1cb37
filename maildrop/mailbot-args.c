/* mailbot-args.c: mailbot(1)'s command line, parsed and checked. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mailbot.h"
#include "mem.h"

static const struct {
	const char *name;
	enum mailbot_mode mode;
} modes[] = {
	{ "reply", MAILBOT_REPLY },
	{ "replyall", MAILBOT_REPLYALL },
	{ "replydsn", MAILBOT_REPLYDSN },
	{ "replydraft", MAILBOT_REPLYDRAFT },
	{ "forward", MAILBOT_FORWARD },
	{ "forwardatt", MAILBOT_FORWARDATT },
	{ "feedback", MAILBOT_FEEDBACK },
	{ "replyfeedback", MAILBOT_REPLYFEEDBACK },
};

/* RFC 5965 section 7.3 and its registry (RFC 6591, 6650). */
static const char *const feedback_types[] = {
	"abuse", "fraud", "other", "virus", "auth-failure", "not-spam",
};

static bool one_line(const char *s)
{
	return strlen(s) <= MAILBOT_MAX_ARG && strpbrk(s, "\r\n") == NULL;
}

/* An RFC 5322 field name: printable US-ASCII but the colon. */
static bool field_name_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 32 || c >= 127 || c == ':')
			return false;
	}
	return true;
}

void mailbot_opts_free(struct mailbot_opts *o)
{
	free(o->headers);
	free(o->feedback);
	o->headers = NULL;
	o->feedback = NULL;
	o->nheaders = o->nfeedback = 0;
}

static int fail(struct mailbot_opts *o, const char **error_r, const char *why)
{
	mailbot_opts_free(o);
	*error_r = why;
	return -1;
}

int mailbot_args_parse(int argc, char *const argv[], struct mailbot_opts *o,
		       const char **error_r)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->days = 1;
	o->salutation = "%F writes:";
	o->marker = "--- Forwarded message ---";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		char c;

		if (a[0] != '-')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strncmp(a, "--feedback-", 11) == 0) {
			const char *name = a + 11;

			if (i + 1 >= argc)
				return fail(o, error_r, "--feedback-* needs a value");
			if (strlen(name) > MAILBOT_MAX_FEEDBACK_NAME ||
			    !field_name_ok(name, strlen(name)))
				return fail(o, error_r, "bad --feedback-* name");
			if (!one_line(argv[i + 1]))
				return fail(o, error_r, "bad --feedback-* value");
			if (o->nfeedback >= MAILBOT_MAX_LIST)
				return fail(o, error_r, "too many --feedback-* options");
			o->feedback = xreallocarray(o->feedback, o->nfeedback + 1,
						    sizeof(*o->feedback));
			o->feedback[o->nfeedback].name = name;
			o->feedback[o->nfeedback++].value = argv[++i];
			continue;
		}
		c = a[1];
		if (c == '\0')
			return fail(o, error_r, "unknown option");
		val = a[2] != '\0' ? a + 2 : NULL;
		switch (c) {
		case 'e': o->errors_to = true; continue;
		case 'N': o->no_quote = true; continue;
		case 'a': o->attach_all = true; continue;
		case 'n': o->print = true; continue;
		case 'f':
			/* the address is glued to -f; a bare -f means $SENDER
			 * (and nothing when it is not set) */
			o->from_addr = val != NULL ? val : getenv("SENDER");
			o->from_given = o->from_addr != NULL;
			if (o->from_addr != NULL && !one_line(o->from_addr))
				return fail(o, error_r, "bad -f address");
			continue;
		case 't': case 'm': case 'M': case 'R': case 's': case 'd':
		case 'D': case 'c': case 'S': case 'F': case 'r': case 'A':
		case 'T': case 'l':
			break;
		default:
			return fail(o, error_r, "unknown option");
		}
		if (val == NULL) {
			if (i + 1 >= argc)
				return fail(o, error_r, "option needs a value");
			val = argv[++i];
		}
		if (strlen(val) > MAILBOT_MAX_ARG)
			return fail(o, error_r, "option value too long");
		/* what goes into a header must stay on one line; the
		 * salutation, the marker and file names may have breaks */
		if (strchr("SFtmdlr", c) == NULL && !one_line(val))
			return fail(o, error_r, "option value with a line break");
		switch (c) {
		case 't': o->text_file = val; break;
		case 'm': o->mime_file = val; break;
		case 'M': o->dsn_from = val; break;
		case 'R': o->feedback_type = val; break;
		case 's': o->subject = val; break;
		case 'd': o->db = val; break;
		case 'c': o->charset = val; break;
		case 'r': o->only_to = val; break;
		case 'l': o->draft_dir = val; break;
		case 'S': if (*val != '\0') o->salutation = val; break;
		case 'F': if (*val != '\0') o->marker = val; break;
		case 'D': {
			char *end;

			o->days = strtod(val, &end);
			if (end == val || *end != '\0' || !(o->days >= 0) ||
			    o->days > 1e6)
				return fail(o, error_r, "bad -D days");
			break;
		}
		case 'A': {
			const char *colon = strchr(val, ':');

			if (colon == NULL || !field_name_ok(val, (size_t)(colon - val)))
				return fail(o, error_r, "-A needs \"Name: value\"");
			if (o->nheaders >= MAILBOT_MAX_LIST)
				return fail(o, error_r, "too many -A headers");
			o->headers = xreallocarray(o->headers, o->nheaders + 1,
						   sizeof(*o->headers));
			o->headers[o->nheaders++] = val;
			break;
		}
		case 'T': {
			size_t m;

			for (m = 0; m < N_ELEMENTS(modes); m++)
				if (strcmp(val, modes[m].name) == 0)
					break;
			if (m == N_ELEMENTS(modes))
				return fail(o, error_r, "unknown -T format");
			o->mode = modes[m].mode;
			break;
		}
		}
	}
	o->prog_index = i;
	if (o->dsn_from != NULL && *o->dsn_from != '\0') {
		/* -M makes the reply a DSN, whatever -T said */
		o->mode = MAILBOT_REPLYDSN;
		o->feedback_type = NULL;
	} else {
		o->dsn_from = NULL;
	}
	if (o->feedback_type != NULL) {
		size_t t;

		if (o->mode != MAILBOT_FEEDBACK &&
		    o->mode != MAILBOT_REPLYFEEDBACK)
			return fail(o, error_r,
				    "\"-T feedback\" or \"-T replyfeedback\" required");
		for (t = 0; t < N_ELEMENTS(feedback_types); t++)
			if (strcmp(o->feedback_type, feedback_types[t]) == 0)
				break;
		if (t == N_ELEMENTS(feedback_types))
			return fail(o, error_r, "unknown -R feedback type");
	} else if (o->mode == MAILBOT_FEEDBACK ||
		   o->mode == MAILBOT_REPLYFEEDBACK) {
		return fail(o, error_r, "-T feedback needs -R type");
	}
	if (o->mode == MAILBOT_REPLYDRAFT) {
		if (o->draft_dir == NULL)
			return fail(o, error_r, "-T replydraft needs -l maildir");
	} else if ((o->text_file == NULL) == (o->mime_file == NULL)) {
		return fail(o, error_r, "one of -t and -m is required");
	}
	return 0;
}
