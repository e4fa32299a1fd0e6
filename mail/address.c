/*
 * address - parse and normalise envelope addresses (see address.h).
 *
 * The parser walks the input once, left to right: optional angle brackets
 * and source route, the local part (dot-string or quoted string), '@', then
 * the domain, which is normalised separately (domain name through libidn2
 * when it holds non-ASCII bytes, or an address literal through inet_pton).
 */
#include <arpa/inet.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* Input longer than this is refused before it is looked at (a path with its route is shorter). */
#define ADDRESS_INPUT_MAX 1024

/* utf8_seq - the length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* no overlong forms */
	else if (c == 0xed)
		hi = 0x9f; /* no surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f; /* nothing above U+10FFFF */
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

int address_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* is_atext - RFC 5321 atext (ASCII part): letters, digits and !#$%&'*+-/=?^_`{|}~. */
static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* bad_char - the error for byte c where it may not be (where: "local part", "domain"). */
static char *bad_char(unsigned char c, const char *where, int flags)
{
	if (c >= 0x80)
		return (flags & ADDRESS_UTF8) ? xasprintf("%s is not valid UTF-8", where)
					      : xasprintf("non-ASCII %s needs SMTPUTF8", where);
	if (c < 0x20 || c == 0x7f)
		return xasprintf("control character 0x%02x in %s", c, where);
	return xasprintf("character '%c' is not allowed in %s", c, where);
}

/* utf8_here - the length of a UTF-8 sequence at p when flags allow it, else 0. */
static size_t utf8_here(const char *p, const char *end, int flags)
{
	if (!(flags & ADDRESS_UTF8) || (unsigned char)*p < 0x80)
		return 0;
	return utf8_seq((const unsigned char *)p, (size_t)(end - p));
}

/* parse_dot_string - atoms joined by single dots; returns the end of the local part or NULL. */
static const char *parse_dot_string(const char *start, const char *end, int flags,
				    struct strbuf *out, char **error_r)
{
	const char *p = start;
	int atom_start = 1; /* at the start of an atom: a dot here is misplaced */
	size_t n;

	while (p < end) {
		if (*p == '.' && !atom_start) {
			atom_start = 1;
			p++;
		} else if (*p != '.' && is_atext((unsigned char)*p)) {
			atom_start = 0;
			p++;
		} else if ((n = utf8_here(p, end, flags)) > 0) {
			atom_start = 0;
			p += n;
		} else {
			break;
		}
	}
	if (p < end && *p != '@' && *p != '.') {
		*error_r = bad_char((unsigned char)*p, "an unquoted local part", flags);
		return NULL;
	}
	if (p == start && (p == end || *p == '@')) {
		*error_r = xstrdup("empty local part");
		return NULL;
	}
	if (atom_start) {
		*error_r =
		    xstrdup("a local part may not start or end with a dot, nor have two dots "
			    "in a row, unless it is quoted");
		return NULL;
	}
	strbuf_append(out, start, (size_t)(p - start));
	return p;
}

/* parse_quoted - a quoted local part at start ('"'); returns the position after it or NULL. */
static const char *parse_quoted(const char *start, const char *end, int flags, struct strbuf *out,
				char **error_r)
{
	const char *p = start + 1;
	unsigned char c;
	size_t n;

	while (p < end && *p != '"') {
		c = (unsigned char)*p;
		if (c == '\\' && p + 1 < end) {
			c = (unsigned char)p[1];
			if (c < 0x20 || c > 0x7e) {
				*error_r = bad_char(c, "a quoted local part", flags);
				return NULL;
			}
			strbuf_putc(out, c);
			p += 2;
		} else if (c >= 0x20 && c <= 0x7e && c != '\\') {
			strbuf_putc(out, c);
			p++;
		} else if ((n = utf8_here(p, end, flags)) > 0) {
			strbuf_append(out, p, n);
			p += n;
		} else {
			*error_r = c == '\\' ? xstrdup("unterminated quoted local part")
					     : bad_char(c, "a quoted local part", flags);
			return NULL;
		}
	}
	if (p == end) {
		*error_r = xstrdup("unterminated quoted local part");
		return NULL;
	}
	p++;
	if (p < end && *p != '@') {
		*error_r = xstrdup("a quoted local part must be followed by '@'");
		return NULL;
	}
	if (out->len == 0) {
		*error_r = xstrdup("empty local part");
		return NULL;
	}
	return p;
}

/* check_name - a lower-case domain name: labels of letters, digits and inner hyphens. */
static int check_name(const char *name, int flags, char **error_r)
{
	const char *label = name;
	size_t n, i;

	if (strlen(name) > ADDRESS_DOMAIN_MAX) {
		*error_r = xasprintf("domain longer than %d bytes", ADDRESS_DOMAIN_MAX);
		return -1;
	}
	for (;;) {
		n = strcspn(label, ".");
		if (n == 0) {
			*error_r =
			    xstrdup(label != name && *label == '\0' ? "domain ends with a dot"
								    : "empty label in domain");
			return -1;
		}
		if (n > ADDRESS_LABEL_MAX) {
			*error_r =
			    xasprintf("label of domain longer than %d bytes", ADDRESS_LABEL_MAX);
			return -1;
		}
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)label[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
				*error_r = bad_char(c, "a domain name", flags);
				return -1;
			}
		}
		if (label[0] == '-' || label[n - 1] == '-') {
			*error_r = xstrdup("a label of a domain may not start or end with '-'");
			return -1;
		}
		if (label[n] == '\0')
			return 0;
		label += n + 1;
	}
}

/* parse_literal - "[IPv4]" or "[IPv6:...]", rewritten in canonical form. */
static int parse_literal(const char *d, size_t len, int flags, char **result_r, char **error_r)
{
	char buf[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *inner = d + 1;
	size_t n = len - 2;
	int v6;

	if (flags & ADDRESS_NO_LITERAL) {
		*error_r = xstrdup("address literals ([...]) are not accepted here");
		return -1;
	}
	if (len < 3 || d[len - 1] != ']') {
		*error_r = xstrdup("address literal without ']'");
		return -1;
	}
	v6 = n >= 5 && strncasecmp(inner, "IPv6:", 5) == 0;
	if (v6) {
		inner += 5;
		n -= 5;
	} else if (memchr(inner, ':', n) != NULL) {
		*error_r =
		    xstrdup("unsupported address literal: only [IPv4] and [IPv6:...] are known");
		return -1;
	}
	if (n >= sizeof(buf) || memchr(inner, '\0', n) != NULL) {
		*error_r = xasprintf("invalid IPv%d address literal", v6 ? 6 : 4);
		return -1;
	}
	memcpy(buf, inner, n);
	buf[n] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, bin) != 1 ||
	    inet_ntop(v6 ? AF_INET6 : AF_INET, bin, text, sizeof(text)) == NULL) {
		*error_r = xasprintf("invalid IPv%d address literal", v6 ? 6 : 4);
		return -1;
	}
	*result_r = xasprintf(v6 ? "[IPv6:%s]" : "[%s]", text);
	return 0;
}

/* idn_to_ascii - the A-label form of a domain with U-labels (NUL-terminated name). */
static int idn_to_ascii(const char *name, char **result_r, char **error_r)
{
	char *out = NULL;
	int rc = idn2_to_ascii_8z(name, &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);

	if (rc != IDN2_OK) {
		*error_r = xasprintf("invalid international domain name: %s", idn2_strerror(rc));
		return -1;
	}
	*result_r = xstrdup(out);
	idn2_free(out);
	return 0;
}

int address_domain_normalise(const char *domain, size_t len, int flags, char **result_r,
			     char **error_r)
{
	char *name, *p;
	size_t i;
	int nonascii = 0;

	*result_r = NULL;
	if (len == 0) {
		*error_r = xstrdup("empty domain");
		return -1;
	}
	if (memchr(domain, '\0', len) != NULL) {
		*error_r = xstrdup("NUL byte in domain");
		return -1;
	}
	if (domain[0] == '[')
		return parse_literal(domain, len, flags, result_r, error_r);
	for (i = 0; i < len; i++)
		nonascii |= (unsigned char)domain[i] >= 0x80;
	if (nonascii && !(flags & ADDRESS_UTF8)) {
		*error_r =
		    xstrdup("non-ASCII domain needs SMTPUTF8 (give its A-label form xn--...)");
		return -1;
	}
	if (nonascii && !address_utf8_valid(domain, len)) {
		*error_r = xstrdup("domain is not valid UTF-8");
		return -1;
	}
	if (len > ADDRESS_INPUT_MAX) {
		*error_r = xasprintf("domain longer than %d bytes", ADDRESS_DOMAIN_MAX);
		return -1;
	}
	name = xstrndup(domain, len);
	/* U-labels are converted; A-labels are checked by the same conversion. */
	if (nonascii || strcasestr(name, "xn--") != NULL) {
		p = name;
		if (idn_to_ascii(p, &name, error_r) < 0) {
			free(p);
			return -1;
		}
		free(p);
	}
	for (p = name; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	if (check_name(name, flags, error_r) < 0) {
		free(name);
		return -1;
	}
	*result_r = name;
	return 0;
}

/* skip_route - parse and drop a source route "@a,@b:" at p; returns the position after ':'. */
static const char *skip_route(const char *p, const char *end, int flags, char **error_r)
{
	const char *d;
	char *dom, *err;

	for (;;) {
		if (p == end || *p != '@') {
			*error_r = xstrdup("bad source route: expected '@' before each domain");
			return NULL;
		}
		d = ++p;
		while (p < end && *p != ',' && *p != ':')
			p++;
		if (p == end) {
			*error_r = xstrdup("bad source route: no ':' before the mailbox");
			return NULL;
		}
		if (address_domain_normalise(d, (size_t)(p - d), flags & ADDRESS_UTF8, &dom, &err) <
		    0) {
			*error_r = xasprintf("bad source route: %s", err);
			free(err);
			return NULL;
		}
		free(dom);
		if (*p++ == ':')
			return p;
	}
}

/* dot_string_ok - whether local can be written without quotes. */
static int dot_string_ok(const char *local)
{
	const unsigned char *p = (const unsigned char *)local;

	if (*p == '\0' || *p == '.')
		return 0;
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (p[1] == '.' || p[1] == '\0')
				return 0;
		} else if (*p < 0x80 && !is_atext(*p)) {
			return 0;
		}
	}
	return 1;
}

char *address_quote_local(const char *local)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	if (dot_string_ok(local))
		return xstrdup(local);
	strbuf_putc(&sb, '"');
	for (p = local; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_putc(&sb, '\\');
		strbuf_putc(&sb, *p);
	}
	strbuf_putc(&sb, '"');
	return strbuf_detach(&sb);
}

char *address_format(const struct address *addr)
{
	char *local, *result;

	if (addr->null)
		return xstrdup("");
	local = address_quote_local(addr->local);
	if (addr->domain == NULL)
		return local;
	result = xasprintf("%s@%s", local, addr->domain);
	free(local);
	return result;
}

/* strip_brackets - remove <...> and a source route; *null_r when nothing is inside. */
static int strip_brackets(const char **p, const char **end, int flags, int *null_r, char **error_r)
{
	size_t len = (size_t)(*end - *p);

	*null_r = 0;
	if (len > 0 && **p == '<') {
		if (len < 2 || (*end)[-1] != '>') {
			*error_r = xstrdup("'<' without '>'");
			return -1;
		}
		(*p)++;
		(*end)--;
		if (*p == *end) {
			*null_r = 1;
			return 0;
		}
		if (**p == '@' && (*p = skip_route(*p, *end, flags, error_r)) == NULL)
			return -1;
	} else if (len > 0 && (*end)[-1] == '>') {
		*error_r = xstrdup("'>' without '<'");
		return -1;
	}
	if (*p == *end) {
		*error_r = xstrdup("empty address");
		return -1;
	}
	return 0;
}

int address_parse(const char *input, size_t len, int flags, struct address *addr, char **error_r)
{
	const char *p = input, *end = input + len, *q;
	struct strbuf local = STRBUF_INIT;
	size_t local_len;
	char *quoted;
	int null;

	memset(addr, 0, sizeof(*addr));
	if (len > ADDRESS_INPUT_MAX) {
		*error_r = xasprintf("address longer than %d bytes", ADDRESS_MAX);
		return -1;
	}
	if (memchr(input, '\0', len) != NULL) {
		*error_r = xstrdup("NUL byte in address");
		return -1;
	}
	if (strip_brackets(&p, &end, flags, &null, error_r) < 0)
		return -1;
	if (null) {
		if (!(flags & ADDRESS_NULL_OK)) {
			*error_r = xstrdup("the null address <> is not allowed here");
			return -1;
		}
		addr->null = 1;
		return 0;
	}
	q = *p == '"' ? parse_quoted(p, end, flags, &local, error_r)
		      : parse_dot_string(p, end, flags, &local, error_r);
	if (q == NULL) {
		strbuf_free(&local);
		return -1;
	}
	addr->local = strbuf_detach(&local);
	quoted = address_quote_local(addr->local);
	local_len = strlen(quoted);
	free(quoted);
	if (local_len > ADDRESS_LOCAL_MAX) {
		*error_r = xasprintf("local part longer than %d bytes", ADDRESS_LOCAL_MAX);
		return -1;
	}
	if (q == end) {
		if (flags & ADDRESS_NO_DOMAIN_OK)
			return 0;
		*error_r = xstrdup("no domain: an address is local-part@domain");
		return -1;
	}
	q++;
	if (address_domain_normalise(q, (size_t)(end - q), flags, &addr->domain, error_r) < 0)
		return -1;
	addr->literal = addr->domain[0] == '[';
	if (local_len + 1 + strlen(addr->domain) > ADDRESS_MAX) {
		*error_r = xasprintf("address longer than %d bytes", ADDRESS_MAX);
		return -1;
	}
	return 0;
}

void address_free(struct address *addr)
{
	XFREE(addr->local);
	XFREE(addr->domain);
	addr->null = 0;
	addr->literal = 0;
}
