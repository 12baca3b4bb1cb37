/* mod-pam.c: the authpam module: system accounts whose password PAM checks
 * (the PAM service is the client's service name, "imap", "pop3",
 * "esmtp", "webmail"..., as Courier's authpam does, or PAMSERVICE from
 * authdaemonrc), with the account's details from getpwnam(). */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "log.h"
#include "mem.h"
#include "secure.h"
#include "auth-module.h"
#include "auth-sysuser.h"

struct pam_module {
	struct auth_module module;
	char *service; /* PAMSERVICE, or NULL for the request's service */
	int debug;
	char error[256];
};

/* What the conversation answers with. */
struct pam_conv_data {
	const char *user;
	const char *password;     /* the password (the old one when changing) */
	const char *new_password; /* set while changing the password */
};

/* While changing a password, is this prompt asking for the current one?
 * Modules ask "Current password:", "(current) UNIX password:", "Old
 * password:"; every other hidden prompt ("New password:", "Retype new
 * password:") gets the new password. */
static bool prompt_wants_old(const char *msg)
{
	return msg != NULL && (strcasestr(msg, "current") != NULL ||
			       strcasestr(msg, "old") != NULL);
}

static int pam_init_module(const struct auth_module_def *def,
			   const char *config_path,
			   const struct config_env *authdaemonrc,
			   struct auth_module **mod_r, const char **error_r)
{
	struct pam_module *m = xcalloc(1, sizeof(*m));
	const char *s = config_env_get(authdaemonrc, "PAMSERVICE");
	const char *dbg = config_env_get(authdaemonrc, "DEBUG_LOGIN");

	(void)config_path;
	(void)error_r;
	m->module.def = def;
	if (s != NULL && s[0] != '\0')
		m->service = xstrdup(s);
	m->debug = dbg != NULL && atoi(dbg) > 0;
	*mod_r = &m->module;
	return 0;
}

static void pam_deinit_module(struct auth_module **mod)
{
	struct pam_module *m = (struct pam_module *)*mod;

	if (m == NULL)
		return;
	free(m->service);
	x_free(*mod);
}

/* A PAM service name must name a file in /etc/pam.d. */
static bool service_name_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || s[0] == '.' || strlen(s) > 64)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* Looks user up in the passwd database: 1 found, 0 not, -1 error. */
static int pam_getpw(struct pam_module *m, const char *user,
		     struct auth_record *rec, const char **error_r)
{
	return auth_sysuser_lookup(user, rec, false, m->error,
				   sizeof(m->error), error_r);
}

static enum auth_module_result pam_lookup(struct auth_module *mod,
					  const struct auth_request *req,
					  struct auth_record *rec_r,
					  const char **error_r)
{
	struct pam_module *m = (struct pam_module *)mod;
	int r = pam_getpw(m, req->user, rec_r, error_r);

	return r < 0 ? AUTH_MODULE_TEMPFAIL
		     : r == 0 ? AUTH_MODULE_NOTFOUND : AUTH_MODULE_OK;
}

static int pam_conversation(int num_msg, const struct pam_message **msg,
			    struct pam_response **resp, void *appdata)
{
	struct pam_conv_data *cd = appdata;
	struct pam_response *r;

	if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	/* PAM frees the array and each response with free(). */
	r = calloc((size_t)num_msg, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		const char *answer = NULL;
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_ON:
			answer = cd->user;
			break;
		case PAM_PROMPT_ECHO_OFF:
			answer = cd->new_password == NULL ||
						 prompt_wants_old(msg[i]->msg)
					 ? cd->password
					 : cd->new_password;
			break;
		case PAM_TEXT_INFO:
		case PAM_ERROR_MSG:
			break;
		default:
			goto fail;
		}
		if (answer != NULL) {
			r[i].resp = strdup(answer);
			if (r[i].resp == NULL)
				goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < num_msg; i++) {
		if (r[i].resp != NULL) {
			secure_wipe(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

/* authdaemond throttles failed logins itself: PAM's failure delay would
 * only hold a worker. */
static void pam_no_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)retval;
	(void)usec_delay;
	(void)appdata;
}

/* Does PAM's answer mean "no such account or wrong password" (as opposed
 * to "PAM cannot answer now")? */
static bool pam_is_refusal(int r)
{
	switch (r) {
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_PERM_DENIED:
	case PAM_MAXTRIES:
	case PAM_CRED_INSUFFICIENT:
	case PAM_AUTHTOK_ERR:
	case PAM_AUTHTOK_RECOVERY_ERR:
	case PAM_AUTHTOK_EXPIRED:
		return true;
	default:
		return false;
	}
}

/* Runs authentication and account management, then (new_password not
 * NULL) a password change, for req->user. */
static enum auth_module_result pam_run(struct pam_module *m,
				       const struct auth_request *req,
				       const char *password,
				       const char *new_password,
				       const char **error_r)
{
	const char *service = m->service != NULL ? m->service : req->service;
	struct pam_conv_data cd = { .user = req->user, .password = password };
	struct pam_conv conv = { pam_conversation, &cd };
	pam_handle_t *pamh = NULL;
	const char *step = "pam_start";

	if (!service_name_ok(service)) {
		*error_r = "the service name is not a valid PAM service name";
		return AUTH_MODULE_TEMPFAIL;
	}
	if (password[0] == '\0')
		return AUTH_MODULE_NOTFOUND;
	int r = pam_start(service, req->user, &conv, &pamh);
	if (r == PAM_SUCCESS) {
		pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)pam_no_delay);
		if (req->remote_ip != NULL)
			pam_set_item(pamh, PAM_RHOST, req->remote_ip);
		step = "pam_authenticate";
		r = pam_authenticate(pamh, PAM_SILENT |
						   PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (r == PAM_SUCCESS) {
		step = "pam_acct_mgmt";
		r = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (r == PAM_SUCCESS && new_password != NULL) {
		step = "pam_chauthtok";
		cd.new_password = new_password;
		/* for modules that take the old password from the item */
		pam_set_item(pamh, PAM_OLDAUTHTOK, password);
		r = pam_chauthtok(pamh, PAM_SILENT);
	}
	if (r != PAM_SUCCESS && m->debug)
		log_info("authpam: %s (service %s): %s", step, service,
			 pamh != NULL ? pam_strerror(pamh, r) : "failed");
	enum auth_module_result res = AUTH_MODULE_OK;
	if (r != PAM_SUCCESS) {
		if (pam_is_refusal(r)) {
			res = AUTH_MODULE_NOTFOUND;
		} else {
			snprintf(m->error, sizeof(m->error),
				 "authpam: %s (service %s): %s", step,
				 service,
				 pamh != NULL ? pam_strerror(pamh, r)
					      : "cannot start PAM");
			*error_r = m->error;
			res = AUTH_MODULE_TEMPFAIL;
		}
	}
	if (pamh != NULL)
		pam_end(pamh, r);
	return res;
}

static enum auth_module_result pam_authenticate_user(
	struct auth_module *mod, const struct auth_request *req,
	const char *password, struct auth_record *rec_r,
	const char **error_r)
{
	struct pam_module *m = (struct pam_module *)mod;
	int r = pam_getpw(m, req->user, NULL, error_r);

	if (r <= 0)
		return r < 0 ? AUTH_MODULE_TEMPFAIL : AUTH_MODULE_NOTFOUND;
	enum auth_module_result res = pam_run(m, req, password, NULL,
					      error_r);
	if (res != AUTH_MODULE_OK)
		return res;
	r = pam_getpw(m, req->user, rec_r, error_r);
	return r < 0 ? AUTH_MODULE_TEMPFAIL
		     : r == 0 ? AUTH_MODULE_NOTFOUND : AUTH_MODULE_OK;
}

static enum auth_module_result
pam_change_password(struct auth_module *mod, const struct auth_request *req,
		    const char *old_password, const char *new_password,
		    const char **error_r)
{
	struct pam_module *m = (struct pam_module *)mod;
	int r = pam_getpw(m, req->user, NULL, error_r);

	if (r <= 0)
		return r < 0 ? AUTH_MODULE_TEMPFAIL : AUTH_MODULE_NOTFOUND;
	/* The old password is checked by pam_authenticate first: a module
	 * such as pam_unix does not ask for it when run by root. */
	return pam_run(m, req, old_password, new_password, error_r);
}

static enum auth_module_result
pam_enumerate(struct auth_module *mod, auth_enumerate_callback_t *callback,
	      void *context, const char **error_r)
{
	(void)mod;
	(void)error_r;
	return auth_sysuser_enumerate(callback, context);
}

const struct auth_module_def auth_module_pam = {
	.name = "authpam",
	.config_file = NULL,
	.init = pam_init_module,
	.deinit = pam_deinit_module,
	.lookup = pam_lookup,
	.authenticate = pam_authenticate_user,
	.enumerate = pam_enumerate,
	.change_password = pam_change_password,
};
