/*
 * sendmail_input - the message on sendmail's standard input: lines with
 * their CR LF or LF made LF, the end at EOF or at a lone dot (without -i),
 * a leading mbox "From " line dropped, at most limit bytes; and its header
 * section, cut into fields.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/sendmail/sendmail.h"
#include "util/mymalloc.h"

struct sendmail_input {
	FILE *fp;
	int ignore_dots;
	long long limit;
	long long total; /* bytes taken, LF line ends counted */
	int first;	 /* no line read yet */
	int eof;	 /* the end was reached */
	struct strbuf line;
	int pending; /* line holds a line read ahead, not yet used */
};

struct sendmail_input *sendmail_input_create(FILE *fp, int ignore_dots, long long limit)
{
	struct sendmail_input *in = xcalloc(1, sizeof(*in));

	in->fp = fp;
	in->ignore_dots = ignore_dots;
	in->limit = limit;
	in->first = 1;
	return in;
}

void sendmail_input_free(struct sendmail_input **inp)
{
	struct sendmail_input *in = *inp;

	if (in == NULL)
		return;
	strbuf_free(&in->line);
	free(in);
	*inp = NULL;
}

static int too_big(struct sendmail_input *in, char **error_r)
{
	*error_r =
	    xasprintf("message too big: more than message_size_limit (%lld bytes)", in->limit);
	return -1;
}

/*
 * read_line - the next line into in->line, without its end: 0 with a line,
 * 0 with in->eof set at the end, -1 with *error_r.
 */
static int read_line(struct sendmail_input *in, char **error_r)
{
	int c = EOF;

	if (in->pending) {
		in->pending = 0;
		return 0;
	}
	strbuf_reset(&in->line);
	for (;;) {
		if (in->eof)
			return 0;
		c = getc_unlocked(in->fp);
		if (c == EOF || c == '\n')
			break;
		if (in->total + (long long)in->line.len + 1 > in->limit)
			return too_big(in, error_r);
		strbuf_putc(&in->line, c);
	}
	if (c == EOF && ferror(in->fp)) {
		*error_r = xstrdup("read standard input: read error");
		return -1;
	}
	if (c == EOF && in->line.len == 0) {
		in->eof = 1;
		return 0;
	}
	if (in->line.len > 0 && in->line.data[in->line.len - 1] == '\r')
		strbuf_truncate(&in->line, in->line.len - 1);
	if (!in->ignore_dots && in->line.len == 1 && in->line.data[0] == '.') {
		in->eof = 1;
		return 0;
	}
	if (in->first && in->line.len >= 5 && memcmp(in->line.data, "From ", 5) == 0) {
		in->first = 0;
		return read_line(in, error_r);
	}
	in->first = 0;
	in->total += (long long)in->line.len + 1;
	if (in->total > in->limit)
		return too_big(in, error_r);
	return 0;
}

/* header_name_len - the length of the field name when line starts a field, else 0. */
static size_t header_name_len(const struct strbuf *line)
{
	size_t i;

	for (i = 0; i < line->len; i++) {
		unsigned char c = (unsigned char)line->data[i];

		if (c == ':')
			return i;
		if (c <= ' ' || c >= 0x7f)
			return 0;
	}
	return 0;
}

static struct sendmail_field *add_field(struct sendmail_header *hdr, const char *name, size_t len)
{
	struct sendmail_field *f;

	hdr->fields = xreallocarray(hdr->fields, hdr->nfields + 1, sizeof(*hdr->fields));
	f = &hdr->fields[hdr->nfields++];
	f->name = xstrndup(name, len);
	strbuf_init(&f->text, 0);
	return f;
}

int sendmail_read_header(struct sendmail_input *in, struct sendmail_header *hdr, char **error_r)
{
	struct sendmail_field *f = NULL;
	size_t n;

	memset(hdr, 0, sizeof(*hdr));
	for (;;) {
		if (read_line(in, error_r) < 0)
			return -1;
		if (in->eof)
			return 0;
		if (in->line.len == 0) {
			in->pending = 1; /* the empty line goes out with the body */
			return 0;
		}
		if (f != NULL && (in->line.data[0] == ' ' || in->line.data[0] == '\t')) {
			strbuf_append(&f->text, in->line.data, in->line.len);
			strbuf_putc(&f->text, '\n');
		} else if ((n = header_name_len(&in->line)) > 0) {
			f = add_field(hdr, in->line.data, n);
			strbuf_append(&f->text, in->line.data, in->line.len);
			strbuf_putc(&f->text, '\n');
		} else {
			/* a body line without the empty line before it */
			hdr->no_blank_line = 1;
			in->pending = 1;
			return 0;
		}
	}
}

void sendmail_header_free(struct sendmail_header *hdr)
{
	size_t i;

	for (i = 0; i < hdr->nfields; i++) {
		free(hdr->fields[i].name);
		strbuf_free(&hdr->fields[i].text);
	}
	free(hdr->fields);
	memset(hdr, 0, sizeof(*hdr));
}

char *sendmail_field_value(const struct sendmail_field *f)
{
	const char *p = f->text.data + strlen(f->name) + 1;
	struct strbuf sb = STRBUF_INIT;

	for (; *p; p++)
		if (*p != '\n')
			strbuf_putc(&sb, *p);
	return strbuf_detach(&sb);
}

int sendmail_read_body(struct sendmail_input *in, struct strbuf *out, size_t max, char **error_r)
{
	strbuf_reset(out);
	while (out->len < max) {
		if (read_line(in, error_r) < 0)
			return -1;
		if (in->eof)
			break;
		strbuf_append(out, in->line.data, in->line.len);
		strbuf_putc(out, '\n');
	}
	return 0;
}
