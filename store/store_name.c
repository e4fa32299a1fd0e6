/*
 * store_name - the rules for mailbox names and keywords, and UID sets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store_impl.h"
#include "util/mymalloc.h"

/* Longest keyword accepted (IMAP gives no limit; this keeps rows small). */
#define STORE_KEYWORD_LEN_MAX 128

/* utf8_char - the length of the valid UTF-8 character at p (n bytes left), or 0; *cp_r its value. */
static size_t utf8_char(const unsigned char *p, size_t n, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		len = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

char *store_name_normalize(const char *name, char **error_r)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len, i, n;
	uint32_t cp;
	char *out;

	if (name == NULL || (len = strlen(name)) == 0) {
		*error_r = xstrdup("empty mailbox name");
		return NULL;
	}
	if (len > STORE_NAME_MAX) {
		*error_r = xasprintf("mailbox name longer than %d bytes", STORE_NAME_MAX);
		return NULL;
	}
	if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//") != NULL) {
		*error_r = xstrdup("mailbox name with an empty hierarchy level");
		return NULL;
	}
	for (i = 0; i < len; i += n) {
		if ((n = utf8_char(p + i, len - i, &cp)) == 0) {
			*error_r = xstrdup("mailbox name that is not UTF-8");
			return NULL;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			*error_r = xstrdup("mailbox name with a control character");
			return NULL;
		}
	}
	out = xstrdup(name);
	if (strncasecmp(out, "INBOX", 5) == 0 && (out[5] == '\0' || out[5] == '/'))
		memcpy(out, "INBOX", 5);
	return out;
}

int store_keyword_valid(const char *kw)
{
	const unsigned char *p;

	if (kw == NULL || kw[0] == '\0' || kw[0] == '\\' || strlen(kw) > STORE_KEYWORD_LEN_MAX)
		return 0;
	for (p = (const unsigned char *)kw; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return 0;
	}
	return 1;
}

int store_keywords_has(const char *list, const char *kw, size_t kwlen)
{
	const char *p = list;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n == kwlen && strncasecmp(p, kw, n) == 0)
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

size_t store_keywords_count(const char *list)
{
	const char *p = list + strspn(list, " ");
	size_t count = 0;

	while (*p != '\0') {
		count++;
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	return count;
}

void store_uids_add(struct store_uids *uids, size_t *size, uint32_t uid)
{
	if (uids->count == *size) {
		*size = *size ? 2 * *size : 16;
		uids->uids = xreallocarray(uids->uids, *size, sizeof(uint32_t));
	}
	uids->uids[uids->count++] = uid;
}

void store_uids_free(struct store_uids *uids)
{
	if (uids == NULL)
		return;
	free(uids->uids);
	uids->uids = NULL;
	uids->count = 0;
}

void store_names_free(char **names, size_t count)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}
