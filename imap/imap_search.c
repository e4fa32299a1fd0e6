/*
 * imap_search - a recursive-descent parser of IMAP search programs over
 * the argument tree of imap_parser.h, and of SORT criteria and THREAD
 * algorithms. See imap_search.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_arg.h"
#include "imap/imap_search.h"
#include "imap/imap_utf7.h"
#include "util/mymalloc.h"

/* The arguments being read. */
struct cursor {
	const struct imap_arg *args;
	size_t count;
	size_t pos;
	int uses_dollar;
	int uses_modseq;
};

/* How a key word is read. */
enum kind {
	K_NONE,	   /* no argument: type (and flag) alone */
	K_UNFLAG,  /* NOT over a flag */
	K_DATE,	   /* a date */
	K_STRING,  /* an astring */
	K_HEADERS, /* an astring, as HEADER with field */
	K_HEADER,  /* a field name and an astring */
	K_KEYWORD, /* a keyword */
	K_UNKEYWORD,
	K_NUMBER, /* a number64 */
	K_NOT,
	K_OR,
	K_UID,
	K_MODSEQ
};

static const struct key_word {
	const char *name;
	enum kind kind;
	enum imap_search_type type;
	unsigned flag;	   /* K_NONE with IMAP_SK_FLAG, K_UNFLAG */
	const char *field; /* K_HEADERS */
} key_words[] = {
    {"ALL", K_NONE, IMAP_SK_ALL, 0, NULL},
    {"ANSWERED", K_NONE, IMAP_SK_FLAG, IMAP_FLAG_ANSWERED, NULL},
    {"BCC", K_HEADERS, IMAP_SK_HEADER, 0, "Bcc"},
    {"BEFORE", K_DATE, IMAP_SK_BEFORE, 0, NULL},
    {"BODY", K_STRING, IMAP_SK_BODY, 0, NULL},
    {"CC", K_HEADERS, IMAP_SK_HEADER, 0, "Cc"},
    {"DELETED", K_NONE, IMAP_SK_FLAG, IMAP_FLAG_DELETED, NULL},
    {"DRAFT", K_NONE, IMAP_SK_FLAG, IMAP_FLAG_DRAFT, NULL},
    {"FLAGGED", K_NONE, IMAP_SK_FLAG, IMAP_FLAG_FLAGGED, NULL},
    {"FROM", K_HEADERS, IMAP_SK_HEADER, 0, "From"},
    {"HEADER", K_HEADER, IMAP_SK_HEADER, 0, NULL},
    {"KEYWORD", K_KEYWORD, IMAP_SK_KEYWORD, 0, NULL},
    {"LARGER", K_NUMBER, IMAP_SK_LARGER, 0, NULL},
    {"MODSEQ", K_MODSEQ, IMAP_SK_MODSEQ, 0, NULL},
    {"NEW", K_NONE, IMAP_SK_NEW, 0, NULL},
    {"NOT", K_NOT, IMAP_SK_NOT, 0, NULL},
    {"OLD", K_NONE, IMAP_SK_OLD, 0, NULL},
    {"ON", K_DATE, IMAP_SK_ON, 0, NULL},
    {"OR", K_OR, IMAP_SK_OR, 0, NULL},
    {"RECENT", K_NONE, IMAP_SK_RECENT, 0, NULL},
    {"SEEN", K_NONE, IMAP_SK_FLAG, IMAP_FLAG_SEEN, NULL},
    {"SENTBEFORE", K_DATE, IMAP_SK_SENTBEFORE, 0, NULL},
    {"SENTON", K_DATE, IMAP_SK_SENTON, 0, NULL},
    {"SENTSINCE", K_DATE, IMAP_SK_SENTSINCE, 0, NULL},
    {"SINCE", K_DATE, IMAP_SK_SINCE, 0, NULL},
    {"SMALLER", K_NUMBER, IMAP_SK_SMALLER, 0, NULL},
    {"SUBJECT", K_HEADERS, IMAP_SK_HEADER, 0, "Subject"},
    {"TEXT", K_STRING, IMAP_SK_TEXT, 0, NULL},
    {"TO", K_HEADERS, IMAP_SK_HEADER, 0, "To"},
    {"UID", K_UID, IMAP_SK_UIDSET, 0, NULL},
    {"UNANSWERED", K_UNFLAG, IMAP_SK_FLAG, IMAP_FLAG_ANSWERED, NULL},
    {"UNDELETED", K_UNFLAG, IMAP_SK_FLAG, IMAP_FLAG_DELETED, NULL},
    {"UNDRAFT", K_UNFLAG, IMAP_SK_FLAG, IMAP_FLAG_DRAFT, NULL},
    {"UNFLAGGED", K_UNFLAG, IMAP_SK_FLAG, IMAP_FLAG_FLAGGED, NULL},
    {"UNKEYWORD", K_UNKEYWORD, IMAP_SK_KEYWORD, 0, NULL},
    {"UNSEEN", K_UNFLAG, IMAP_SK_FLAG, IMAP_FLAG_SEEN, NULL},
};

static struct imap_search_key *key_new(enum imap_search_type type)
{
	struct imap_search_key *key = xcalloc(1, sizeof(*key));

	key->type = type;
	return key;
}

void imap_search_key_free(struct imap_search_key *key)
{
	struct imap_search_key *next;

	for (; key != NULL; key = next) {
		next = key->next;
		imap_search_key_free(key->child);
		imap_seqset_free(&key->set);
		free(key->field);
		free(key->str);
		free(key->entry);
		free(key);
	}
}

void imap_search_free(struct imap_search *search)
{
	imap_search_key_free(search->root);
	free(search->charset);
	memset(search, 0, sizeof(*search));
}

/* not_of - NOT over key. */
static struct imap_search_key *not_of(struct imap_search_key *key)
{
	struct imap_search_key *not = key_new(IMAP_SK_NOT);

	not ->child = key;
	return not ;
}

/* next_arg - the next argument of the key named name, or NULL with an error. */
static const struct imap_arg *next_arg(struct cursor *c, const char *name, char **error_r)
{
	if (c->pos >= c->count) {
		*error_r = xasprintf("Missing argument to %s", name);
		return NULL;
	}
	return &c->args[c->pos++];
}

/* search_string - an astring that must be UTF-8: malloc'd copy, or NULL. */
static char *search_string(const struct imap_arg *arg, const char *name, char **error_r)
{
	const char *s;
	size_t len;

	if (imap_arg_astring(arg, &s, &len) < 0) {
		*error_r = xasprintf("Invalid string for %s", name);
		return NULL;
	}
	if (!imap_utf8_valid(s, len)) {
		*error_r = xasprintf("Invalid UTF-8 in string for %s", name);
		return NULL;
	}
	return xstrdup(s);
}

/* field_name - a header field name: printable US-ASCII without ':'. */
static char *field_name(const struct imap_arg *arg, char **error_r)
{
	const char *s;
	size_t len, i;

	if (imap_arg_astring(arg, &s, &len) < 0 || len == 0)
		goto bad;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == ':')
			goto bad;
	return xstrdup(s);
bad:
	*error_r = xstrdup("Invalid header field name");
	return NULL;
}

/* set_key - a sequence set key (SEQSET, or UIDSET after UID). */
static struct imap_search_key *set_key(struct cursor *c, const struct imap_arg *arg,
				       enum imap_search_type type, char **error_r)
{
	struct imap_search_key *key;
	char *err = NULL;

	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = xstrdup("Invalid sequence set");
		return NULL;
	}
	key = key_new(type);
	if (imap_seqset_parse(arg->str, arg->len, IMAP_SEQSET_DOLLAR, &key->set, &err) < 0) {
		*error_r = xasprintf("%s: %.64s", err, arg->str);
		free(err);
		imap_search_key_free(key);
		return NULL;
	}
	if (key->set.dollar)
		c->uses_dollar = 1;
	return key;
}

/* modseq_key - MODSEQ [entry-name entry-type-req] mod-sequence-valzer. */
static struct imap_search_key *modseq_key(struct cursor *c, char **error_r)
{
	static const char *const types[] = {"priv", "shared", "all"};
	struct imap_search_key *key = key_new(IMAP_SK_MODSEQ);
	const struct imap_arg *arg;
	size_t i;

	c->uses_modseq = 1;
	if ((arg = next_arg(c, "MODSEQ", error_r)) == NULL)
		goto fail;
	if (arg->type == IMAP_ARG_QUOTED) {
		if (arg->len <= 7 || strncasecmp(arg->str, "/flags/", 7) != 0 ||
		    memchr(arg->str, '\0', arg->len) != NULL ||
		    (!imap_flag_keyword_valid(arg->str + 7) &&
		     imap_flag_system(arg->str + 7) == 0)) {
			*error_r = xstrdup("Invalid MODSEQ entry name");
			goto fail;
		}
		key->entry = xstrdup(arg->str);
		if ((arg = next_arg(c, "MODSEQ", error_r)) == NULL)
			goto fail;
		for (i = 0; i < 3; i++)
			if (imap_arg_atom_is(arg, types[i]))
				key->entry_type =
				    (enum imap_search_entry_type)(IMAP_ENTRY_PRIV + i);
		if (key->entry_type == IMAP_ENTRY_NONE) {
			*error_r = xstrdup("Invalid MODSEQ entry type");
			goto fail;
		}
		if ((arg = next_arg(c, "MODSEQ", error_r)) == NULL)
			goto fail;
	}
	if (imap_arg_number64(arg, &key->number) < 0) {
		*error_r = xstrdup("Invalid MODSEQ value");
		goto fail;
	}
	return key;
fail:
	imap_search_key_free(key);
	return NULL;
}

static struct imap_search_key *parse_key(struct cursor *c, unsigned depth, char **error_r);
static struct imap_search_key *parse_list(struct cursor *c, unsigned depth, char **error_r);

/* word_key - a key named by a word of the table, its arguments after it. */
static struct imap_search_key *word_key(struct cursor *c, const struct key_word *w, unsigned depth,
					char **error_r)
{
	struct imap_search_key *key = NULL, *sub;
	const struct imap_arg *arg = NULL;
	struct imap_date date;
	const char *s;

	if (w->kind == K_NOT || w->kind == K_OR) {
		if ((sub = parse_key(c, depth + 1, error_r)) == NULL)
			return NULL;
		key = key_new(w->type);
		key->child = sub;
		if (w->kind == K_OR && (sub->next = parse_key(c, depth + 1, error_r)) == NULL)
			goto fail;
		return key;
	}
	if (w->kind == K_MODSEQ)
		return modseq_key(c, error_r);
	if (w->kind != K_NONE && w->kind != K_UNFLAG &&
	    (arg = next_arg(c, w->name, error_r)) == NULL)
		return NULL;
	if (w->kind == K_UID)
		return set_key(c, arg, IMAP_SK_UIDSET, error_r);
	key = key_new(w->type);
	key->flag = w->flag;
	switch (w->kind) {
	case K_DATE:
		if (imap_arg_date(arg, &date) < 0) {
			*error_r = xasprintf("Invalid date for %s", w->name);
			goto fail;
		}
		key->day = imap_date_days(&date);
		break;
	case K_HEADER:
		if ((key->field = field_name(arg, error_r)) == NULL ||
		    (arg = next_arg(c, w->name, error_r)) == NULL)
			goto fail;
		/* fall through */
	case K_STRING:
	case K_HEADERS:
		if (w->field != NULL)
			key->field = xstrdup(w->field);
		if ((key->str = search_string(arg, w->name, error_r)) == NULL)
			goto fail;
		break;
	case K_KEYWORD:
	case K_UNKEYWORD:
		if (imap_arg_atom(arg, &s) < 0 || !imap_flag_keyword_valid(s)) {
			*error_r = xasprintf("Invalid keyword for %s", w->name);
			goto fail;
		}
		key->str = xstrdup(s);
		break;
	case K_NUMBER:
		if (imap_arg_number64(arg, &key->number) < 0) {
			*error_r = xasprintf("Invalid number for %s", w->name);
			goto fail;
		}
		break;
	default:
		break;
	}
	return w->kind == K_UNFLAG || w->kind == K_UNKEYWORD ? not_of(key) : key;
fail:
	imap_search_key_free(key);
	return NULL;
}

static struct imap_search_key *parse_key(struct cursor *c, unsigned depth, char **error_r)
{
	const struct imap_arg *arg;
	struct cursor sub;
	struct imap_search_key *key;
	size_t i;

	if (depth > IMAP_SEARCH_DEPTH_MAX) {
		*error_r = xstrdup("Search keys nested too deeply");
		return NULL;
	}
	if (c->pos >= c->count) {
		*error_r = xstrdup("Missing search key");
		return NULL;
	}
	arg = &c->args[c->pos++];
	if (arg->type == IMAP_ARG_LIST) {
		sub = (struct cursor){arg->list, arg->count, 0, 0, 0};
		key = parse_list(&sub, depth + 1, error_r);
		c->uses_dollar |= sub.uses_dollar;
		c->uses_modseq |= sub.uses_modseq;
		return key;
	}
	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = xstrdup("Invalid search key");
		return NULL;
	}
	if ((arg->str[0] >= '0' && arg->str[0] <= '9') || arg->str[0] == '*' ||
	    strcmp(arg->str, "$") == 0)
		return set_key(c, arg, IMAP_SK_SEQSET, error_r);
	for (i = 0; i < sizeof(key_words) / sizeof(key_words[0]); i++)
		if (strcasecmp(arg->str, key_words[i].name) == 0)
			return word_key(c, &key_words[i], depth, error_r);
	*error_r = xasprintf("Unknown search key %.64s", arg->str);
	return NULL;
}

/* parse_list - keys up to the end of c: one key, or AND over them. */
static struct imap_search_key *parse_list(struct cursor *c, unsigned depth, char **error_r)
{
	struct imap_search_key *first = NULL, **tail = &first, *key, *and;

	do {
		if ((key = parse_key(c, depth, error_r)) == NULL) {
			imap_search_key_free(first);
			return NULL;
		}
		*tail = key;
		tail = &key->next;
	} while (c->pos < c->count);
	if (first->next == NULL)
		return first;
	and = key_new(IMAP_SK_AND);
	and->child = first;
	return and;
}

/* parse_return - RETURN (options) of ESEARCH. */
static int parse_return(const struct imap_arg *arg, struct imap_search *search, char **error_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {{"MIN", IMAP_SEARCH_RETURN_MIN},
		    {"MAX", IMAP_SEARCH_RETURN_MAX},
		    {"ALL", IMAP_SEARCH_RETURN_ALL},
		    {"COUNT", IMAP_SEARCH_RETURN_COUNT},
		    {"SAVE", IMAP_SEARCH_RETURN_SAVE}};
	size_t i, j;

	if (arg->type != IMAP_ARG_LIST) {
		*error_r = xstrdup("RETURN needs a list of options");
		return IMAP_SEARCH_BAD;
	}
	search->esearch = 1;
	for (i = 0; i < arg->count; i++) {
		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (imap_arg_atom_is(&arg->list[i], opts[j].name))
				break;
		if (j == sizeof(opts) / sizeof(opts[0])) {
			*error_r = xstrdup("Unknown RETURN option");
			return IMAP_SEARCH_BAD;
		}
		search->options |= opts[j].bit;
	}
	if (arg->count == 0)
		search->options = IMAP_SEARCH_RETURN_ALL;
	return 0;
}

/* parse_charset - CHARSET's value: US-ASCII and UTF-8 only. */
static int parse_charset(const struct imap_arg *arg, struct imap_search *search, char **error_r)
{
	const char *s;
	size_t len, i;

	if (imap_arg_astring(arg, &s, &len) < 0) {
		*error_r = xstrdup("Invalid charset");
		return IMAP_SEARCH_BAD;
	}
	if (strcasecmp(s, "UTF-8") != 0 && strcasecmp(s, "US-ASCII") != 0) {
		*error_r = xstrdup("Unsupported charset");
		return IMAP_SEARCH_BADCHARSET;
	}
	search->charset = xstrdup(s);
	for (i = 0; i < len; i++)
		if (search->charset[i] >= 'a' && search->charset[i] <= 'z')
			search->charset[i] = (char)(search->charset[i] - 'a' + 'A');
	return 0;
}

int imap_search_parse(const struct imap_arg *args, size_t count, unsigned flags,
		      struct imap_search *search, char **error_r)
{
	struct cursor c = {args, count, 0, 0, 0};
	int r;

	memset(search, 0, sizeof(*search));
	if ((flags & IMAP_SEARCH_ALLOW_RETURN) && count > 0 &&
	    imap_arg_atom_is(&args[0], "RETURN")) {
		if (count < 2) {
			*error_r = xstrdup("Missing RETURN options");
			return IMAP_SEARCH_BAD;
		}
		if ((r = parse_return(&args[1], search, error_r)) < 0)
			return r;
		c.pos = 2;
	}
	if (flags & IMAP_SEARCH_NEED_CHARSET) {
		if (c.pos >= count) {
			*error_r = xstrdup("Missing charset");
			return IMAP_SEARCH_BAD;
		}
		if ((r = parse_charset(&args[c.pos++], search, error_r)) < 0)
			return r;
	} else if (c.pos < count && imap_arg_atom_is(&args[c.pos], "CHARSET")) {
		if (c.pos + 1 >= count) {
			*error_r = xstrdup("Missing charset");
			return IMAP_SEARCH_BAD;
		}
		if ((r = parse_charset(&args[c.pos + 1], search, error_r)) < 0)
			return r;
		c.pos += 2;
	}
	if (c.pos >= count) {
		*error_r = xstrdup("Missing search key");
		return IMAP_SEARCH_BAD;
	}
	if ((search->root = parse_list(&c, 0, error_r)) == NULL)
		return IMAP_SEARCH_BAD;
	search->uses_dollar = c.uses_dollar;
	search->uses_modseq = c.uses_modseq;
	return 0;
}

int imap_sort_parse(const struct imap_arg *arg, struct imap_sort_key *keys, size_t *count_r,
		    char **error_r)
{
	static const struct {
		const char *name;
		enum imap_sort_type type;
	} names[] = {{"ARRIVAL", IMAP_SORT_ARRIVAL},
		     {"CC", IMAP_SORT_CC},
		     {"DATE", IMAP_SORT_DATE},
		     {"FROM", IMAP_SORT_FROM},
		     {"SIZE", IMAP_SORT_SIZE},
		     {"SUBJECT", IMAP_SORT_SUBJECT},
		     {"TO", IMAP_SORT_TO}};
	size_t i, j, n = 0;
	int reverse = 0;

	if (arg->type != IMAP_ARG_LIST || arg->count == 0) {
		*error_r = xstrdup("Sort criteria must be a non-empty list");
		return -1;
	}
	for (i = 0; i < arg->count; i++) {
		if (!reverse && imap_arg_atom_is(&arg->list[i], "REVERSE")) {
			reverse = 1;
			continue;
		}
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (imap_arg_atom_is(&arg->list[i], names[j].name))
				break;
		if (j == sizeof(names) / sizeof(names[0])) {
			*error_r = xstrdup("Unknown sort criterion");
			return -1;
		}
		if (n == IMAP_SORT_KEYS_MAX) {
			*error_r = xstrdup("Too many sort criteria");
			return -1;
		}
		keys[n].type = names[j].type;
		keys[n].reverse = reverse;
		n++;
		reverse = 0;
	}
	if (reverse) {
		*error_r = xstrdup("REVERSE must precede a sort criterion");
		return -1;
	}
	*count_r = n;
	return 0;
}

int imap_thread_parse(const struct imap_arg *arg, enum imap_thread_alg *alg_r, char **error_r)
{
	if (imap_arg_atom_is(arg, "ORDEREDSUBJECT")) {
		*alg_r = IMAP_THREAD_ORDEREDSUBJECT;
		return 0;
	}
	if (imap_arg_atom_is(arg, "REFERENCES")) {
		*alg_r = IMAP_THREAD_REFERENCES;
		return 0;
	}
	*error_r = xstrdup("Unsupported threading algorithm");
	return -1;
}
