/*
 * mime - the streaming structure parser of mime.h: lines are classified
 * as they arrive (header line, boundary line, body text), parts are opened
 * and closed, and their offsets and line counts recorded, without keeping
 * more of the input than one header field and the first bytes of a line.
 *
 * How the message is cut, where RFC 2046 leaves room, follows Dovecot: a
 * line is a boundary when it starts with "--" and a boundary of an open
 * multipart (the longest that matches), whatever follows; the line end
 * before a boundary line belongs to the boundary, so a part ends before
 * it; a boundary line inside a header ends that header (and the part); a
 * close boundary ends its multipart, whose epilogue runs to the boundary
 * of the multipart around it; an outer boundary closes the inner
 * multiparts that never saw their own. A header ends at its blank line,
 * or before the first line that is neither a field nor a continuation
 * (as in mail/header.h), which then starts the body.
 *
 * The header fields of every part are parsed as they complete: Content-*
 * fields into the part, the envelope fields of the message and of each
 * message/rfc822 body, and all of them into the text callback. The body
 * of a text part goes through mime_text.c to the text callback.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/header.h"
#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/mymalloc.h"

/* Bytes of a header line kept: a whole field's worth, plus its line end. */
#define LINE_KEEP (MIME_FIELD_MAX + 8)

/* Body text is given to the callback in pieces of about this size. */
#define TEXT_PIECE 8192
/* Raw body bytes are decoded this many at a time (to bound the decoder's buffers). */
#define TEXT_SLICE 65536

/* Content-* fields seen in the current header (the first of each counts). */
#define SEEN_TYPE (1u << 0)
#define SEEN_ENCODING (1u << 1)
#define SEEN_DISPOSITION (1u << 2)

enum line_kind {
	LINE_UNDECIDED, /* body: not known yet whether it is a boundary */
	LINE_TEXT,	/* body text */
	LINE_BOUNDARY,	/* a boundary line: the rest of it is skipped */
};

/* The boundary of an open multipart. */
struct bound {
	char *text;
	size_t len;
	struct mime_part *owner;
};

struct mime_parser {
	struct mime_options opts;
	struct mime_message *msg;
	uint64_t off; /* bytes consumed */
	uint64_t lfs; /* line feeds consumed */
	size_t nparts;
	struct mime_part *cur; /* the part whose header or body is being read */
	bool in_header;

	/* the line being read */
	uint64_t line_off, line_lfs; /* where it starts, and the line feeds before it */
	struct strbuf line;	     /* header: its first LINE_KEEP bytes; body: its start */
	size_t line_len;	     /* its length so far */
	unsigned char line_last;     /* its last byte so far (0: none) */
	enum line_kind kind;
	size_t prev_eol; /* the line end of the previous line of this part (0: none) */
	bool held_cr;	 /* body text: a CR not yet given (it may start a line end) */

	/* the boundaries of the open multiparts, innermost last */
	struct bound bounds[MIME_DEPTH_MAX];
	size_t nbounds, bound_max;
	bool new_part; /* after the boundary line: a new part of cur */

	/* the header field being assembled, as sent (folding kept) */
	struct strbuf field;
	bool field_open;
	unsigned seen;
	size_t kept; /* bytes of top-level fields kept in msg->headers */

	/* text for the callback */
	struct mime_textdec *textdec; /* of cur, a text part */
	struct strbuf text;
	size_t text_given;
	bool text_done;
	struct strbuf tmp;
};

/* -------------------------------------------------------------------- parts */

/* part_new - a part of parent whose header starts at offset (lfs line feeds before it). */
static struct mime_part *part_new(struct mime_parser *p, struct mime_part *parent, uint64_t offset,
				  uint64_t lfs)
{
	struct mime_part *part, **tail;

	if (p->nparts >= MIME_PARTS_MAX) {
		p->msg->broken |= MIME_BROKEN_LIMIT;
		return NULL;
	}
	p->nparts++;
	part = xcalloc(1, sizeof(*part));
	part->parent = parent;
	if (parent != NULL) {
		for (tail = &parent->children; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = part;
	}
	if (parent == NULL || strcmp(parent->type, "message") == 0) {
		part->envelope = xcalloc(1, sizeof(*part->envelope));
		part->envelope->date_time = -1;
	}
	part->header_offset = offset;
	/* header_lines and body_lines hold the line feeds before the header and
	 * the body until the part ends */
	part->header_lines = lfs;
	p->cur = part;
	p->in_header = true;
	p->prev_eol = 0;
	p->seen = 0;
	return part;
}

static size_t part_depth(const struct mime_part *part)
{
	size_t d = 0;

	for (part = part->parent; part != NULL; part = part->parent)
		d++;
	return d;
}

static void part_free(struct mime_part *part)
{
	struct mime_part *child, *next;

	for (child = part->children; child != NULL; child = next) {
		next = child->next;
		part_free(child);
	}
	free(part->type);
	free(part->subtype);
	mime_params_free(part->params, part->nparams);
	free(part->encoding);
	free(part->id);
	free(part->description);
	free(part->md5);
	free(part->disposition);
	mime_params_free(part->disposition_params, part->ndisposition_params);
	free(part->language);
	free(part->location);
	mime_envelope_free(&part->envelope);
	free(part);
}

/* ---------------------------------------------------------------- text out */

/* eol_str - the line end of n bytes (1: LF, 2: CR LF). */
static const char *eol_str(size_t n)
{
	static const char crlf[] = "\r\n";

	return crlf + (2 - n);
}

/* text_out - UTF-8 text to the callback, within the limit (cut at a character). */
static void text_out(struct mime_parser *p, enum mime_text_kind kind, const char *s, size_t len)
{
	size_t room;

	if (p->text_done || len == 0)
		return;
	if (p->opts.text_limit > 0) {
		room = p->opts.text_limit - p->text_given;
		if (len >= room) {
			len = mime_utf8_cut(s, room);
			p->text_done = true;
		}
	}
	if (len > 0)
		p->opts.text(kind, s, len, p->opts.text_ctx);
	p->text_given += len;
}

/* body_text - raw body bytes of the current text part to its decoder, a slice at a time. */
static void body_text(struct mime_parser *p, const char *data, size_t len)
{
	size_t n;

	while (p->textdec != NULL && len > 0) {
		if (p->text_done) {
			mime_textdec_free(&p->textdec);
			return;
		}
		n = len < TEXT_SLICE ? len : TEXT_SLICE;
		p->msg->broken |= mime_textdec_feed(p->textdec, data, n, &p->text);
		data += n;
		len -= n;
		/* given in pieces of a useful size (the decoder ends them at a character) */
		if (p->text.len >= TEXT_PIECE) {
			text_out(p, MIME_TEXT_BODY, p->text.data, p->text.len);
			strbuf_reset(&p->text);
		}
	}
}

/* text_piece - part of a body text line; a CR at its end is held (it may start the line end). */
static void text_piece(struct mime_parser *p, const char *data, size_t len)
{
	if (p->textdec == NULL || len == 0)
		return;
	if (p->held_cr) {
		p->held_cr = false;
		body_text(p, "\r", 1);
	}
	if (data[len - 1] == '\r') {
		p->held_cr = true;
		len--;
	}
	body_text(p, data, len);
}

/* text_eol - the line end before a text line (it is not before a boundary). */
static void text_eol(struct mime_parser *p)
{
	if (p->prev_eol > 0)
		body_text(p, eol_str(p->prev_eol), p->prev_eol);
}

static void text_finish(struct mime_parser *p)
{
	if (p->textdec == NULL)
		return;
	if (!p->text_done) {
		p->msg->broken |= mime_textdec_finish(p->textdec, &p->text);
		text_out(p, MIME_TEXT_BODY, p->text.data, p->text.len);
		strbuf_reset(&p->text);
	}
	mime_textdec_free(&p->textdec);
}

/* -------------------------------------------------------------- boundaries */

static void bounds_pop(struct mime_parser *p)
{
	size_t i;

	p->nbounds--;
	free(p->bounds[p->nbounds].text);
	p->bound_max = 0;
	for (i = 0; i < p->nbounds; i++) {
		if (p->bounds[i].len > p->bound_max)
			p->bound_max = p->bounds[i].len;
	}
}

/* find_bound - the longest boundary that s (after "--") starts with: its index, or -1. */
static int find_bound(const struct mime_parser *p, const char *s, size_t len)
{
	int best = -1;
	size_t i;

	for (i = 0; i < p->nbounds; i++) {
		const struct bound *b = &p->bounds[i];

		if (b->len <= len && memcmp(b->text, s, b->len) == 0 &&
		    (best < 0 || b->len > p->bounds[best].len))
			best = (int)i;
	}
	return best;
}

/* line_bound - when line (len bytes kept) is a boundary line: its index and whether it closes. */
static int line_bound(const struct mime_parser *p, const char *line, size_t len, bool *close_r)
{
	int b;

	if (p->nbounds == 0 || len < 2 || line[0] != '-' || line[1] != '-')
		return -1;
	b = find_bound(p, line + 2, len - 2);
	if (b >= 0) {
		size_t n = 2 + p->bounds[b].len;

		*close_r = len >= n + 2 && line[n] == '-' && line[n + 1] == '-';
	}
	return b;
}

/* part_close - the body of part ends at end (with end_lfs line feeds before it). */
static void part_close(struct mime_parser *p, struct mime_part *part, uint64_t end,
		       uint64_t end_lfs)
{
	part->body_end = end;
	part->body_lines = end_lfs - part->body_lines;
	if (part == p->cur)
		text_finish(p);
}

/*
 * boundary_seen - boundary b at the current line: the parts inside its
 * multipart end where the line's preceding line end starts; what comes
 * after the line is a new part, or the epilogue.
 */
static void boundary_seen(struct mime_parser *p, int b, bool close)
{
	struct mime_part *owner = p->bounds[b].owner;
	uint64_t end = p->line_off - p->prev_eol;
	uint64_t end_lfs = p->line_lfs - (p->prev_eol > 0 ? 1 : 0);

	while (p->cur != owner) {
		part_close(p, p->cur, end, end_lfs);
		p->cur = p->cur->parent;
	}
	while (p->nbounds > (size_t)b + 1) {
		p->msg->broken |= MIME_BROKEN_BOUNDARY;
		bounds_pop(p);
	}
	if (close)
		bounds_pop(p);
	p->new_part = !close;
	p->in_header = false;
	p->kind = LINE_BOUNDARY;
}

/* after_boundary - the boundary line ended: the next part's header starts, or the epilogue. */
static void after_boundary(struct mime_parser *p)
{
	struct mime_part *owner = p->cur;

	p->prev_eol = 0;
	if (p->new_part) {
		p->new_part = false;
		if (part_new(p, owner, p->off, p->lfs) != NULL)
			return;
		p->cur = owner;
	}
	p->in_header = false;
}

/* ------------------------------------------------------------------ header */

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static void set_once(char **dst, const char *value, size_t len)
{
	if (*dst == NULL)
		*dst = xstrndup(value, len);
}

/* content_field - a Content-* field of the current part (value unfolded, trimmed). */
static void content_field(struct mime_parser *p, const char *name, size_t nlen, const char *v,
			  size_t len)
{
	struct mime_part *part = p->cur;

	if (name_is(name, nlen, "content-type")) {
		if ((p->seen & SEEN_TYPE) == 0)
			(void)mime_content_type(v, len, &part->type, &part->subtype, &part->params,
						&part->nparams);
		p->seen |= SEEN_TYPE;
	} else if (name_is(name, nlen, "content-transfer-encoding")) {
		if ((p->seen & SEEN_ENCODING) == 0)
			part->encoding = mime_content_token(v, len);
		p->seen |= SEEN_ENCODING;
	} else if (name_is(name, nlen, "content-disposition")) {
		if ((p->seen & SEEN_DISPOSITION) == 0)
			(void)mime_content_disposition(v, len, &part->disposition,
						       &part->disposition_params,
						       &part->ndisposition_params);
		p->seen |= SEEN_DISPOSITION;
	} else if (name_is(name, nlen, "content-id")) {
		set_once(&part->id, v, len);
	} else if (name_is(name, nlen, "content-description")) {
		set_once(&part->description, v, len);
	} else if (name_is(name, nlen, "content-md5")) {
		set_once(&part->md5, v, len);
	} else if (name_is(name, nlen, "content-language")) {
		set_once(&part->language, v, len);
	} else if (name_is(name, nlen, "content-location")) {
		set_once(&part->location, v, len);
	}
}

/* keep_field - a field of the top-level header into msg->headers (within MIME_HEADER_MAX). */
static void keep_field(struct mime_parser *p, const char *name, size_t nlen, const char *value,
		       size_t len)
{
	struct mime_message *msg = p->msg;
	struct mime_header *h;
	size_t i, n;

	/* each field counts with its overhead, so that many empty fields are bounded too */
	if (p->kept + nlen + len + sizeof(*h) > MIME_HEADER_MAX) {
		msg->broken |= MIME_BROKEN_LIMIT;
		return;
	}
	p->kept += nlen + len + sizeof(*h);
	if ((msg->nheaders & (msg->nheaders - 1)) == 0)
		msg->headers =
		    xreallocarray(msg->headers, msg->nheaders == 0 ? 1 : msg->nheaders * 2,
				  sizeof(*msg->headers));
	h = &msg->headers[msg->nheaders++];
	h->name = xstrndup(name, nlen);
	/* a C string: NUL bytes (which no protocol could send on) are dropped */
	h->value = xmalloc(len + 1);
	for (i = 0, n = 0; i < len; i++) {
		if (value[i] != '\0')
			h->value[n++] = value[i];
	}
	h->value[n] = '\0';
}

/* field_text - "Name: value" decoded, to the text callback. */
static void field_text(struct mime_parser *p, const char *name, size_t nlen, const char *v,
		       size_t len)
{
	if (p->text_done)
		return;
	if (p->text.len > 0)
		text_out(p, MIME_TEXT_BODY, p->text.data, p->text.len); /* (none is expected) */
	strbuf_reset(&p->text);
	strbuf_append(&p->text, name, nlen);
	strbuf_append(&p->text, ": ", 2);
	mime_decode_words(v, len, &p->text);
	text_out(p, MIME_TEXT_HEADER, p->text.data, p->text.len);
	strbuf_reset(&p->text);
}

/* field_done - the field assembled in p->field is complete. */
static void field_done(struct mime_parser *p)
{
	const char *f = p->field.data, *value, *v;
	size_t nlen, i, vlen, len;

	if (!p->field_open)
		return;
	p->field_open = false;
	nlen = header_field_name_len(f, p->field.len);
	for (i = nlen; i < p->field.len && f[i] != ':'; i++)
		;
	if (nlen == 0 || i == p->field.len)
		return;
	value = f + i + 1;
	vlen = p->field.len - i - 1;
	if (p->cur->parent == NULL)
		keep_field(p, f, nlen, value, vlen);
	strbuf_reset(&p->tmp);
	mime_unfold(value, vlen, &p->tmp);
	v = p->tmp.data;
	len = p->tmp.len;
	mime_trim(&v, &len);
	if (nlen > 8 && strncasecmp(f, "content-", 8) == 0)
		content_field(p, f, nlen, v, len);
	if (p->cur->envelope != NULL)
		mime_envelope_field(p->cur->envelope, f, nlen, v, len);
	if (p->opts.text != NULL)
		field_text(p, f, nlen, v, len);
}

/* field_add - a line of the current field (first or continuation), within MIME_FIELD_MAX. */
static void field_add(struct mime_parser *p, const char *data, size_t len, bool cut)
{
	size_t room = MIME_FIELD_MAX - p->field.len;

	if (len > room) {
		len = room;
		cut = true;
	}
	strbuf_append(&p->field, data, len);
	if (cut)
		p->msg->broken |= MIME_BROKEN_LIMIT;
}

/*
 * part_setup - the header of the current part is over: defaults, and what
 * its body is (a multipart's parts, a message, or text). can_hold: a body
 * follows (not when a boundary or the end cut the header).
 */
static void part_setup(struct mime_parser *p, bool can_hold)
{
	struct mime_part *part = p->cur;
	const char *boundary, *charset;
	bool room = part_depth(part) < MIME_DEPTH_MAX;

	if (part->type == NULL) {
		bool digest = part->parent != NULL &&
			      strcmp(part->parent->type, "multipart") == 0 &&
			      strcmp(part->parent->subtype, "digest") == 0;

		part->type = xstrdup(digest ? "message" : "text");
		part->subtype = xstrdup(digest ? "rfc822" : "plain");
	}
	if (strcmp(part->type, "multipart") == 0) {
		boundary = mime_param_get(part->params, part->nparams, "boundary");
		if (boundary == NULL || boundary[0] == '\0' || !can_hold)
			return;
		if (!room) {
			p->msg->broken |= MIME_BROKEN_LIMIT;
			return;
		}
		p->bounds[p->nbounds].text = xstrdup(boundary);
		p->bounds[p->nbounds].len = strlen(boundary);
		p->bounds[p->nbounds].owner = part;
		if (p->bounds[p->nbounds].len > p->bound_max)
			p->bound_max = p->bounds[p->nbounds].len;
		p->nbounds++;
		return;
	}
	if (strcmp(part->type, "message") == 0 && strcmp(part->subtype, "rfc822") == 0 &&
	    (part->encoding == NULL || strcmp(part->encoding, "7bit") == 0 ||
	     strcmp(part->encoding, "8bit") == 0 || strcmp(part->encoding, "binary") == 0)) {
		if (!can_hold)
			return;
		if (!room) {
			p->msg->broken |= MIME_BROKEN_LIMIT;
			return;
		}
		if (part_new(p, part, part->body_offset, part->body_lines) == NULL)
			p->cur = part;
		return;
	}
	if (p->opts.text != NULL && !p->text_done && strcmp(part->type, "text") == 0) {
		charset = mime_param_get(part->params, part->nparams, "charset");
		p->textdec = mime_textdec_create(part->encoding, charset,
						 strcmp(part->subtype, "html") == 0);
	}
}

/* header_end - the header of the current part ends at at (at_lfs line feeds before). */
static void header_end(struct mime_parser *p, uint64_t at, uint64_t at_lfs, bool can_hold)
{
	struct mime_part *part = p->cur;

	field_done(p);
	part->body_offset = at;
	part->header_lines = at_lfs - part->header_lines;
	part->body_lines = at_lfs;
	p->in_header = false;
	p->prev_eol = 0;
	part_setup(p, can_hold);
}

static void body_line(struct mime_parser *p, const char *line, size_t len, size_t eol);

/*
 * header_line - a whole line (len bytes kept of it, without its line end
 * of eol bytes) of the current part's header.
 */
static void header_line(struct mime_parser *p, const char *line, size_t len, size_t eol)
{
	bool close, cut = p->line_len - (eol == 2 ? 1 : 0) > len;
	int b = line_bound(p, line, len, &close);

	if (b >= 0) {
		p->msg->broken |= MIME_BROKEN_HEADER;
		header_end(p, p->line_off - p->prev_eol, p->line_lfs - (p->prev_eol > 0 ? 1 : 0),
			   false);
		boundary_seen(p, b, close);
		return;
	}
	if (len == 0 && !cut) {
		header_end(p, p->off, p->lfs, true);
		return;
	}
	if ((line[0] == ' ' || line[0] == '\t') && p->field_open) {
		field_add(p, eol_str(p->prev_eol), p->prev_eol, false);
		field_add(p, line, len, cut);
	} else if (header_field_name_len(line, len) > 0) {
		field_done(p);
		strbuf_reset(&p->field);
		p->field_open = true;
		field_add(p, line, len, cut);
	} else {
		/* neither a field nor a continuation: the body starts here */
		p->msg->broken |= MIME_BROKEN_HEADER;
		header_end(p, p->line_off, p->line_lfs, true);
		if (p->in_header)
			header_line(p, line, len, eol); /* the header of a message/rfc822 body */
		else
			body_line(p, line, len, eol);
		return;
	}
	p->prev_eol = eol;
}

/* ------------------------------------------------------------------- body */

/* body_decide - the start of a body line is known: a boundary, or text. */
static void body_decide(struct mime_parser *p)
{
	bool close;
	int b = line_bound(p, p->line.data, p->line.len, &close);

	if (b >= 0) {
		boundary_seen(p, b, close);
		return;
	}
	p->kind = LINE_TEXT;
	text_eol(p);
	text_piece(p, p->line.data, p->line.len);
}

/* body_line - a whole body line that was read as a header line (the header lacked its end). */
static void body_line(struct mime_parser *p, const char *line, size_t len, size_t eol)
{
	bool close;
	int b = line_bound(p, line, len, &close);

	if (b >= 0) {
		boundary_seen(p, b, close); /* the caller goes on after the line */
		return;
	}
	p->kind = LINE_TEXT;
	text_eol(p);
	text_piece(p, line, len);
	if (p->held_cr) {
		/* a CR inside the line (its line end is not in line) */
		p->held_cr = false;
		body_text(p, "\r", 1);
	}
	p->prev_eol = eol;
}

/* line_next - a line feed was consumed: the next line starts. */
static void line_next(struct mime_parser *p)
{
	p->line_off = p->off;
	p->line_lfs = p->lfs;
	p->line_len = 0;
	p->line_last = 0;
	p->kind = LINE_UNDECIDED;
	strbuf_reset(&p->line);
}

/* line_eol - the length of the line end of the line just ended by a line feed. */
static size_t line_eol(const struct mime_parser *p)
{
	return p->line_last == '\r' ? 2 : 1;
}

static const char *header_bytes(struct mime_parser *p, const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s)), *stop = nl != NULL ? nl : end;
	size_t n = (size_t)(stop - s), keep;
	size_t eol, len;

	if (n > 0) {
		keep = p->line.len < LINE_KEEP ? LINE_KEEP - p->line.len : 0;
		strbuf_append(&p->line, s, n < keep ? n : keep);
		p->line_len += n;
		p->line_last = (unsigned char)stop[-1];
		p->off += n;
	}
	if (nl == NULL)
		return end;
	p->off++;
	p->lfs++;
	eol = line_eol(p);
	len = p->line.len;
	if (eol == 2 && len == p->line_len)
		len--;
	header_line(p, p->line.data != NULL ? p->line.data : "", len, eol);
	if (p->kind == LINE_BOUNDARY)
		after_boundary(p);
	line_next(p);
	return nl + 1;
}

/* body_undecided - bytes at the start of a body line until it is known whether it is a boundary. */
static const char *body_undecided(struct mime_parser *p, const char *s, const char *end)
{
	size_t need = 2 + p->bound_max + 2;
	unsigned char c;

	if (p->nbounds == 0) {
		p->kind = LINE_TEXT;
		text_eol(p);
		return s;
	}
	while (s < end) {
		c = (unsigned char)*s;
		if (c == '\n') {
			body_decide(p);
			return s;
		}
		strbuf_putc(&p->line, c);
		p->line_len++;
		p->line_last = c;
		p->off++;
		s++;
		if ((p->line.len <= 2 && c != '-') || p->line.len >= need) {
			body_decide(p);
			return s;
		}
	}
	return s;
}

static const char *body_bytes(struct mime_parser *p, const char *s, const char *end)
{
	const char *nl, *stop;
	size_t n;

	if (p->kind == LINE_UNDECIDED) {
		s = body_undecided(p, s, end);
		if (p->kind == LINE_UNDECIDED || s == end)
			return s;
	}
	nl = memchr(s, '\n', (size_t)(end - s));
	stop = nl != NULL ? nl : end;
	n = (size_t)(stop - s);
	if (n > 0) {
		if (p->kind == LINE_TEXT)
			text_piece(p, s, n);
		p->line_len += n;
		p->line_last = (unsigned char)stop[-1];
		p->off += n;
	}
	if (nl == NULL)
		return end;
	p->off++;
	p->lfs++;
	if (p->kind == LINE_BOUNDARY) {
		after_boundary(p);
	} else {
		p->prev_eol = line_eol(p);
		p->held_cr = false;
	}
	line_next(p);
	return nl + 1;
}

/* ------------------------------------------------------------------- API */

struct mime_parser *mime_parser_create(const struct mime_options *opts)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));

	if (opts != NULL)
		p->opts = *opts;
	p->msg = xcalloc(1, sizeof(*p->msg));
	p->msg->root = part_new(p, NULL, 0, 0);
	line_next(p);
	return p;
}

void mime_parser_feed(struct mime_parser *p, const void *data, size_t len)
{
	const char *s = data, *end = s + len;

	while (s < end) {
		if (p->in_header)
			s = header_bytes(p, s, end);
		else
			s = body_bytes(p, s, end);
	}
}

/* finish_line - the input ended inside a line (no line feed after it). */
static void finish_line(struct mime_parser *p)
{
	if (p->in_header) {
		if (p->line_len > 0)
			header_line(p, p->line.data, p->line.len, 0);
		if (p->in_header)
			header_end(p, p->off, p->lfs, false);
		return;
	}
	if (p->kind == LINE_UNDECIDED && p->line.len > 0)
		body_decide(p);
	if (p->kind == LINE_BOUNDARY)
		return; /* a boundary line without its end starts nothing */
	/* the last line end belongs to the body */
	if (p->kind == LINE_UNDECIDED)
		text_eol(p);
	if (p->held_cr) {
		p->held_cr = false;
		body_text(p, "\r", 1);
	}
}

struct mime_message *mime_parser_finish(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;
	struct mime_message *msg = p->msg;

	finish_line(p);
	p->new_part = false;
	if (p->nbounds > 0)
		msg->broken |= MIME_BROKEN_BOUNDARY;
	while (p->nbounds > 0)
		bounds_pop(p);
	for (; p->cur != NULL; p->cur = p->cur->parent)
		part_close(p, p->cur, p->off, p->lfs);
	msg->size = p->off;
	text_finish(p);
	strbuf_free(&p->line);
	strbuf_free(&p->field);
	strbuf_free(&p->text);
	strbuf_free(&p->tmp);
	free(p);
	*pp = NULL;
	return msg;
}

struct mime_message *mime_parse(const void *data, size_t len, const struct mime_options *opts)
{
	struct mime_parser *p = mime_parser_create(opts);

	mime_parser_feed(p, data, len);
	return mime_parser_finish(&p);
}

void mime_message_free(struct mime_message **msgp)
{
	struct mime_message *msg = *msgp;
	size_t i;

	if (msg == NULL)
		return;
	part_free(msg->root);
	for (i = 0; i < msg->nheaders; i++) {
		free(msg->headers[i].name);
		free(msg->headers[i].value);
	}
	free(msg->headers);
	XFREE(*msgp);
}
