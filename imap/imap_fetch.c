/*
 * imap_fetch - parsing of FETCH data items and their sections, and the
 * names that responses give them. See imap_fetch.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_fetch.h"
#include "imap/imap_write.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

static const struct item {
	const char *name;
	enum imap_fetch_type type;
	int peek;
} plain_items[] =
    {
	{"ENVELOPE", IMAP_FETCH_ENVELOPE, 0},
	{"FLAGS", IMAP_FETCH_FLAGS, 0},
	{"INTERNALDATE", IMAP_FETCH_INTERNALDATE, 0},
	{"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE, 0},
	{"RFC822", IMAP_FETCH_RFC822, 0},
	{"RFC822.HEADER", IMAP_FETCH_RFC822_HEADER, 0},
	{"RFC822.TEXT", IMAP_FETCH_RFC822_TEXT, 0},
	{"BODY", IMAP_FETCH_BODY, 0},
	{"BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE, 0},
	{"UID", IMAP_FETCH_UID, 0},
	{"MODSEQ", IMAP_FETCH_MODSEQ, 0},
},
  section_items[] = {
      {"BODY", IMAP_FETCH_SECTION, 0},
      {"BODY.PEEK", IMAP_FETCH_SECTION, 1},
      {"BINARY", IMAP_FETCH_BINARY, 0},
      {"BINARY.PEEK", IMAP_FETCH_BINARY, 1},
      {"BINARY.SIZE", IMAP_FETCH_BINARY_SIZE, 0},
};

static const char *const text_names[] = {"",	 "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
					 "TEXT", "MIME"};

/* The text of an item being read. */
struct cur {
	const char *s;
	size_t len;
	size_t pos;
};

static int peek_c(const struct cur *c)
{
	return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static const struct item *lookup(const struct item *items, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(items[i].name) == len && strncasecmp(items[i].name, s, len) == 0)
			return &items[i];
	return NULL;
}

/* read_number - number64 at c (nz: not 0); no leading zeros. */
static int read_number(struct cur *c, int nz, uint64_t max, uint64_t *n_r)
{
	uint64_t v = 0;
	size_t start = c->pos;
	int d;

	while ((d = peek_c(c)) >= '0' && d <= '9') {
		if (v > (max - (uint64_t)(d - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(d - '0');
		c->pos++;
	}
	if (c->pos == start || (c->s[start] == '0' && c->pos - start > 1) || (nz && v == 0))
		return -1;
	*n_r = v;
	return 0;
}

/* field_char - what a header field name may hold. */
static int field_char(int ch)
{
	return ch > 0x20 && ch < 0x7f && ch != ':';
}

/* read_field - one header field name, an atom or quoted; appended to att. */
static int read_field(struct cur *c, struct imap_fetch_att *att)
{
	struct strbuf name = STRBUF_INIT;
	size_t i;
	int ch;

	if (peek_c(c) == '"') {
		c->pos++;
		while ((ch = peek_c(c)) != '"') {
			if (ch == '\\') {
				c->pos++;
				ch = peek_c(c);
				if (ch != '"' && ch != '\\')
					goto bad;
			}
			if (ch < 0)
				goto bad;
			strbuf_putc(&name, ch);
			c->pos++;
		}
		c->pos++;
	} else {
		while ((ch = peek_c(c)) > 0x20 && ch != ')' && strchr("({%*\"\\", ch) == NULL) {
			strbuf_putc(&name, ch);
			c->pos++;
		}
	}
	if (name.len == 0)
		goto bad;
	for (i = 0; i < name.len; i++)
		if (!field_char((unsigned char)name.data[i]))
			goto bad;
	att->fields = xreallocarray(att->fields, att->nfields + 1, sizeof(*att->fields));
	att->fields[att->nfields++] = strbuf_detach(&name);
	return 0;
bad:
	strbuf_free(&name);
	return -1;
}

/* read_fields - " (" names ")" after HEADER.FIELDS[.NOT]. */
static int read_fields(struct cur *c, struct imap_fetch_att *att)
{
	if (peek_c(c) != ' ')
		return -1;
	c->pos++;
	if (peek_c(c) != '(')
		return -1;
	c->pos++;
	for (;;) {
		while (peek_c(c) == ' ')
			c->pos++;
		if (peek_c(c) == ')')
			break;
		if (read_field(c, att) < 0)
			return -1;
		if (peek_c(c) != ' ' && peek_c(c) != ')')
			return -1;
	}
	c->pos++;
	return att->nfields > 0 ? 0 : -1;
}

/* read_text - HEADER, HEADER.FIELDS[.NOT] (...), TEXT or MIME at c. */
static int read_text(struct cur *c, struct imap_fetch_att *att)
{
	static const enum imap_section_text order[] = {
	    IMAP_SECTION_HEADER_FIELDS_NOT, IMAP_SECTION_HEADER_FIELDS, IMAP_SECTION_HEADER,
	    IMAP_SECTION_TEXT, IMAP_SECTION_MIME}; /* longest first */
	size_t i, n;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		n = strlen(text_names[order[i]]);
		if (c->len - c->pos >= n &&
		    strncasecmp(c->s + c->pos, text_names[order[i]], n) == 0)
			break;
	}
	if (i == sizeof(order) / sizeof(order[0]))
		return -1;
	c->pos += n;
	att->text = order[i];
	if (att->text == IMAP_SECTION_MIME && att->nparts == 0)
		return -1;
	if (att->text == IMAP_SECTION_HEADER_FIELDS || att->text == IMAP_SECTION_HEADER_FIELDS_NOT)
		return read_fields(c, att);
	return 0;
}

/* read_section - after "[": parts, text, "]". */
static int read_section(struct cur *c, struct imap_fetch_att *att)
{
	uint64_t n;
	int ch;

	while ((ch = peek_c(c)) >= '0' && ch <= '9') {
		if (att->nparts == IMAP_SECTION_PARTS_MAX || read_number(c, 1, UINT32_MAX, &n) < 0)
			return -1;
		att->part[att->nparts++] = (uint32_t)n;
		if (peek_c(c) != '.')
			break;
		c->pos++;
		ch = peek_c(c);
		if (ch < '0' || ch > '9')
			break; /* a text follows the parts */
	}
	/* parts and text are joined by a dot; the dot needs a text after it */
	if (peek_c(c) == ']') {
		if (att->nparts > 0 && c->s[c->pos - 1] == '.')
			return -1;
	} else {
		if (att->nparts > 0 && c->s[c->pos - 1] != '.')
			return -1;
		if (att->type != IMAP_FETCH_SECTION || read_text(c, att) < 0)
			return -1;
	}
	if (peek_c(c) != ']')
		return -1;
	c->pos++;
	return 0;
}

/* read_partial - "<offset.length>". */
static int read_partial(struct cur *c, struct imap_fetch_att *att)
{
	c->pos++;
	if (read_number(c, 0, INT64_MAX, &att->offset) < 0 || peek_c(c) != '.')
		return -1;
	c->pos++;
	if (read_number(c, 1, INT64_MAX, &att->length) < 0 || peek_c(c) != '>')
		return -1;
	c->pos++;
	att->partial = 1;
	return 0;
}

static void att_free(struct imap_fetch_att *att)
{
	size_t i;

	for (i = 0; i < att->nfields; i++)
		free(att->fields[i]);
	free(att->fields);
}

/* parse_att - one data item; fills att. */
static int parse_att(const struct imap_arg *arg, struct imap_fetch_att *att, char **error_r)
{
	struct cur c;
	const char *bracket;
	const struct item *it;
	size_t nlen;

	memset(att, 0, sizeof(*att));
	if (arg->type != IMAP_ARG_ATOM)
		goto bad;
	c = (struct cur){arg->str, arg->len, 0};
	bracket = memchr(arg->str, '[', arg->len);
	nlen = bracket != NULL ? (size_t)(bracket - arg->str) : arg->len;
	if (bracket == NULL) {
		it = lookup(plain_items, sizeof(plain_items) / sizeof(plain_items[0]), arg->str,
			    nlen);
		if (it == NULL)
			goto bad;
		att->type = it->type;
		return 0;
	}
	it =
	    lookup(section_items, sizeof(section_items) / sizeof(section_items[0]), arg->str, nlen);
	if (it == NULL)
		goto bad;
	att->type = it->type;
	att->peek = it->peek;
	c.pos = nlen + 1;
	if (read_section(&c, att) < 0)
		goto bad;
	if (peek_c(&c) == '<' && att->type != IMAP_FETCH_BINARY_SIZE && read_partial(&c, att) < 0)
		goto bad;
	if (c.pos != c.len)
		goto bad;
	return 0;
bad:
	att_free(att);
	memset(att, 0, sizeof(*att));
	*error_r = xasprintf("Invalid fetch attribute %.80s", arg->type == IMAP_ARG_LIST ? "(...)"
							      : arg->str != NULL	 ? arg->str
											 : "");
	return -1;
}

static struct imap_fetch_att *add_att(struct imap_fetch *fetch)
{
	fetch->atts = xreallocarray(fetch->atts, fetch->count + 1, sizeof(*fetch->atts));
	memset(&fetch->atts[fetch->count], 0, sizeof(*fetch->atts));
	return &fetch->atts[fetch->count++];
}

/* macro - ALL, FAST or FULL: its attributes, or -1 when arg is none of them. */
static int macro(const struct imap_arg *arg, struct imap_fetch *fetch)
{
	static const enum imap_fetch_type fast[] = {IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE,
						    IMAP_FETCH_RFC822_SIZE, IMAP_FETCH_ENVELOPE,
						    IMAP_FETCH_BODY};
	size_t n, i;

	if (arg->type != IMAP_ARG_ATOM)
		return -1;
	if (strcasecmp(arg->str, "FAST") == 0)
		n = 3;
	else if (strcasecmp(arg->str, "ALL") == 0)
		n = 4;
	else if (strcasecmp(arg->str, "FULL") == 0)
		n = 5;
	else
		return -1;
	for (i = 0; i < n; i++)
		add_att(fetch)->type = fast[i];
	return 0;
}

int imap_fetch_parse(const struct imap_arg *arg, struct imap_fetch *fetch, char **error_r)
{
	const struct imap_arg *items = arg;
	size_t count = 1, i;
	struct imap_fetch_att *att;

	memset(fetch, 0, sizeof(*fetch));
	if (macro(arg, fetch) == 0)
		return 0;
	if (arg->type == IMAP_ARG_LIST) {
		items = arg->list;
		count = arg->count;
		if (count == 0) {
			*error_r = xstrdup("Empty list of fetch attributes");
			return -1;
		}
	}
	for (i = 0; i < count; i++) {
		att = add_att(fetch);
		if (parse_att(&items[i], att, error_r) < 0) {
			fetch->count--;
			return -1;
		}
		if ((att->type == IMAP_FETCH_SECTION || att->type == IMAP_FETCH_BINARY) &&
		    !att->peek)
			fetch->changes_seen = 1;
		if (att->type == IMAP_FETCH_RFC822 || att->type == IMAP_FETCH_RFC822_TEXT)
			fetch->changes_seen = 1;
	}
	return 0;
}

void imap_fetch_free(struct imap_fetch *fetch)
{
	size_t i;

	for (i = 0; i < fetch->count; i++)
		att_free(&fetch->atts[i]);
	free(fetch->atts);
	memset(fetch, 0, sizeof(*fetch));
}

void imap_fetch_att_name(struct strbuf *out, const struct imap_fetch_att *att)
{
	size_t i;

	switch (att->type) {
	case IMAP_FETCH_SECTION:
		strbuf_puts(out, "BODY[");
		break;
	case IMAP_FETCH_BINARY:
		strbuf_puts(out, "BINARY[");
		break;
	case IMAP_FETCH_BINARY_SIZE:
		strbuf_puts(out, "BINARY.SIZE[");
		break;
	default:
		for (i = 0; i < sizeof(plain_items) / sizeof(plain_items[0]); i++)
			if (plain_items[i].type == att->type)
				break;
		strbuf_puts(out, plain_items[i].name);
		return;
	}
	for (i = 0; i < att->nparts; i++)
		strbuf_printf(out, "%s%u", i > 0 ? "." : "", att->part[i]);
	if (att->text != IMAP_SECTION_ALL) {
		if (att->nparts > 0)
			strbuf_putc(out, '.');
		strbuf_puts(out, text_names[att->text]);
	}
	if (att->nfields > 0) {
		strbuf_puts(out, " (");
		for (i = 0; i < att->nfields; i++) {
			if (i > 0)
				strbuf_putc(out, ' ');
			/* "]" would end the section for some readers: quote it */
			if (strchr(att->fields[i], ']') != NULL)
				imap_write_quoted(out, att->fields[i], strlen(att->fields[i]));
			else
				imap_write_astring(out, att->fields[i], strlen(att->fields[i]), 0);
		}
		strbuf_putc(out, ')');
	}
	strbuf_putc(out, ']');
	if (att->partial)
		strbuf_printf(out, "<%llu>", (unsigned long long)att->offset);
}
