/*
 * sendmail_addr - the mailboxes of an RFC 5322 address list, as sendmail -t
 * reads To:, Cc: and Bcc: and as recipient arguments may be written.
 *
 * The list is cut into tokens (words: atoms and quoted strings; the
 * specials , ; : < > @ . and domain literals), comments and white space
 * (folding included) are dropped, and each member is reduced to its
 * addr-spec: the part in angle brackets when there is one (without a source
 * route), else the member's tokens joined. Group names are dropped with
 * their colon and semicolon. Whether an addr-spec is a valid address is for
 * the caller to check (address_parse()).
 */
#include <stdlib.h>
#include <string.h>

#include "tools/sendmail/sendmail.h"
#include "util/mymalloc.h"

enum tok_type { T_WORD, T_SPECIAL, T_LITERAL, T_END };

struct token {
	enum tok_type type;
	const char *start;
	size_t len;
};

struct lexer {
	const char *p;
	char *error;
};

/* skip_comment - past a comment starting at *p ('('), nested; -1 if it does not end. */
static int skip_comment(const char **pp)
{
	const char *p = *pp;
	int depth = 0;

	do {
		if (*p == '\0')
			return -1;
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		p++;
	} while (depth > 0);
	*pp = p;
	return 0;
}

/* scan_until - past a quoted string or domain literal opened at *p, up to close. */
static int scan_until(const char **pp, char close)
{
	const char *p = *pp + 1;

	for (; *p != close; p++) {
		if (*p == '\0')
			return -1;
		if (*p == '\\' && p[1] != '\0')
			p++;
	}
	*pp = p + 1;
	return 0;
}

/* next_token - the next token; T_END at the end; -1 with lex->error on a malformed list. */
static int next_token(struct lexer *lex, struct token *t)
{
	const char *p = lex->p;

	for (;;) {
		p += strspn(p, " \t\r\n");
		if (*p != '(')
			break;
		if (skip_comment(&p) < 0) {
			lex->error = xstrdup("unterminated comment");
			return -1;
		}
	}
	t->start = p;
	if (*p == '\0') {
		t->type = T_END;
	} else if (*p == '"' || *p == '[') {
		t->type = *p == '"' ? T_WORD : T_LITERAL;
		if (scan_until(&p, *p == '"' ? '"' : ']') < 0) {
			lex->error = xstrdup(*t->start == '"' ? "unterminated quoted string"
							      : "unterminated domain literal");
			return -1;
		}
	} else if (strchr(",;:<>@.", *p) != NULL) {
		t->type = T_SPECIAL;
		p++;
	} else if (*p == ')' || *p == ']' || *p == '\\') {
		lex->error = xasprintf("unexpected '%c'", *p);
		return -1;
	} else {
		t->type = T_WORD;
		p += strcspn(p, " \t\r\n()<>@,;:\\\".[]");
	}
	t->len = (size_t)(p - t->start);
	lex->p = p;
	return 0;
}

static int special(const struct token *t, char c)
{
	return t->type == T_SPECIAL && *t->start == c;
}

/* One member being collected. */
struct member {
	struct strbuf spec; /* the addr-spec so far */
	int angle;	    /* inside < > */
	int angled;	    /* a < > part was seen */
	int after_angle;    /* tokens after '>' */
	int last_word;	    /* the previous token of spec was a word */
	int words;	    /* words outside < > (a phrase when several touch) */
	int phrase;	    /* two words touched outside < > */
};

/* finish - the member is complete: append its addr-spec, if any. */
static int finish(struct member *m, struct strbuf *out, size_t *n, char **error_r)
{
	int rc = 0;

	if (m->angled && m->spec.len == 0) {
		*error_r = xstrdup("empty address <>");
		rc = -1;
	} else if (!m->angled && m->phrase) {
		*error_r = xasprintf("\"%s\": a name without an <address>", strbuf_str(&m->spec));
		rc = -1;
	} else if (m->spec.len > 0) {
		strbuf_append(out, m->spec.data, m->spec.len + 1); /* with its NUL */
		(*n)++;
	}
	strbuf_free(&m->spec);
	memset(m, 0, sizeof(*m));
	return rc;
}

/* take - one token into the member outside angle brackets, or inside them. */
static int take(struct member *m, const struct token *t, char **error_r)
{
	int word = t->type == T_WORD || t->type == T_LITERAL;

	if (m->angle && special(t, ':') && m->spec.data != NULL && m->spec.data[0] == '@') {
		strbuf_reset(&m->spec); /* a source route: dropped */
		m->last_word = 0;
		return 0;
	}
	if (m->angle && special(t, ',') && m->spec.data != NULL && m->spec.data[0] == '@') {
		strbuf_putc(&m->spec, ',');
		m->last_word = 0;
		return 0;
	}
	if (t->type == T_SPECIAL && strchr("@.", *t->start) == NULL) {
		*error_r = xasprintf("unexpected '%c'", *t->start);
		return -1;
	}
	if (m->angled) {
		*error_r = xstrdup("text after <address>");
		return -1;
	}
	if (word && m->last_word && !m->angle)
		m->phrase = 1;
	else if (word && m->last_word) {
		*error_r = xstrdup("a space inside <address>");
		return -1;
	}
	strbuf_append(&m->spec, t->start, t->len);
	m->last_word = word;
	return 0;
}

/* step - one token of the list; -1 with *error_r when it does not fit. */
static int step(struct member *m, int *in_group, const struct token *t, struct strbuf *out,
		size_t *n, char **error_r)
{
	if (m->angle) {
		if (special(t, '>')) {
			m->angle = 0;
			m->angled = 1;
			m->last_word = 0;
			return 0;
		}
		return take(m, t, error_r);
	}
	if (special(t, ',') || t->type == T_END)
		return finish(m, out, n, error_r);
	if (special(t, ';')) {
		if (!*in_group) {
			*error_r = xstrdup("';' outside a group");
			return -1;
		}
		*in_group = 0;
		return finish(m, out, n, error_r);
	}
	if (special(t, ':')) {
		if (*in_group || m->angled) {
			*error_r = xstrdup("unexpected ':'");
			return -1;
		}
		*in_group = 1;
		strbuf_free(&m->spec);
		memset(m, 0, sizeof(*m));
		return 0;
	}
	if (special(t, '<')) {
		if (m->angled) {
			*error_r = xstrdup("two <addresses> in one member");
			return -1;
		}
		strbuf_reset(&m->spec); /* the display name */
		m->angle = 1;
		m->phrase = 0;
		m->last_word = 0;
		return 0;
	}
	return take(m, t, error_r);
}

int sendmail_addr_list(const char *text, char ***addrs, size_t *count, char **error_r)
{
	struct lexer lex = {text, NULL};
	struct strbuf out = STRBUF_INIT;
	struct member m;
	struct token t;
	size_t n = 0, i;
	const char *p;
	int in_group = 0, rc = 0;

	memset(&m, 0, sizeof(m));
	do {
		if (next_token(&lex, &t) < 0) {
			*error_r = lex.error;
			rc = -1;
		} else if (t.type == T_END && m.angle) {
			*error_r = xstrdup("unterminated <address>");
			rc = -1;
		} else {
			rc = step(&m, &in_group, &t, &out, &n, error_r);
		}
	} while (rc == 0 && t.type != T_END);
	strbuf_free(&m.spec);
	if (rc == 0 && n > 0) {
		*addrs = xreallocarray(*addrs, *count + n, sizeof(**addrs));
		for (i = 0, p = out.data; i < n; i++, p += strlen(p) + 1)
			(*addrs)[(*count)++] = xstrdup(p);
	}
	strbuf_free(&out);
	return rc;
}
