/*
 * test_mime_check - the IMAP envelope and body checker of test_mime_check.h.
 *
 * Reading: a list holds elements separated by one space, except that a
 * list may follow a list directly (the parts of a multipart, the
 * addresses of a list); quoted strings hold no CR, LF, NUL or 8-bit byte
 * and escape only '"' and '\'; literals are "{n}" CR LF and n bytes
 * without NUL; atoms are NIL or numbers.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/unit/test_mime_check.h"

enum node_type { N_NIL, N_NUMBER, N_STRING, N_LIST };

struct node {
	enum node_type type;
	char *str; /* N_STRING: its bytes (NUL-terminated; holds no NUL) */
	struct node *items;
	size_t count;
};

struct reader {
	const char *p, *end;
	const char *why;
	int depth;
};

static void node_free(struct node *n)
{
	size_t i;

	for (i = 0; i < n->count; i++)
		node_free(&n->items[i]);
	free(n->items);
	free(n->str);
}

static int fail(struct reader *r, const char *why)
{
	if (r->why == NULL)
		r->why = why;
	return -1;
}

static int read_node(struct reader *r, struct node *n);

static int read_quoted(struct reader *r, struct node *n)
{
	size_t cap = 16, len = 0;
	char *s = malloc(cap);

	r->p++;
	for (;;) {
		unsigned char c;

		if (r->p == r->end) {
			free(s);
			return fail(r, "unterminated quoted string");
		}
		c = (unsigned char)*r->p++;
		if (c == '"')
			break;
		if (c == '\\') {
			if (r->p == r->end || (*r->p != '"' && *r->p != '\\')) {
				free(s);
				return fail(r, "bad escape in quoted string");
			}
			c = (unsigned char)*r->p++;
		} else if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) {
			free(s);
			return fail(r, "CR, LF, NUL or 8-bit byte in a quoted string");
		}
		if (len + 1 >= cap)
			s = realloc(s, cap *= 2);
		s[len++] = (char)c;
	}
	s[len] = '\0';
	n->type = N_STRING;
	n->str = s;
	return 0;
}

static int read_literal(struct reader *r, struct node *n)
{
	size_t len = 0, digits = 0;

	r->p++;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && digits < 10) {
		len = len * 10 + (size_t)(*r->p++ - '0');
		digits++;
	}
	if (digits == 0 || r->end - r->p < 3 || r->p[0] != '}' || r->p[1] != '\r' ||
	    r->p[2] != '\n')
		return fail(r, "bad literal header");
	r->p += 3;
	if ((size_t)(r->end - r->p) < len)
		return fail(r, "literal longer than the input");
	if (memchr(r->p, '\0', len) != NULL)
		return fail(r, "NUL in a literal");
	n->type = N_STRING;
	n->str = malloc(len + 1);
	memcpy(n->str, r->p, len);
	n->str[len] = '\0';
	r->p += len;
	return 0;
}

static int read_list(struct reader *r, struct node *n)
{
	size_t cap = 0;

	if (++r->depth > 200)
		return fail(r, "nesting too deep");
	n->type = N_LIST;
	r->p++;
	while (r->p < r->end && *r->p != ')') {
		if (n->count > 0) {
			bool list_follows = *r->p == '(' && n->items[n->count - 1].type == N_LIST;

			if (*r->p == ' ')
				r->p++;
			else if (!list_follows)
				return fail(r, "elements not separated by a space");
		}
		if (n->count == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			n->items = realloc(n->items, cap * sizeof(*n->items));
		}
		memset(&n->items[n->count], 0, sizeof(n->items[0]));
		n->count++;
		if (read_node(r, &n->items[n->count - 1]) < 0)
			return -1;
	}
	if (r->p == r->end)
		return fail(r, "unterminated list");
	r->p++;
	r->depth--;
	return 0;
}

static int read_node(struct reader *r, struct node *n)
{
	const char *start = r->p;

	if (r->p == r->end)
		return fail(r, "missing element");
	switch (*r->p) {
	case '(':
		return read_list(r, n);
	case '"':
		return read_quoted(r, n);
	case '{':
		return read_literal(r, n);
	default:
		break;
	}
	if (r->end - r->p >= 3 && memcmp(r->p, "NIL", 3) == 0) {
		r->p += 3;
		n->type = N_NIL;
	} else {
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
		if (r->p == start || r->p - start > 20)
			return fail(r, "bad atom");
		n->type = N_NUMBER;
	}
	if (r->p < r->end && *r->p != ' ' && *r->p != ')')
		return fail(r, "atom not followed by a space or ')'");
	return 0;
}

/* ------------------------------------------------------------ grammar */

static bool is_nstring(const struct node *n)
{
	return n->type == N_NIL || n->type == N_STRING;
}

static int check_address(struct reader *r, const struct node *a, bool *in_group)
{
	size_t i;

	if (a->type != N_LIST || a->count != 4)
		return fail(r, "address is not a list of 4");
	for (i = 0; i < 4; i++) {
		if (!is_nstring(&a->items[i]))
			return fail(r, "address element is not an nstring");
	}
	if (a->items[3].type == N_NIL) {
		/* group syntax: start (mailbox = name) or end (all NIL) */
		if (a->items[2].type == N_STRING) {
			if (*in_group)
				return fail(r, "group inside a group");
			*in_group = true;
		} else {
			if (!*in_group || a->items[0].type != N_NIL || a->items[1].type != N_NIL)
				return fail(r, "bad group end");
			*in_group = false;
		}
	} else if (a->items[2].type == N_NIL) {
		return fail(r, "address with a host but no mailbox");
	}
	return 0;
}

static int check_address_list(struct reader *r, const struct node *n)
{
	bool in_group = false;
	size_t i;

	if (n->type == N_NIL)
		return 0;
	if (n->type != N_LIST || n->count == 0)
		return fail(r, "address list is neither NIL nor a non-empty list");
	for (i = 0; i < n->count; i++) {
		if (check_address(r, &n->items[i], &in_group) < 0)
			return -1;
	}
	return in_group ? fail(r, "group not ended") : 0;
}

static int check_env(struct reader *r, const struct node *n)
{
	size_t i;

	if (n->type != N_LIST || n->count != 10)
		return fail(r, "envelope is not a list of 10");
	for (i = 0; i < 10; i++) {
		if (i >= 2 && i <= 7) {
			if (check_address_list(r, &n->items[i]) < 0)
				return -1;
		} else if (!is_nstring(&n->items[i])) {
			return fail(r, "envelope field is not an nstring");
		}
	}
	return 0;
}

/* check_params - body-fld-param: NIL or a list of string pairs. */
static int check_params(struct reader *r, const struct node *n)
{
	size_t i;

	if (n->type == N_NIL)
		return 0;
	if (n->type != N_LIST || n->count == 0 || n->count % 2 != 0)
		return fail(r, "parameters are neither NIL nor string pairs");
	for (i = 0; i < n->count; i++) {
		if (n->items[i].type != N_STRING)
			return fail(r, "parameter is not a string");
	}
	return 0;
}

/* check_ext - body-fld-dsp SP body-fld-lang SP body-fld-loc at items[i..i+3). */
static int check_ext(struct reader *r, const struct node *items)
{
	const struct node *dsp = &items[0], *lang = &items[1];
	size_t i;

	if (dsp->type != N_NIL &&
	    (dsp->type != N_LIST || dsp->count != 2 || dsp->items[0].type != N_STRING ||
	     check_params(r, &dsp->items[1]) < 0))
		return fail(r, "bad disposition");
	if (lang->type == N_LIST) {
		if (lang->count == 0)
			return fail(r, "empty language list");
		for (i = 0; i < lang->count; i++) {
			if (lang->items[i].type != N_STRING)
				return fail(r, "language is not a string");
		}
	} else if (!is_nstring(lang)) {
		return fail(r, "bad language");
	}
	if (!is_nstring(&items[2]))
		return fail(r, "location is not an nstring");
	return 0;
}

static int check_body(struct reader *r, const struct node *n, bool extended, int depth);

static int check_multipart(struct reader *r, const struct node *n, bool extended, int depth)
{
	size_t i = 0;

	while (i < n->count && n->items[i].type == N_LIST) {
		if (check_body(r, &n->items[i], extended, depth + 1) < 0)
			return -1;
		i++;
	}
	if (i == n->count || n->items[i].type != N_STRING)
		return fail(r, "multipart without its subtype");
	i++;
	if (!extended)
		return i == n->count ? 0 : fail(r, "BODY multipart with extension data");
	if (n->count - i != 4)
		return fail(r, "multipart extension data is not 4 elements");
	if (check_params(r, &n->items[i]) < 0)
		return -1;
	return check_ext(r, &n->items[i + 1]);
}

static int check_single(struct reader *r, const struct node *n, bool extended, int depth)
{
	const struct node *it = n->items;
	size_t i = 7;
	bool text, message;

	if (n->count < 7)
		return fail(r, "body part with fewer than 7 fields");
	if (it[0].type != N_STRING || it[1].type != N_STRING)
		return fail(r, "type or subtype is not a string");
	text = strcasecmp(it[0].str, "text") == 0;
	message = strcasecmp(it[0].str, "message") == 0 && strcasecmp(it[1].str, "rfc822") == 0;
	if (check_params(r, &it[2]) < 0)
		return -1;
	if (!is_nstring(&it[3]) || !is_nstring(&it[4]) || it[5].type != N_STRING ||
	    it[6].type != N_NUMBER)
		return fail(r, "bad body fields");
	if (message) {
		if (n->count < 10 || check_env(r, &it[7]) < 0 ||
		    check_body(r, &it[8], extended, depth + 1) < 0 || it[9].type != N_NUMBER)
			return fail(r, "bad message/rfc822 fields");
		i = 10;
	} else if (text) {
		if (n->count < 8 || it[7].type != N_NUMBER)
			return fail(r, "text part without its lines");
		i = 8;
	}
	if (!extended)
		return i == n->count ? 0 : fail(r, "BODY part with extension data");
	if (n->count - i != 4)
		return fail(r, "part extension data is not 4 elements");
	if (!is_nstring(&it[i]))
		return fail(r, "md5 is not an nstring");
	return check_ext(r, &it[i + 1]);
}

static int check_body(struct reader *r, const struct node *n, bool extended, int depth)
{
	if (n->type != N_LIST || n->count == 0)
		return fail(r, "body is not a non-empty list");
	if (n->items[0].type == N_LIST)
		return check_multipart(r, n, extended, depth);
	return check_single(r, n, extended, depth);
}

/* parse_one - s as exactly one element. */
static int parse_one(struct reader *r, const char *s, size_t len, struct node *n)
{
	r->p = s;
	r->end = s + len;
	r->why = NULL;
	r->depth = 0;
	memset(n, 0, sizeof(*n));
	if (read_node(r, n) < 0)
		return -1;
	if (r->p != r->end)
		return fail(r, "text after the element");
	return 0;
}

int mime_check_envelope(const char *s, size_t len, const char **why)
{
	struct reader r;
	struct node n;
	int ret = parse_one(&r, s, len, &n);

	if (ret == 0)
		ret = check_env(&r, &n);
	node_free(&n);
	*why = r.why;
	return ret;
}

int mime_check_body(const char *s, size_t len, int extended, const char **why)
{
	struct reader r;
	struct node n;
	int ret = parse_one(&r, s, len, &n);

	if (ret == 0)
		ret = check_body(&r, &n, extended != 0, 0);
	node_free(&n);
	*why = r.why;
	return ret;
}
