/*
 * config - read main.cf syntax into entries and expand $name references.
 *
 * Reading happens in two steps: the text is split into logical lines
 * (comments and blank lines dropped, continuation lines joined), then each
 * logical line is split at its first '='. Expansion is a recursive descent
 * over the value that keeps the chain of names being expanded, which is
 * how cycles are found and reported.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/config.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* How deep $a -> $b -> ... may nest, and how many lookups one expansion may make. */
#define EXPAND_DEPTH_MAX 64
#define EXPAND_STEPS_MAX 100000
/* How much of a bad line an error message quotes. */
#define QUOTE_MAX 60

int config_read_file(const char *path, char **text_r, size_t *len_r, char **error_r)
{
	struct strbuf sb = STRBUF_INIT;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		saved = errno;
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		errno = saved;
		return -1;
	}
	for (;;) {
		strbuf_reserve(&sb, 65536);
		n = read(fd, sb.data + sb.len, sb.size - sb.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			*error_r = xasprintf("read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		sb.len += (size_t)n;
		sb.data[sb.len] = '\0';
		if (sb.len > CONFIG_FILE_MAX) {
			saved = EFBIG;
			*error_r =
			    xasprintf("%s: file is larger than %d bytes", path, CONFIG_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	*len_r = sb.len;
	*text_r = sb.data ? strbuf_detach(&sb) : xstrdup("");
	return 0;
fail:
	close(fd);
	strbuf_free(&sb);
	errno = saved;
	return -1;
}

/* is_blank - white space within a line (a newline ends the line instead). */
static int is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* quote - a short printable copy of text for an error message (malloc'd). */
static char *quote(const char *text, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < len && i < QUOTE_MAX; i++)
		strbuf_putc(&sb, isprint((unsigned char)text[i]) ? text[i] : '?');
	if (len > QUOTE_MAX)
		strbuf_puts(&sb, "...");
	return sb.data ? strbuf_detach(&sb) : xstrdup("");
}

/* trim - shrink [*start, *end) to exclude white space at both ends. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_blank((unsigned char)**start))
		(*start)++;
	while (*end > *start && is_blank((unsigned char)(*end)[-1]))
		(*end)--;
}

/* lines_add - start a new logical line. */
static void lines_add(struct config_line **lines, size_t *count, size_t *alloc, const char *text,
		      size_t len, int lineno)
{
	if (*count == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 32;
		*lines = xreallocarray(*lines, *alloc, sizeof(**lines));
	}
	(*lines)[*count].text = xstrndup(text, len);
	(*lines)[*count].line = lineno;
	(*lines)[*count].last_line = lineno;
	(*count)++;
}

/* lines_extend - join a continuation line to the last logical line. */
static void lines_extend(struct config_line *last, const char *text, size_t len, int lineno)
{
	size_t old = strlen(last->text);

	last->text = xrealloc(last->text, old + 1 + len + 1);
	last->text[old] = ' ';
	memcpy(last->text + old + 1, text, len);
	last->text[old + 1 + len] = '\0';
	last->last_line = lineno;
}

int config_lines(const char *path, const char *text, size_t len, struct config_line **lines_r,
		 size_t *count_r, char **error_r)
{
	struct config_line *lines = NULL;
	size_t count = 0, alloc = 0;
	const char *p = text, *end = text + len, *eol, *start, *stop;
	int lineno = 0;

	while (p < end) {
		lineno++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
			*error_r = xasprintf("%s:%d: NUL byte in line", path, lineno);
			goto fail;
		}
		start = p;
		stop = eol;
		trim(&start, &stop);
		if (start == stop || *start == '#') {
			/* blank or comment line */
		} else if (start != p) {
			if (count == 0) {
				*error_r = xasprintf("%s:%d: line starts with white space, but "
						     "there is no entry before it to continue",
						     path, lineno);
				goto fail;
			}
			lines_extend(&lines[count - 1], start, (size_t)(stop - start), lineno);
		} else {
			lines_add(&lines, &count, &alloc, start, (size_t)(stop - start), lineno);
		}
		p = eol < end ? eol + 1 : end;
	}
	*lines_r = lines;
	*count_r = count;
	return 0;
fail:
	config_lines_free(&lines, count);
	return -1;
}

void config_lines_free(struct config_line **lines, size_t count)
{
	size_t i;

	if (*lines == NULL)
		return;
	for (i = 0; i < count; i++)
		free((*lines)[i].text);
	XFREE(*lines);
}

int config_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return 0;
	return 1;
}

/* parse_entry - split one logical line at '=' into an entry. */
static int parse_entry(const char *path, const struct config_line *cl, struct config_entry *entry,
		       char **error_r)
{
	const char *eq = strchr(cl->text, '='), *ns, *ne, *vs, *ve;
	char *q;

	if (eq == NULL) {
		q = quote(cl->text, strlen(cl->text));
		*error_r = xasprintf("%s:%d: missing '=' in \"%s\" (expected name = value)", path,
				     cl->line, q);
		free(q);
		return -1;
	}
	ns = cl->text;
	ne = eq;
	trim(&ns, &ne);
	if (ns == ne) {
		*error_r = xasprintf("%s:%d: missing parameter name before '='", path, cl->line);
		return -1;
	}
	if (!config_name_valid(ns, (size_t)(ne - ns))) {
		q = quote(ns, (size_t)(ne - ns));
		*error_r = xasprintf("%s:%d: bad parameter name \"%s\" (use letters, digits and _)",
				     path, cl->line, q);
		free(q);
		return -1;
	}
	vs = eq + 1;
	ve = cl->text + strlen(cl->text);
	trim(&vs, &ve);
	entry->name = xstrndup(ns, (size_t)(ne - ns));
	entry->value = xstrndup(vs, (size_t)(ve - vs));
	entry->line = cl->line;
	entry->last_line = cl->last_line;
	return 0;
}

int config_parse(const char *path, const char *text, size_t len, struct config **result,
		 char **error_r)
{
	struct config_line *lines;
	struct config *cfg;
	size_t count, i;

	if (config_lines(path, text, len, &lines, &count, error_r) < 0)
		return -1;
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	cfg->entries = xcalloc(count ? count : 1, sizeof(*cfg->entries));
	for (i = 0; i < count; i++) {
		if (parse_entry(path, &lines[i], &cfg->entries[cfg->count], error_r) < 0) {
			config_lines_free(&lines, count);
			config_free(&cfg);
			return -1;
		}
		cfg->count++;
	}
	config_lines_free(&lines, count);
	*result = cfg;
	return 0;
}

int config_read(const char *path, struct config **result, char **error_r)
{
	char *text;
	size_t len;
	int ret;

	if (config_read_file(path, &text, &len, error_r) < 0)
		return -1;
	ret = config_parse(path, text, len, result, error_r);
	free(text);
	return ret;
}

const struct config_entry *config_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = cfg->count; i > 0; i--)
		if (strcmp(cfg->entries[i - 1].name, name) == 0)
			return &cfg->entries[i - 1];
	return NULL;
}

struct config *config_dup(const struct config *cfg)
{
	struct config *copy = xcalloc(1, sizeof(*copy));
	size_t i;

	copy->path = xstrdup(cfg->path);
	copy->count = cfg->count;
	copy->entries = xcalloc(cfg->count ? cfg->count : 1, sizeof(*copy->entries));
	for (i = 0; i < cfg->count; i++) {
		copy->entries[i] = cfg->entries[i];
		copy->entries[i].name = xstrdup(cfg->entries[i].name);
		copy->entries[i].value = xstrdup(cfg->entries[i].value);
	}
	return copy;
}

void config_free(struct config **cfg)
{
	size_t i;

	if (*cfg == NULL)
		return;
	for (i = 0; i < (*cfg)->count; i++) {
		free((*cfg)->entries[i].name);
		free((*cfg)->entries[i].value);
	}
	free((*cfg)->entries);
	free((*cfg)->path);
	XFREE(*cfg);
}

/* State of one config_expand() call. */
struct expand_state {
	config_lookup_fn lookup;
	void *context;
	const char *stack[EXPAND_DEPTH_MAX]; /* names being expanded, outermost first */
	size_t depth;
	int nest; /* ${name?...} inside ${name?...} */
	unsigned long steps;
	char *error;
};

static int expand_text(struct expand_state *st, const char *text, size_t len, struct strbuf *out);

/* expand_fail - record the first error; always returns -1. */
static int expand_fail(struct expand_state *st, char *error)
{
	if (st->error == NULL)
		st->error = error;
	else
		free(error);
	return -1;
}

/* chain - "a -> b -> name", the stack from index from, then name (malloc'd). */
static char *chain(const struct expand_state *st, size_t from, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = from; i < st->depth; i++) {
		strbuf_puts(&sb, st->stack[i]);
		strbuf_puts(&sb, " -> ");
	}
	strbuf_puts(&sb, name);
	return strbuf_detach(&sb);
}

/* check_size - an expansion may not grow without bound. */
static int check_size(struct expand_state *st, const struct strbuf *out)
{
	if (out->len > CONFIG_EXPAND_MAX)
		return expand_fail(
		    st, xasprintf("expanded value is longer than %d bytes", CONFIG_EXPAND_MAX));
	return 0;
}

/* expand_name - append the expansion of the value of name. */
static int expand_name(struct expand_state *st, const char *name, struct strbuf *out)
{
	const char *value;
	char *path;
	size_t i;
	int ret;

	for (i = 0; i < st->depth; i++) {
		if (strcmp(st->stack[i], name) == 0) {
			path = chain(st, i, name);
			ret = expand_fail(st, xasprintf("parameter cycle: %s", path));
			free(path);
			return ret;
		}
	}
	if (st->depth == EXPAND_DEPTH_MAX) {
		path = chain(st, 0, name);
		ret = expand_fail(st, xasprintf("parameters nested more than %d deep: %s",
						EXPAND_DEPTH_MAX, path));
		free(path);
		return ret;
	}
	if (++st->steps > EXPAND_STEPS_MAX)
		return expand_fail(
		    st, xasprintf("more than %d parameter references to expand", EXPAND_STEPS_MAX));
	if ((value = st->lookup(name, st->context)) == NULL)
		return 0;
	st->stack[st->depth++] = name;
	ret = expand_text(st, value, strlen(value), out);
	st->depth--;
	return ret;
}

/* name_span - how many name characters start text. */
static size_t name_span(const char *text, size_t len)
{
	size_t n = 0;

	while (n < len && (isalnum((unsigned char)text[n]) || text[n] == '_'))
		n++;
	return n;
}

/* find_close - offset of the close that balances an already open bracket, or len. */
static size_t find_close(const char *text, size_t len, char open, char close)
{
	size_t i, depth = 1;

	for (i = 0; i < len; i++) {
		if (text[i] == open)
			depth++;
		else if (text[i] == close && --depth == 0)
			return i;
	}
	return len;
}

/*
 * expand_braced - text points just after "${" or "$(": expand the reference
 * and set *used to the bytes consumed, the closing bracket included.
 */
static int expand_braced(struct expand_state *st, const char *text, size_t len, char open,
			 struct strbuf *out, size_t *used)
{
	char close = open == '{' ? '}' : ')', *name, *q;
	struct strbuf value = STRBUF_INIT;
	size_t n = name_span(text, len), end;
	int ret, take;

	if (n == 0 || (n < len && text[n] != close && text[n] != '?' && text[n] != ':')) {
		end = find_close(text, len, open, close);
		q = quote(text, end);
		ret = expand_fail(st, xasprintf("bad parameter name in \"$%c%s%s\"", open, q,
						end < len ? (close == '}' ? "}" : ")") : ""));
		free(q);
		return ret;
	}
	end = n < len && text[n] == close ? n : find_close(text, len, open, close);
	if (end == len) {
		q = quote(text, len);
		ret = expand_fail(st, xasprintf("missing '%c' after \"$%c%s\"", close, open, q));
		free(q);
		return ret;
	}
	name = xstrndup(text, n);
	*used = end + 1;
	if (text[n] == close) {
		ret = expand_name(st, name, out);
	} else if ((ret = expand_name(st, name, &value)) == 0 &&
		   (ret = check_size(st, &value)) == 0) {
		/* ${name?text}: text when name is not empty; ${name:text}: when it is. */
		take = text[n] == '?' ? value.len > 0 : value.len == 0;
		if (take && st->nest == EXPAND_DEPTH_MAX) {
			ret = expand_fail(
			    st, xasprintf("conditional expressions nested more than %d deep",
					  EXPAND_DEPTH_MAX));
		} else if (take) {
			st->nest++;
			ret = expand_text(st, text + n + 1, end - n - 1, out);
			st->nest--;
		}
	}
	strbuf_free(&value);
	free(name);
	return ret;
}

static int expand_text(struct expand_state *st, const char *text, size_t len, struct strbuf *out)
{
	const char *dollar;
	size_t i = 0, n, used;
	char *name;
	int ret;

	while (i < len) {
		dollar = memchr(text + i, '$', len - i);
		n = dollar ? (size_t)(dollar - (text + i)) : len - i;
		strbuf_append(out, text + i, n);
		i += n;
		if (i == len)
			break;
		i++; /* the '$' */
		if (i < len && text[i] == '$') {
			strbuf_putc(out, '$');
			i++;
		} else if (i < len && (text[i] == '{' || text[i] == '(')) {
			if (expand_braced(st, text + i + 1, len - i - 1, text[i], out, &used) < 0)
				return -1;
			i += 1 + used;
		} else if ((n = name_span(text + i, len - i)) > 0) {
			name = xstrndup(text + i, n);
			ret = expand_name(st, name, out);
			free(name);
			if (ret < 0)
				return -1;
			i += n;
		} else {
			return expand_fail(st, xstrdup("'$' not followed by a parameter name "
						       "(write $$ for a dollar sign)"));
		}
		if (check_size(st, out) < 0)
			return -1;
	}
	return check_size(st, out);
}

int config_expand(const char *name, const char *text, config_lookup_fn lookup, void *context,
		  char **result_r, char **error_r)
{
	struct expand_state st;
	struct strbuf out = STRBUF_INIT;

	memset(&st, 0, sizeof(st));
	st.lookup = lookup;
	st.context = context;
	if (name != NULL)
		st.stack[st.depth++] = name;
	if (expand_text(&st, text, strlen(text), &out) < 0) {
		strbuf_free(&out);
		*error_r = st.error;
		return -1;
	}
	*result_r = out.data ? strbuf_detach(&out) : xstrdup("");
	return 0;
}

char *config_escape(const char *text)
{
	struct strbuf sb = STRBUF_INIT;

	for (; *text; text++) {
		if (*text == '$')
			strbuf_putc(&sb, '$');
		strbuf_putc(&sb, *text);
	}
	return sb.data ? strbuf_detach(&sb) : xstrdup("");
}
