/*
 * queue_read - the queue file reader: records from a descriptor or from
 * memory, each checked against the format of queue_file.h before it is
 * handed out, so that a caller never acts on a file that turns out to be
 * incomplete or corrupt further on without being told so.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/queue_file.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define READ_CHUNK 65536

/* Where the reader is in the file's layout. */
enum layout {
	LAYOUT_START,	  /* expects V */
	LAYOUT_SIZES,	  /* expects Z */
	LAYOUT_ENVELOPE,  /* T S F I P A R D, up to M */
	LAYOUT_CONTENT,	  /* at the start of a line: C L, or X */
	LAYOUT_PIECE,	  /* inside a line: C or L */
	LAYOUT_EXTRACTED, /* A, up to E */
	LAYOUT_DONE,	  /* E was read */
};

/* Envelope records that may appear once. */
#define SEEN_T 0x1u
#define SEEN_S 0x2u
#define SEEN_F 0x4u
#define SEEN_I 0x8u
#define SEEN_P 0x10u

struct queue_reader {
	int fd;			  /* -1: memory */
	const unsigned char *mem; /* memory input */
	size_t mem_len;
	struct strbuf buf;  /* fd input not yet consumed, from buf_off on */
	size_t pos;	    /* consumed bytes at the front of buf */
	off_t buf_off;	    /* file offset of buf.data[0] */
	off_t read_off;	    /* where the next pread starts */
	int eof;	    /* pread reported the end */
	struct strbuf data; /* the current record's data, NUL-terminated */
	enum queue_error error;
	char *message;
	/* layout checks */
	enum layout layout;
	unsigned seen;
	struct queue_sizes sizes;
	long long nrcpt, ndone, lines, size, line_len;
	int body_found;
};

struct queue_reader *queue_reader_fd(int fd)
{
	struct queue_reader *r = xcalloc(1, sizeof(*r));

	r->fd = fd;
	strbuf_init(&r->buf, READ_CHUNK);
	return r;
}

struct queue_reader *queue_reader_mem(const void *data, size_t len)
{
	struct queue_reader *r = xcalloc(1, sizeof(*r));

	r->fd = -1;
	r->mem = data;
	r->mem_len = len;
	return r;
}

void queue_reader_free(struct queue_reader **rp)
{
	struct queue_reader *r = *rp;

	if (r == NULL)
		return;
	strbuf_free(&r->buf);
	strbuf_free(&r->data);
	free(r->message);
	free(r);
	*rp = NULL;
}

enum queue_error queue_reader_error(const struct queue_reader *r)
{
	return r->error;
}

/* fail - remember why the file is not complete (sticky) and report it. */
static enum queue_read_status fail(struct queue_reader *r, enum queue_error kind, off_t offset,
				   char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum queue_read_status fail(struct queue_reader *r, enum queue_error kind, off_t offset,
				   char **error_r, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(&sb, fmt, ap);
	va_end(ap);
	strbuf_printf(&sb, " (at offset %lld)", (long long)offset);
	r->error = kind;
	free(r->message);
	r->message = strbuf_detach(&sb);
	*error_r = xstrdup(r->message);
	return QUEUE_READ_ERROR;
}

/*
 * fetch - make at least need bytes available at the read position, fewer
 * only at the end of the input. Returns how many are available (and where,
 * in *p_r), or -1 with errno after a read error.
 */
static ssize_t fetch(struct queue_reader *r, size_t need, const unsigned char **p_r)
{
	size_t have, want;
	ssize_t n;

	if (r->fd < 0) {
		*p_r = r->mem + r->pos;
		return (ssize_t)(r->mem_len - r->pos);
	}
	while ((have = r->buf.len - r->pos) < need && !r->eof) {
		if (r->pos > 0) {
			r->buf_off += (off_t)r->pos;
			strbuf_consume(&r->buf, r->pos);
			r->pos = 0;
		}
		want = need - have > READ_CHUNK ? need - have : READ_CHUNK;
		strbuf_reserve(&r->buf, want);
		n = pread(r->fd, r->buf.data + r->buf.len, want, r->read_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			r->eof = 1;
		r->buf.len += (size_t)n;
		r->read_off += n;
	}
	*p_r = (const unsigned char *)r->buf.data + r->pos;
	return (ssize_t)have;
}

/* offset - the file offset of the read position. */
static off_t offset(const struct queue_reader *r)
{
	return r->fd < 0 ? (off_t)r->pos : r->buf_off + (off_t)r->pos;
}

/* known_type - whether c is a record type of the format. */
static int known_type(int c)
{
	return c != '\0' && strchr("VZTSFIPARDMCLXE", c) != NULL;
}

/* read_record - the next record's type and data into rec (layout not yet checked). */
static enum queue_read_status read_record(struct queue_reader *r, struct queue_rec *rec,
					  char **error_r)
{
	const unsigned char *p;
	off_t at = offset(r);
	ssize_t n = fetch(r, 1 + QUEUE_LEN_BYTES, &p);
	size_t len = 0, i, hlen;

	if (n < 0)
		return fail(r, QUEUE_ERR_IO, at, error_r, "read: %s", strerror(errno));
	if (n == 0)
		return fail(r, QUEUE_ERR_INCOMPLETE, at, error_r, "file ends before its E record");
	if (!known_type(p[0]))
		return fail(r, QUEUE_ERR_CORRUPT, at, error_r, "unknown record type 0x%02x", p[0]);
	for (i = 1;; i++) {
		if (i > QUEUE_LEN_BYTES)
			return fail(r, QUEUE_ERR_CORRUPT, at, error_r, "record length too long");
		if ((ssize_t)i >= n)
			return fail(r, QUEUE_ERR_INCOMPLETE, at, error_r,
				    "record length truncated");
		len |= (size_t)(p[i] & 0x7f) << (7 * (i - 1));
		if ((p[i] & 0x80) == 0)
			break;
	}
	if (i > 1 && p[i] == 0)
		return fail(r, QUEUE_ERR_CORRUPT, at, error_r,
			    "record length not in shortest form");
	if (len > QUEUE_REC_MAX)
		return fail(r, QUEUE_ERR_CORRUPT, at, error_r, "record of %zu bytes", len);
	hlen = i + 1;
	rec->type = p[0];
	n = fetch(r, hlen + len, &p);
	if (n < 0)
		return fail(r, QUEUE_ERR_IO, at, error_r, "read: %s", strerror(errno));
	if ((size_t)n < hlen + len)
		return fail(r, QUEUE_ERR_INCOMPLETE, at, error_r, "record '%c' truncated",
			    rec->type);
	strbuf_reset(&r->data);
	strbuf_append(&r->data, p + hlen, len);
	r->pos += hlen + len;
	rec->data = strbuf_str(&r->data);
	rec->len = len;
	rec->offset = at;
	return QUEUE_READ_REC;
}

/* once - an envelope record that may appear once; -1 when it is there twice. */
static int once(struct queue_reader *r, unsigned bit)
{
	if (r->seen & bit)
		return -1;
	r->seen |= bit;
	return 0;
}

/* time_valid - "seconds.microseconds". */
static int time_valid(const char *s, size_t len)
{
	size_t digits = strspn(s, "0123456789");

	return digits >= 1 && digits <= 19 && digits + 7 == len && s[digits] == '.' &&
	       strspn(s + digits + 1, "0123456789") == 6;
}

/* number_valid - a plain decimal number of up to 10 digits. */
static int number_valid(const char *s, size_t len)
{
	return len >= 1 && len <= 10 && strspn(s, "0123456789") == len && (len == 1 || s[0] != '0');
}

/* envelope_data_ok - the data of an envelope record is well formed; NULL or what is wrong. */
static const char *envelope_data_ok(struct queue_reader *r, const struct queue_rec *rec)
{
	struct queue_rcpt rcpt;
	const char *value;
	char *err = NULL;
	size_t nlen;
	int nul = memchr(rec->data, '\0', rec->len) != NULL;

	switch (rec->type) {
	case QREC_TIME:
		return once(r, SEEN_T) < 0		  ? "second T record"
		       : !time_valid(rec->data, rec->len) ? "bad arrival time"
							  : NULL;
	case QREC_SENDER:
		return once(r, SEEN_S) < 0 ? "second S record" : nul ? "NUL in sender" : NULL;
	case QREC_FLAGS:
		return once(r, SEEN_F) < 0		    ? "second F record"
		       : !number_valid(rec->data, rec->len) ? "bad flags"
							    : NULL;
	case QREC_ENVID:
		return once(r, SEEN_I) < 0    ? "second I record"
		       : nul || rec->len == 0 ? "bad ENVID"
					      : NULL;
	case QREC_RET:
		if (once(r, SEEN_P) < 0)
			return "second P record";
		return rec->len == 4 && (memcmp(rec->data, "FULL", 4) == 0 ||
					 memcmp(rec->data, "HDRS", 4) == 0)
			   ? NULL
			   : "bad RET";
	case QREC_ATTR:
		return queue_attr_split(rec->data, rec->len, &nlen, &value) < 0 ? "bad attribute"
										: NULL;
	case QREC_RCPT:
	case QREC_DONE:
		if (queue_rcpt_parse(rec->data, rec->len, &rcpt, &err) < 0) {
			free(err);
			return "bad recipient record";
		}
		r->nrcpt++;
		r->ndone += rec->type == QREC_DONE;
		return NULL;
	default:
		return "record out of place in the envelope";
	}
}

/* check_content_start - the M record against the envelope seen so far. */
static const char *check_content_start(struct queue_reader *r, const struct queue_rec *rec)
{
	if ((r->seen & (SEEN_T | SEEN_S | SEEN_F)) != (SEEN_T | SEEN_S | SEEN_F))
		return "envelope without its T, S or F record";
	if (r->nrcpt == 0)
		return "envelope without recipients";
	if (r->sizes.content_offset != (long long)rec->offset)
		return "M record not where the Z record says";
	if (r->sizes.body_offset <= r->sizes.content_offset ||
	    r->sizes.body_offset > r->sizes.extracted_offset)
		return "body offset out of range";
	return NULL;
}

/* check_content_end - the X record against the content seen. */
static const char *check_content_end(struct queue_reader *r, const struct queue_rec *rec)
{
	if (r->sizes.extracted_offset != (long long)rec->offset)
		return "X record not where the Z record says";
	if (r->sizes.size != r->size)
		return "message size differs from the Z record";
	if (!r->body_found && r->sizes.body_offset != (long long)rec->offset)
		return "body offset is not the start of a line";
	return NULL;
}

/* content_record - a C or L record. */
static const char *content_record(struct queue_reader *r, const struct queue_rec *rec)
{
	if (memchr(rec->data, '\n', rec->len) != NULL)
		return "line feed inside a content line";
	if (r->layout == LAYOUT_CONTENT && (long long)rec->offset == r->sizes.body_offset)
		r->body_found = 1;
	r->line_len += (long long)rec->len;
	if (rec->type == QREC_PIECE) {
		if (rec->len == 0)
			return "empty C record";
		r->layout = LAYOUT_PIECE;
		return NULL;
	}
	r->size += r->line_len + 2;
	r->line_len = 0;
	r->lines++;
	r->layout = LAYOUT_CONTENT;
	return NULL;
}

/* check_layout - whether rec may come now; advances the layout. NULL or what is wrong. */
static const char *check_layout(struct queue_reader *r, const struct queue_rec *rec)
{
	int empty_only =
	    rec->type == QREC_CONTENT || rec->type == QREC_EXTRACTED || rec->type == QREC_END;

	if (empty_only && rec->len != 0)
		return "non-empty marker record";
	switch (r->layout) {
	case LAYOUT_START:
		r->layout = LAYOUT_SIZES;
		return rec->type != QREC_VERSION ? "no V record at the start"
		       : rec->len != strlen(QUEUE_FORMAT_VERSION) ||
			       memcmp(rec->data, QUEUE_FORMAT_VERSION, rec->len) != 0
			   ? "unknown format version"
			   : NULL;
	case LAYOUT_SIZES:
		r->layout = LAYOUT_ENVELOPE;
		if (rec->type != QREC_SIZES ||
		    queue_sizes_parse(rec->data, rec->len, &r->sizes) < 0)
			return "no valid Z record after the V record";
		return NULL;
	case LAYOUT_ENVELOPE:
		if (rec->type != QREC_CONTENT)
			return envelope_data_ok(r, rec);
		r->layout = LAYOUT_CONTENT;
		return check_content_start(r, rec);
	case LAYOUT_CONTENT:
	case LAYOUT_PIECE:
		if (rec->type == QREC_PIECE || rec->type == QREC_LINE)
			return content_record(r, rec);
		if (rec->type != QREC_EXTRACTED || r->layout == LAYOUT_PIECE)
			return "record out of place in the content";
		r->layout = LAYOUT_EXTRACTED;
		return check_content_end(r, rec);
	case LAYOUT_EXTRACTED:
		if (rec->type == QREC_ATTR)
			return envelope_data_ok(r, rec);
		if (rec->type != QREC_END)
			return "record out of place in the extracted section";
		r->layout = LAYOUT_DONE;
		return r->nrcpt != r->sizes.nrcpt ? "recipient count differs from the Z record"
						  : NULL;
	default:
		return "record after the E record";
	}
}

enum queue_read_status queue_reader_next(struct queue_reader *r, struct queue_rec *rec,
					 char **error_r)
{
	enum queue_read_status st;
	const unsigned char *p;
	const char *why;
	ssize_t n;

	if (r->error != QUEUE_ERR_NONE) {
		*error_r = xstrdup(r->message);
		return QUEUE_READ_ERROR;
	}
	if (r->layout == LAYOUT_DONE)
		return fail(r, QUEUE_ERR_CORRUPT, offset(r), error_r, "read past the E record");
	if ((st = read_record(r, rec, error_r)) != QUEUE_READ_REC)
		return st;
	if ((why = check_layout(r, rec)) != NULL)
		return fail(r, QUEUE_ERR_CORRUPT, rec->offset, error_r, "%s", why);
	if (r->layout != LAYOUT_DONE)
		return QUEUE_READ_REC;
	n = fetch(r, 1, &p);
	if (n < 0)
		return fail(r, QUEUE_ERR_IO, offset(r), error_r, "read: %s", strerror(errno));
	if (n > 0)
		return fail(r, QUEUE_ERR_CORRUPT, offset(r), error_r, "data after the E record");
	return QUEUE_READ_END;
}

/* check_all - read every record of r; see queue_file_check(). */
static int check_all(struct queue_reader *r, struct queue_summary *summary,
		     enum queue_error *kind_r, char **error_r)
{
	enum queue_read_status st;
	struct queue_rec rec;

	while ((st = queue_reader_next(r, &rec, error_r)) == QUEUE_READ_REC)
		;
	if (kind_r != NULL)
		*kind_r = r->error;
	if (st == QUEUE_READ_ERROR)
		return -1;
	if (summary != NULL) {
		summary->sizes = r->sizes;
		summary->ndone = r->ndone;
		summary->lines = r->lines;
		summary->file_size = (long long)offset(r);
	}
	return 0;
}

int queue_file_check(int fd, struct queue_summary *summary, enum queue_error *kind_r,
		     char **error_r)
{
	struct queue_reader *r = queue_reader_fd(fd);
	int ret = check_all(r, summary, kind_r, error_r);

	queue_reader_free(&r);
	return ret;
}

int queue_mem_check(const void *data, size_t len, struct queue_summary *summary,
		    enum queue_error *kind_r, char **error_r)
{
	struct queue_reader *r = queue_reader_mem(data, len);
	int ret = check_all(r, summary, kind_r, error_r);

	queue_reader_free(&r);
	return ret;
}
