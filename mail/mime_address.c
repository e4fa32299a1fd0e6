/*
 * mime_address - address-list fields (From, To, Cc, ...) as IMAP's
 * ENVELOPE shows them: RFC 5322 section 3.4 with the obsolete forms of
 * section 4.4 (source routes, empty list elements, CFWS around dots).
 *
 * The value is cut into tokens first (atoms, quoted strings, domain
 * literals, comments, specials), then read address by address. Whatever
 * does not parse is skipped up to the next ',' so that one bad address
 * does not hide the others; an address without a domain gets host "",
 * one without a local part mailbox "". When an addr-spec has no display
 * name, its last comment serves ("user@host (Real Name)").
 */
#include <stdlib.h>
#include <string.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/mymalloc.h"

enum tok_type {
	TOK_ATOM,    /* atext run (8-bit bytes included) */
	TOK_QUOTED,  /* a quoted string: its content */
	TOK_LITERAL, /* a domain literal, brackets kept */
	TOK_COMMENT, /* a comment: its content */
	TOK_SPECIAL, /* one of ()<>[]:;@\,. and '"' left over */
};

struct tok {
	enum tok_type type;
	bool space_before; /* white space (or a comment) came before it */
	char *text;
	size_t len;
};

struct toks {
	struct tok *items;
	size_t count, alloc;
};

/* is_atext - atext, 8-bit bytes and stray control characters (NUL is dropped before). */
static bool is_atext(unsigned char c)
{
	return c >= 0x80 || (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != 0 &&
			     strchr("()<>[]:;@\\,.\"", c) == NULL);
}

static void tok_add(struct toks *t, enum tok_type type, bool space, struct strbuf *text)
{
	if (t->count == t->alloc) {
		t->alloc = t->alloc == 0 ? 16 : t->alloc * 2;
		t->items = xreallocarray(t->items, t->alloc, sizeof(*t->items));
	}
	t->items[t->count].type = type;
	t->items[t->count].space_before = space;
	t->items[t->count].len = text->len;
	t->items[t->count].text = strbuf_detach(text);
	t->count++;
}

/* literal - a domain literal "[...]" at lx (kept whole, folding removed). */
static void literal(struct mime_lex *lx, struct strbuf *out)
{
	while (lx->p < lx->end) {
		unsigned char c = *lx->p++;

		if (c == '\\' && lx->p < lx->end)
			c = *lx->p++;
		else if (c == '\r' || c == '\n')
			continue;
		strbuf_putc(out, c);
		if (c == ']')
			return;
	}
}

static void tokenize(const char *value, size_t len, struct toks *t)
{
	struct strbuf text = STRBUF_INIT, comment = STRBUF_INIT;
	struct mime_lex lx;
	const unsigned char *before;
	bool space;

	mime_lex_init(&lx, value, len);
	for (;;) {
		before = lx.p;
		while (lx.p < lx.end &&
		       (*lx.p == ' ' || *lx.p == '\t' || *lx.p == '\r' || *lx.p == '\n'))
			lx.p++;
		space = lx.p != before;
		if (lx.p == lx.end)
			break;
		if (*lx.p == '\0') {
			lx.p++;
			continue;
		}
		if (*lx.p == '(') {
			strbuf_reset(&comment);
			mime_lex_cfws(&lx, &comment);
			/* the cfws skip may also have eaten white space after the comment */
			tok_add(t, TOK_COMMENT, true, &comment);
			continue;
		}
		if (*lx.p == '"') {
			mime_lex_quoted(&lx, &text);
			tok_add(t, TOK_QUOTED, space, &text);
		} else if (*lx.p == '[') {
			literal(&lx, &text);
			tok_add(t, TOK_LITERAL, space, &text);
		} else if (is_atext(*lx.p)) {
			while (lx.p < lx.end && is_atext(*lx.p))
				strbuf_putc(&text, *lx.p++);
			tok_add(t, TOK_ATOM, space, &text);
		} else {
			strbuf_putc(&text, *lx.p++);
			tok_add(t, TOK_SPECIAL, space, &text);
		}
	}
	strbuf_free(&text);
	strbuf_free(&comment);
}

static bool is_special(const struct tok *tk, char c)
{
	return tk->type == TOK_SPECIAL && tk->text[0] == c;
}

/* How join() puts words together. */
enum join_mode {
	JOIN_PHRASE, /* one space where white space was ("John Q. Public") */
	JOIN_LOCAL,  /* no space around dots ("a . b" is "a.b"), one between words */
	JOIN_TIGHT,  /* no space at all (domains) */
};

/* join - the words of tokens [from, to), comments left out; NULL when there are none. */
static char *join(const struct toks *t, size_t from, size_t to, enum join_mode mode)
{
	struct strbuf out = STRBUF_INIT;
	bool prev_dot = false, first = true, space;
	size_t i;

	for (i = from; i < to; i++) {
		const struct tok *tk = &t->items[i];
		bool dot = is_special(tk, '.');

		if (tk->type == TOK_COMMENT)
			continue;
		space = !first && tk->space_before && !dot;
		if (mode == JOIN_LOCAL && prev_dot)
			space = false;
		if (space && mode != JOIN_TIGHT)
			strbuf_putc(&out, ' ');
		strbuf_append(&out, tk->text, tk->len);
		prev_dot = dot;
		first = false;
	}
	if (first) {
		strbuf_free(&out);
		return NULL;
	}
	return strbuf_detach(&out);
}

static struct mime_address *addr_new(struct mime_addresses *list)
{
	struct mime_address *a;

	/* room doubles when the count reaches a power of two */
	if ((list->count & (list->count - 1)) == 0)
		list->items = xreallocarray(list->items, list->count == 0 ? 1 : list->count * 2,
					    sizeof(*list->items));
	a = &list->items[list->count++];
	memset(a, 0, sizeof(*a));
	return a;
}

/* set_name - the display name (raw and decoded) from a phrase or comment. */
static void set_name(struct mime_address *a, char *raw)
{
	struct strbuf dec = STRBUF_INIT;

	if (raw == NULL || raw[0] == '\0') {
		free(raw);
		return;
	}
	a->name_raw = raw;
	mime_decode_words(raw, strlen(raw), &dec);
	a->name = strbuf_detach(&dec);
}

/* find_in - the first token in [i, end) that is one of the specials in set (end if none). */
static size_t find_in(const struct toks *t, size_t i, size_t end, const char *set)
{
	for (; i < end; i++) {
		if (t->items[i].type == TOK_SPECIAL &&
		    memchr(set, t->items[i].text[0], strlen(set)) != NULL)
			return i;
	}
	return i;
}

/* find - the first token from i on that is one of the specials in set (t->count if none). */
static size_t find(const struct toks *t, size_t i, const char *set)
{
	return find_in(t, i, t->count, set);
}

/* domain_end - where the domain that starts at token i ends (at garbage after it, or end). */
static size_t domain_end(const struct toks *t, size_t i, size_t end)
{
	bool want_word = true;

	for (; i < end; i++) {
		const struct tok *tk = &t->items[i];

		if (tk->type == TOK_COMMENT)
			continue;
		if (is_special(tk, '.'))
			want_word = true;
		else if (tk->type == TOK_SPECIAL || !want_word)
			break;
		else
			want_word = false;
	}
	return i;
}

/* addr_spec - local@domain from tokens [i, end): mailbox and host of a. */
static void addr_spec(const struct toks *t, size_t i, size_t end, struct mime_address *a)
{
	size_t at = find_in(t, i, end, "@");

	a->mailbox = join(t, i, at, JOIN_LOCAL);
	if (a->mailbox == NULL)
		a->mailbox = xstrdup("");
	a->host = at < end ? join(t, at + 1, domain_end(t, at + 1, end), JOIN_TIGHT) : NULL;
	if (a->host == NULL)
		a->host = xstrdup("");
}

/* angle - "<[@route:]local@domain>" from the '<' at i; returns the token after '>'. */
static size_t angle(const struct toks *t, size_t i, struct mime_address *a)
{
	size_t close = find(t, i + 1, "><"), colon, start = i + 1;

	/* a missing '>' (none, or another '<' first) ends the address at the next ',' */
	if (close == t->count || is_special(&t->items[close], '<'))
		close = find_in(t, i + 1, close, ",;");
	while (start < close && t->items[start].type == TOK_COMMENT)
		start++;
	if (start < close && is_special(&t->items[start], '@')) {
		colon = find_in(t, start, close, ":");
		if (colon < close) {
			struct strbuf route = STRBUF_INIT;
			size_t k;

			for (k = start; k < colon; k++) {
				if (t->items[k].type == TOK_COMMENT)
					continue;
				if (is_special(&t->items[k], ',') && route.len > 0)
					strbuf_putc(&route, ',');
				else if (!is_special(&t->items[k], ','))
					strbuf_append(&route, t->items[k].text, t->items[k].len);
			}
			a->route = strbuf_detach(&route);
			start = colon + 1;
		}
	}
	addr_spec(t, start, close, a);
	return close < t->count && is_special(&t->items[close], '>') ? close + 1 : close;
}

/* last_comment - the text of the last comment in [from, to), or NULL. */
static char *last_comment(const struct toks *t, size_t from, size_t to)
{
	size_t i;

	for (i = to; i > from; i--) {
		if (t->items[i - 1].type == TOK_COMMENT)
			return xstrndup(t->items[i - 1].text, t->items[i - 1].len);
	}
	return NULL;
}

/* mailbox - one mailbox from token i; returns where it ends (at ',' or ';' or the end). */
static size_t mailbox(const struct toks *t, size_t i, struct mime_addresses *list)
{
	size_t stop = find(t, i, "<,;"), end;
	struct mime_address *a = addr_new(list);

	if (stop < t->count && is_special(&t->items[stop], '<')) {
		set_name(a, join(t, i, stop, JOIN_PHRASE));
		end = angle(t, stop, a);
	} else {
		addr_spec(t, i, stop, a);
		set_name(a, last_comment(t, i, stop));
		end = stop;
	}
	/* anything else up to the next separator is garbage */
	return find(t, end, ",;");
}

static void group_start(struct mime_addresses *list, char *name)
{
	struct mime_address *a = addr_new(list);

	a->mailbox = name != NULL ? name : xstrdup("");
}

void mime_parse_addresses(const char *value, size_t len, struct mime_addresses *result)
{
	struct toks t = {NULL, 0, 0};
	bool in_group = false;
	size_t i = 0, j;

	result->items = NULL;
	result->count = 0;
	tokenize(value, len, &t);
	while (i < t.count) {
		const struct tok *tk = &t.items[i];

		if (tk->type == TOK_COMMENT || is_special(tk, ',')) {
			i++;
			continue;
		}
		if (is_special(tk, ';')) {
			if (in_group)
				(void)addr_new(result); /* the group's end */
			in_group = false;
			i++;
			continue;
		}
		j = find(&t, i, ":<@,;");
		if (!in_group && j < t.count && is_special(&t.items[j], ':')) {
			group_start(result, join(&t, i, j, JOIN_PHRASE));
			in_group = true;
			i = j + 1;
			continue;
		}
		j = mailbox(&t, i, result);
		i = j > i ? j : i + 1;
	}
	if (in_group)
		(void)addr_new(result);
	for (i = 0; i < t.count; i++)
		free(t.items[i].text);
	free(t.items);
}

void mime_addresses_free(struct mime_addresses *list)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		free(list->items[i].name);
		free(list->items[i].name_raw);
		free(list->items[i].route);
		free(list->items[i].mailbox);
		free(list->items[i].host);
	}
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
