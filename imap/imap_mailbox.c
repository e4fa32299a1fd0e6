/*
 * imap_mailbox - mailbox name decoding, encoding and LIST matching.
 * See imap_mailbox.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_mailbox.h"
#include "imap/imap_utf7.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* decode - the bytes sent to UTF-8 in out. */
static int decode(const char *name, size_t len, int utf8, struct strbuf *out, char **error_r)
{
	size_t i;

	if (utf8) {
		if (!imap_utf8_valid(name, len)) {
			*error_r = xstrdup("Mailbox name is not valid UTF-8");
			return -1;
		}
		strbuf_append(out, name, len);
	} else if (imap_utf7_to_utf8(name, len, out, error_r) < 0) {
		return -1;
	}
	for (i = 0; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];

		if (c < 0x20 || c == 0x7f) {
			*error_r = xstrdup("Control character in mailbox name");
			return -1;
		}
	}
	return 0;
}

int imap_mailbox_decode(const char *name, size_t len, int utf8, char **name_r, char **error_r)
{
	struct strbuf out = STRBUF_INIT;

	if (decode(name, len, utf8, &out, error_r) < 0) {
		strbuf_free(&out);
		return -1;
	}
	if (out.len == 5 && strcasecmp(out.data, "INBOX") == 0)
		memcpy(out.data, "INBOX", 5);
	*name_r = strbuf_detach(&out);
	return 0;
}

int imap_mailbox_pattern_decode(const char *pattern, size_t len, int utf8, char sep,
				char **pattern_r, char **error_r)
{
	struct strbuf out = STRBUF_INIT;

	if (decode(pattern, len, utf8, &out, error_r) < 0) {
		strbuf_free(&out);
		return -1;
	}
	if (out.len >= 5 && strncasecmp(out.data, "INBOX", 5) == 0 &&
	    (out.len == 5 || out.data[5] == sep || out.data[5] == '*' || out.data[5] == '%'))
		memcpy(out.data, "INBOX", 5);
	*pattern_r = strbuf_detach(&out);
	return 0;
}

void imap_mailbox_encode(struct strbuf *out, const char *name, int utf8)
{
	size_t len = strlen(name), old = out->len;

	if (utf8) {
		strbuf_append(out, name, len);
	} else if (imap_utf8_to_utf7(name, len, out) < 0) {
		strbuf_truncate(out, old);
		strbuf_append(out, name, len);
	}
}

/* compact - the pattern with runs of wildcards reduced to one ("%*" is "*"). */
static char *compact(const char *pattern, size_t *literal_r)
{
	char *out = xmalloc(strlen(pattern) + 1), *o = out;
	size_t literal = 0;

	for (; *pattern != '\0'; pattern++) {
		if ((*pattern == '*' || *pattern == '%') && o > out &&
		    (o[-1] == '*' || o[-1] == '%')) {
			if (*pattern == '*')
				o[-1] = '*';
			continue;
		}
		if (*pattern != '*' && *pattern != '%')
			literal++;
		*o++ = *pattern;
	}
	*o = '\0';
	*literal_r = literal;
	return out;
}

int imap_mailbox_match(const char *pattern, const char *name, char sep)
{
	size_t n = strlen(name), literal, j;
	char *pat = compact(pattern, &literal);
	unsigned char *cur, *next, *t;
	const char *p;
	int result;

	if (literal > n) {
		free(pat);
		return 0;
	}
	/* cur[j]: the pattern read so far matches name[0..j). */
	cur = xcalloc(n + 1, 1);
	next = xcalloc(n + 1, 1);
	cur[0] = 1;
	for (p = pat; *p != '\0'; p++) {
		if (*p == '*') {
			next[0] = cur[0];
			for (j = 1; j <= n; j++)
				next[j] = cur[j] || next[j - 1];
		} else if (*p == '%') {
			next[0] = cur[0];
			for (j = 1; j <= n; j++)
				next[j] = cur[j] || (next[j - 1] && name[j - 1] != sep);
		} else {
			next[0] = 0;
			for (j = 1; j <= n; j++)
				next[j] = cur[j - 1] && name[j - 1] == *p;
		}
		t = cur;
		cur = next;
		next = t;
	}
	result = cur[n];
	free(cur);
	free(next);
	free(pat);
	return result;
}
