/*
 * address - envelope addresses (RFC 5321 Path and Mailbox, RFC 6531 for
 * SMTPUTF8): parsing, normalisation and formatting.
 *
 * Accepted input, with or without angle brackets:
 *
 *   local@domain              local is a dot-string (atoms joined by single
 *                             dots) or a quoted string ("a b"@example.org)
 *   <@relay.example:user@x>   a source route; it is parsed and dropped
 *   <>                        the null sender, with ADDRESS_NULL_OK
 *   postmaster                a local part alone, with ADDRESS_NO_DOMAIN_OK
 *   user@[192.0.2.1]          address literals: IPv4, or [IPv6:...]
 *
 * The result is normalised: the local part is kept as written but without
 * its quotes and backslash escapes (so "john"@x and john@x are the same
 * address); a domain name is lower case, with IDN labels converted to
 * A-labels by IDNA2008 (libidn2, TR46 non-transitional mapping: the
 * domain "Bücher.example" becomes "xn--bcher-kva.example"); an address
 * literal is rewritten in the canonical form of its address
 * ("[IPv6:2001:db8::1]").
 *
 * Limits (RFC 5321 section 4.5.3.1), counted in bytes of the formatted
 * result: 64 for the local part (with its quotes, when it needs them), 255
 * for the domain, 254 for the whole address. Each label of a domain name
 * has 1 to 63 letters, digits and hyphens, not at either end.
 *
 * Non-ASCII bytes must form valid UTF-8, and are accepted only with
 * ADDRESS_UTF8: in the local part as themselves, in the domain as U-labels.
 * Control characters are never accepted, not even quoted.
 */
#ifndef TERN_ADDRESS_H
#define TERN_ADDRESS_H

#include <stddef.h>

#define ADDRESS_LOCAL_MAX 64   /* bytes in a local part */
#define ADDRESS_DOMAIN_MAX 255 /* bytes in a domain */
#define ADDRESS_MAX 254	       /* bytes in local@domain */
#define ADDRESS_LABEL_MAX 63   /* bytes in one label of a domain name */

/* address_parse() flags. */
#define ADDRESS_UTF8 (1 << 0)	      /* SMTPUTF8: UTF-8 local parts and U-label domains */
#define ADDRESS_NULL_OK (1 << 1)      /* accept "<>" */
#define ADDRESS_NO_DOMAIN_OK (1 << 2) /* accept a local part without "@domain" */
#define ADDRESS_NO_LITERAL (1 << 3)   /* refuse address literals */

struct address {
	char *local;  /* the local part without quotes and escapes; NULL for the null sender */
	char *domain; /* normalised domain; NULL for the null sender or without a domain */
	int null;     /* the null sender "<>" */
	int literal;  /* domain is an address literal "[...]" */
};

/*
 * address_parse - parse the len bytes at input into *addr (which the caller
 * frees with address_free(), also after an error). Returns 0, or -1 with
 * *error_r saying what is wrong ("local part longer than 64 bytes").
 */
int address_parse(const char *input, size_t len, int flags, struct address *addr, char **error_r);
void address_free(struct address *addr);

/*
 * address_format - the normalised address as text (malloc'd): the local
 * part quoted when it is not a dot-string, then "@domain" when there is a
 * domain; "" for the null sender. Parsing the result with the flags that
 * produced addr gives addr again.
 */
char *address_format(const struct address *addr);

/* address_quote_local - local as it is written in an address: quoted when needed (malloc'd). */
char *address_quote_local(const char *local);

/*
 * address_domain_normalise - check and normalise a domain alone (the part
 * after '@'), with the same rules and flags (ADDRESS_UTF8,
 * ADDRESS_NO_LITERAL) as address_parse(). Returns 0 with *result_r
 * malloc'd, or -1 with *error_r set.
 */
int address_domain_normalise(const char *domain, size_t len, int flags, char **result_r,
			     char **error_r);

/* address_utf8_valid - whether the len bytes at s are well-formed UTF-8 (shortest forms only). */
int address_utf8_valid(const char *s, size_t len);

#endif
