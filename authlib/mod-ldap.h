/* mod-ldap.h: the parts of the authldap module (mod-ldap.c) that do not
 * need a server: filter escaping and the search filters it builds, for
 * the module and its unit tests. */
#ifndef MOD_LDAP_H
#define MOD_LDAP_H

#include "str.h"

/* Appends value to dest escaped as an RFC 4515 assertion value: '*', '(',
 * ')', '\' and NUL (and every other byte below 0x20 or 0x7f) become \XX,
 * so a login can never add a wildcard or a term to a filter.  len bytes
 * are read (value may contain NUL). */
void mod_ldap_escape_filter(const char *value, size_t len, struct str *dest);

/* Appends the lookup filter for login to dest: "(ATTR=login)", or
 * "(&FILTER(ATTR=login))" when filter (LDAP_FILTER) is not NULL or empty;
 * a filter without its outer parentheses gets them. */
void mod_ldap_lookup_filter(const char *attr, const char *login,
			    const char *filter, struct str *dest);

/* Appends LDAP_EMAILMAP's filter with "@user@" and "@realm@" replaced by
 * the escaped local part and domain of login (after its last '@'). */
void mod_ldap_emailmap_filter(const char *emailmap, const char *login,
			      struct str *dest);

#endif
