/*
 * dns_name - domain names between text and wire form (RFC 1035 section
 * 3.1 and 4.1.4): encoding names for questions, decoding compressed names
 * out of answers with strict bounds, comparing names.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/dns.h"
#include "util/dns_impl.h"
#include "util/mymalloc.h"

/* text_label_byte - append one byte of a label as text: plain, or "\DDD". */
static void text_label_byte(struct strbuf *text, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
		strbuf_putc(text, c);
	else
		strbuf_printf(text, "\\%03u", c);
}

int dns_name_read(const unsigned char *pkt, size_t len, size_t *pos, struct strbuf *text,
		  char **error_r)
{
	size_t p = *pos, end = 0, limit = *pos, wire = 1, target, i;
	int hops = 0;

	strbuf_reset(text);
	for (;;) {
		if (p >= len)
			goto truncated;
		unsigned c = pkt[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				goto truncated;
			target = ((c & 0x3fu) << 8) | pkt[p + 1];
			if (hops == 0)
				end = p + 2;
			if (target >= limit || ++hops > DNS_COMPRESSION_HOPS) {
				*error_r = xasprintf("compression pointer at offset %zu does not "
						     "point backwards",
						     p);
				return -1;
			}
			limit = target;
			p = target;
			continue;
		}
		if ((c & 0xc0) != 0) {
			*error_r = xasprintf("unknown label type 0x%02x at offset %zu", c, p);
			return -1;
		}
		if (c == 0)
			break;
		if (p + 1 + c > len)
			goto truncated;
		wire += 1 + c;
		if (wire > DNS_NAME_WIRE_MAX) {
			*error_r = xasprintf("name longer than %d bytes at offset %zu",
					     DNS_NAME_WIRE_MAX, *pos);
			return -1;
		}
		if (text->len > 0)
			strbuf_putc(text, '.');
		for (i = 0; i < c; i++)
			text_label_byte(text, pkt[p + 1 + i]);
		p += 1 + c;
	}
	*pos = hops > 0 ? end : p + 1;
	return 0;
truncated:
	*error_r = xasprintf("name at offset %zu runs past the end of the message", *pos);
	return -1;
}

/* escape_value - the byte of the escape at s ("\DDD" or "\X"); its length in *n_r; -1 if bad. */
static int escape_value(const char *s, size_t *n_r)
{
	if (isdigit((unsigned char)s[1])) {
		if (!isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]))
			return -1;
		int v = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
		*n_r = 4;
		return v > 255 ? -1 : v;
	}
	if (s[1] == '\0')
		return -1;
	*n_r = 2;
	return (unsigned char)s[1];
}

int dns_name_to_wire(struct strbuf *out, const char *name, char **error_r)
{
	size_t start = out->len, label_at, n;
	const char *s = name;
	int v;

	if (strcmp(name, ".") == 0 || name[0] == '\0') {
		strbuf_putc(out, 0);
		return 0;
	}
	while (*s != '\0') {
		label_at = out->len;
		strbuf_putc(out, 0);
		while (*s != '\0' && *s != '.') {
			if (*s == '\\') {
				if ((v = escape_value(s, &n)) < 0)
					goto bad_escape;
				strbuf_putc(out, v);
				s += n;
			} else {
				strbuf_putc(out, *s++);
			}
		}
		n = out->len - label_at - 1;
		if (n == 0 || n > DNS_LABEL_MAX) {
			*error_r = xasprintf("%s: %s", name,
					     n == 0 ? "empty label" : "label longer than 63 bytes");
			goto fail;
		}
		out->data[label_at] = (char)n;
		if (*s == '.')
			s++;
	}
	strbuf_putc(out, 0);
	if (out->len - start > DNS_NAME_WIRE_MAX) {
		*error_r = xasprintf("%s: name longer than %d bytes", name, DNS_NAME_WIRE_MAX);
		goto fail;
	}
	return 0;
bad_escape:
	*error_r = xasprintf("%s: bad escape sequence", name);
fail:
	strbuf_truncate(out, start);
	return -1;
}

/* name_len - the length of a text name without one trailing (unescaped) dot. */
static size_t name_len(const char *s)
{
	size_t n = strlen(s), bs = 0;

	if (n == 0 || s[n - 1] != '.')
		return n;
	while (bs + 1 < n && s[n - 2 - bs] == '\\')
		bs++;
	return bs % 2 == 0 ? n - 1 : n;
}

bool dns_name_equal(const char *a, const char *b)
{
	size_t la = name_len(a), lb = name_len(b);

	return la == lb && strncasecmp(a, b, la) == 0;
}
