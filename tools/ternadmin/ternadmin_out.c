/*
 * ternadmin_out - output of ternadmin: tables with aligned columns for
 * people, JSON strings for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ternadmin/ternadmin.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

struct ta_table {
	size_t columns;
	size_t rows;  /* including the header */
	char **cells; /* rows * columns, row by row */
};

/* width - the columns that s takes on a terminal: one per UTF-8 character. */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

struct ta_table *ta_table_new(size_t columns, const char *const *headers)
{
	struct ta_table *t = xcalloc(1, sizeof(*t));

	t->columns = columns;
	ta_table_row(t, headers);
	return t;
}

void ta_table_row(struct ta_table *t, const char *const *cells)
{
	size_t i;

	t->cells = xreallocarray(t->cells, (t->rows + 1) * t->columns, sizeof(char *));
	for (i = 0; i < t->columns; i++)
		t->cells[t->rows * t->columns + i] = xstrdup(cells[i] != NULL ? cells[i] : "");
	t->rows++;
}

void ta_table_free(struct ta_table **tp)
{
	struct ta_table *t = *tp;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->rows * t->columns; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	*tp = NULL;
}

void ta_table_print(struct ta_table **tp)
{
	struct ta_table *t = *tp;
	size_t *w = xcalloc(t->columns, sizeof(size_t)), r, c, pad;
	const char *cell;

	for (r = 0; r < t->rows; r++) {
		for (c = 0; c < t->columns; c++) {
			if (width(t->cells[r * t->columns + c]) > w[c])
				w[c] = width(t->cells[r * t->columns + c]);
		}
	}
	for (r = 0; r < t->rows; r++) {
		for (c = 0; c < t->columns; c++) {
			cell = t->cells[r * t->columns + c];
			fputs(cell, stdout);
			for (pad = width(cell); c + 1 < t->columns && pad < w[c] + 2; pad++)
				putchar(' ');
		}
		putchar('\n');
	}
	free(w);
	ta_table_free(tp);
}

void ta_json_str(struct strbuf *sb, const char *s)
{
	const unsigned char *p;

	strbuf_putc(sb, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_printf(sb, "\\%c", *p);
		else if (*p == '\n')
			strbuf_puts(sb, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			strbuf_printf(sb, "\\u%04x", *p);
		else
			strbuf_putc(sb, *p);
	}
	strbuf_putc(sb, '"');
}

void ta_list_output(struct ternadmin *ta, struct ta_table **t, struct strbuf *json)
{
	if (ta->json) {
		fputs(strbuf_str(json), stdout);
		ta_table_free(t);
	} else {
		ta_table_print(t);
	}
	strbuf_free(json);
	ta->listed = 1;
}
