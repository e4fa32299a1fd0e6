/*
 * header - the header section of an RFC 5322 message, one line at a time.
 *
 * The caller feeds the lines of a message (without their line endings)
 * from its first line on; the parser assembles header fields (a line that
 * starts a field, and the continuation lines after it, which begin with a
 * space or a tab), and calls back with each field once it is complete,
 * that is when the next line shows that the field ends. The header section
 * ends at the first empty line, or at the first line that is neither a
 * field nor a continuation (that line then belongs to the body: a message
 * without the empty line between header and body). A continuation line
 * before any field counts as such a body line.
 *
 * A line starts a field when it begins with a field name, 1 or more
 * printable US-ASCII characters other than ':' (RFC 5322 section 3.6.8),
 * followed by ':', possibly after spaces and tabs (the obsolete syntax of
 * section 4.5).
 *
 * Limits, to bound the memory a message can make the parser use: a field
 * (with its continuation lines, each counted with a CRLF) may have at most
 * field_limit bytes, and the header at most count_limit fields. Past
 * either, the parser stops with HEADER_TOO_LONG or HEADER_TOO_MANY.
 */
#ifndef TERN_HEADER_H
#define TERN_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/* One complete header field. The pointers are valid during the callback only. */
struct header_field {
	const char *name; /* name_len bytes: the field name (without the colon) */
	size_t name_len;
	const char *value; /* the unfolded value (continuation lines joined without their
			      line endings) after the colon and leading white space; NUL-ended */
	size_t value_len;
	const char *raw; /* the whole field unfolded the same way, name included; NUL-ended */
	size_t raw_len;
	size_t size;  /* bytes as sent: every line with its CRLF */
	size_t lines; /* 1 + continuation lines */
};

typedef void header_field_fn(const struct header_field *field, void *ctx);

enum header_status {
	HEADER_MORE,	 /* the line is part of the header section */
	HEADER_END,	 /* the line is the empty line that ends the header section */
	HEADER_BODY,	 /* the header section ended before the line, the first body line */
	HEADER_TOO_LONG, /* a field is longer than the limit */
	HEADER_TOO_MANY, /* more fields than the limit */
};

struct header_parser;

/* header_parser_create - a parser that calls fn(field, ctx) for each field. Limits >= 1. */
struct header_parser *header_parser_create(size_t field_limit, size_t count_limit,
					   header_field_fn *fn, void *ctx);
void header_parser_free(struct header_parser **p);

/*
 * header_parser_line - the next line (len bytes, no line ending). On
 * HEADER_END and HEADER_BODY the last field has been delivered; the parser
 * then takes no more lines, nor after HEADER_TOO_LONG and HEADER_TOO_MANY
 * (feeding it more is a programming error).
 */
enum header_status header_parser_line(struct header_parser *p, const char *line, size_t len);

/*
 * header_parser_end - the input ended inside the header section (a message
 * without a body): deliver the last field. Returns what the last line fed
 * would have returned then: HEADER_END, or an error status already given.
 */
enum header_status header_parser_end(struct header_parser *p);

/* header_parser_count - the fields delivered so far. */
size_t header_parser_count(const struct header_parser *p);

/* header_parser_in_field - whether a field is being assembled (the next line may continue it). */
bool header_parser_in_field(const struct header_parser *p);

/*
 * header_parser_partial - the field being assembled (unfolded, as far as it
 * got; also the one found too long), *len_r bytes; NULL when there is none.
 */
const char *header_parser_partial(const struct header_parser *p, size_t *len_r);

/*
 * header_field_name_len - when line (len bytes) starts a header field, the
 * length of the field name (which may be followed by white space before
 * the colon); 0 otherwise.
 */
size_t header_field_name_len(const char *line, size_t len);

/* header_name_is - whether the field's name is name (ASCII case-insensitive). */
bool header_name_is(const struct header_field *field, const char *name);

#endif
