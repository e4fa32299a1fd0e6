/*
 * dsn_impl - what the dsn_*.c files share beneath mail/dsn.h: buffered
 * output to a notice's writer, safe and folded text, and the walk over the
 * original message's content.
 */
#ifndef TERN_DSN_IMPL_H
#define TERN_DSN_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/dsn.h"
#include "util/strbuf.h"

/* Output in chunks to a dsn_write_fn; the first error stops it and is kept. */
struct dsn_out {
	struct strbuf buf;
	dsn_write_fn *write;
	void *ctx;
	char *error; /* the first failure of write */
};

void dsn_out_init(struct dsn_out *o, dsn_write_fn *write, void *ctx);
void dsn_out(struct dsn_out *o, const void *data, size_t len);
void dsn_outs(struct dsn_out *o, const char *s);
void dsn_outf(struct dsn_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dsn_out_finish - flush and free; 0, or -1 with *error_r when a write failed. */
int dsn_out_finish(struct dsn_out *o, char **error_r);

/*
 * dsn_clean - s made safe for a field or text line, appended to out:
 * control characters become spaces; bytes of 0x80 and above stay only as
 * valid UTF-8 and only when utf8, else each character becomes '?'.
 */
void dsn_clean(struct strbuf *out, const char *s, bool utf8);
bool dsn_is_ascii(const char *s);
/* dsn_xtext_addr - s as utf-8-addr-xtext (RFC 6533 section 3), appended to out. */
void dsn_xtext_addr(struct strbuf *out, const char *s);

/* dsn_field - "Name: value" (cleaned), folded at spaces before column 78, with CRLF. */
void dsn_field(struct dsn_out *o, const char *name, const char *value, bool utf8);
/* dsn_paragraph - text (cleaned) wrapped at spaces, later lines after indent, with CRLF. */
void dsn_paragraph(struct dsn_out *o, const char *text, const char *indent, bool utf8);

/* dsn_msgid_token - the first "<...>" of a Message-ID value (malloc'd), or NULL. */
char *dsn_msgid_token(const char *value);

/* A walk over the content lines of a queue file. */
struct dsn_walk {
	bool headers_only; /* stop before the empty line that ends the header section */
	/* each piece of a line; last: the line ends after it */
	void (*line)(void *ctx, const char *data, size_t len, bool last);
	void *ctx;
	long long body_offset; /* (set by the walk) */
};

/* dsn_walk_content - read the queue file on fd from its start; 0, or -1 with *error_r. */
int dsn_walk_content(int fd, struct dsn_walk *w, char **error_r);

#endif
