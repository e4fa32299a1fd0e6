/*
 * imap_subject - base subject extraction (RFC 5256 section 2.1 and the
 * subj-* rules of its section 5). See imap_subject.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_subject.h"
#include "util/mymalloc.h"

/* blob_len - a subj-blob "[...]" *WSP at s[0..n): its length, or 0. */
static size_t blob_len(const char *s, size_t n)
{
	size_t i = 1;

	if (n == 0 || s[0] != '[')
		return 0;
	while (i < n && s[i] != '[' && s[i] != ']')
		i++;
	if (i == n || s[i] != ']')
		return 0;
	i++;
	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* refwd_len - a subj-refwd ("re" / "fw" / "fwd") *WSP [subj-blob] ":": its length, or 0. */
static size_t refwd_len(const char *s, size_t n)
{
	size_t i;

	if (n >= 3 && strncasecmp(s, "fwd", 3) == 0)
		i = 3;
	else if (n >= 2 && (strncasecmp(s, "re", 2) == 0 || strncasecmp(s, "fw", 2) == 0))
		i = 2;
	else
		return 0;
	while (i < n && s[i] == ' ')
		i++;
	i += blob_len(s + i, n - i);
	if (i < n && s[i] == ':')
		return i + 1;
	return 0;
}

/* leader_len - *subj-blob subj-refwd at s[0..n): its length, or 0. */
static size_t leader_len(const char *s, size_t n)
{
	size_t i = 0, k, r;

	while ((k = blob_len(s + i, n - i)) > 0)
		i += k;
	r = refwd_len(s + i, n - i);
	return r == 0 ? 0 : i + r;
}

/* normalize - step 1: white space to single spaces. */
static char *normalize(const char *subject, size_t len, size_t *len_r)
{
	char *buf = xmalloc(len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		char c = subject[i];

		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && n > 0 && buf[n - 1] == ' ')
			continue;
		buf[n++] = c;
	}
	buf[n] = '\0';
	*len_r = n;
	return buf;
}

char *imap_base_subject(const char *subject, size_t len, int *reply_r)
{
	size_t b = 0, e, k;
	char *buf = normalize(subject, len, &e), *out;
	int reply = 0, changed;

	for (;;) {
		/* (2) trailers */
		for (;;) {
			if (e > b && buf[e - 1] == ' ') {
				e--;
			} else if (e - b >= 5 && strncasecmp(buf + e - 5, "(fwd)", 5) == 0) {
				e -= 5;
				reply = 1;
			} else {
				break;
			}
		}
		/* (3), (4), (5): leaders and blobs */
		do {
			changed = 0;
			for (;;) {
				if (b < e && buf[b] == ' ') {
					b++;
				} else if ((k = leader_len(buf + b, e - b)) > 0) {
					b += k;
					reply = 1;
				} else {
					break;
				}
			}
			k = blob_len(buf + b, e - b);
			if (k > 0 && b + k < e) {
				b += k;
				changed = 1;
			}
		} while (changed);
		/* (6) [fwd: ...] */
		if (e - b >= 6 && strncasecmp(buf + b, "[fwd:", 5) == 0 && buf[e - 1] == ']') {
			b += 5;
			e--;
			reply = 1;
			continue;
		}
		break;
	}
	out = xstrndup(buf + b, e - b);
	free(buf);
	if (reply_r != NULL)
		*reply_r = reply;
	return out;
}
