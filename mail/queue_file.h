/*
 * queue_file - the queue file format: records, the reader that validates
 * them, the done-mark of recipients, and the quarantine of corrupt files.
 *
 * A queue file (DESIGN.md section 4) is a sequence of records. Each record
 * is one type byte, its length as an unsigned base-128 number (7 bits per
 * byte, least significant group first, the high bit set on every byte but
 * the last, no superfluous zero groups, at most QUEUE_LEN_BYTES bytes), and
 * that many bytes of data (at most QUEUE_REC_MAX). Records come in sections,
 * in this order:
 *
 *   envelope   V version ("1"), always first
 *              Z sizes: QUEUE_SIZES_LEN bytes, "%015lld %015lld %015lld
 *                %015lld %010lld": message size, offset of the M record,
 *                offset of the first body line (the X record's offset when
 *                there is no body), offset of the X record, recipients
 *              T arrival time "seconds.microseconds"
 *              S sender ("" for the null sender <>)
 *              F envelope flags (decimal, CLEANUP_FLAG_* of cleanup_client.h)
 *              I DSN ENVID (optional)     P DSN RET, FULL or HDRS (optional)
 *              A "name=value": client_name, client_addr, client_port, helo,
 *                protocol, tls_info, tls_cipher, sasl_method, sasl_username,
 *                local_user, full_name (each optional)
 *              R recipient: "NOTIFY\0ORCPT\0ADDRESS" (NOTIFY decimal,
 *                CLEANUP_NOTIFY_* bits, 0 when not given; ORCPT may be
 *                empty); D the same, delivered (see queue_mark_done())
 *   content    M (empty), then the message: each line without its line
 *              ending as an L record, a line longer than QUEUE_LINE_PIECE
 *              as C records (pieces) ended by an L record (the last piece)
 *   extracted  X (empty), then A records "name=value": message_id
 *   end        E (empty), the last bytes of the file
 *
 * T, S and F appear once, I and P at most once, R and D at least once in
 * all, each anywhere in the envelope after Z. The message size counts every
 * line with a CRLF. A file is complete when all of this holds; otherwise it
 * is incomplete (it ends early: no E record) or corrupt (anything else).
 * Files in incoming/ are made visible only when complete (queue_writer.h);
 * one that is not complete there or elsewhere must be moved to corrupt/
 * with queue_file_quarantine() by whoever finds it.
 */
#ifndef TERN_QUEUE_FILE_H
#define TERN_QUEUE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/strbuf.h"

#define QUEUE_FORMAT_VERSION "1"
#define QUEUE_REC_MAX (1u << 20)      /* bytes of data in one record */
#define QUEUE_LEN_BYTES 3	      /* bytes of a record length (21 bits) */
#define QUEUE_LINE_PIECE 4096	      /* bytes of a content line per record */
#define QUEUE_SIZES_LEN (4 * 16 + 10) /* bytes of the Z record's data */

enum queue_rec_type {
	QREC_VERSION = 'V',
	QREC_SIZES = 'Z',
	QREC_TIME = 'T',
	QREC_SENDER = 'S',
	QREC_FLAGS = 'F',
	QREC_ENVID = 'I',
	QREC_RET = 'P',
	QREC_ATTR = 'A',
	QREC_RCPT = 'R',
	QREC_DONE = 'D',
	QREC_CONTENT = 'M',
	QREC_PIECE = 'C',
	QREC_LINE = 'L',
	QREC_EXTRACTED = 'X',
	QREC_END = 'E',
};

/* The numbers of the Z record. */
struct queue_sizes {
	long long size;		    /* message bytes, lines counted with CRLF */
	long long content_offset;   /* of the M record */
	long long body_offset;	    /* of the first body record, or of X without a body */
	long long extracted_offset; /* of the X record */
	long long nrcpt;	    /* R and D records */
};

/* queue_rec_put - append one record (type, length, data) to out. len <= QUEUE_REC_MAX. */
void queue_rec_put(struct strbuf *out, int type, const void *data, size_t len);

/* queue_sizes_format - the QUEUE_SIZES_LEN bytes of a Z record into buf (NUL added). */
void queue_sizes_format(char buf[QUEUE_SIZES_LEN + 1], const struct queue_sizes *sizes);
/* queue_sizes_parse - the Z record's data; 0, or -1 when it is malformed. */
int queue_sizes_parse(const char *data, size_t len, struct queue_sizes *sizes);

/* A recipient record's data, parsed. The strings point into the record. */
struct queue_rcpt {
	const char *address;
	const char *orcpt; /* "" when not given */
	unsigned notify;   /* CLEANUP_NOTIFY_* bits, 0 when not given */
};

/* queue_rcpt_format - append the data of a recipient record to out. */
void queue_rcpt_format(struct strbuf *out, const char *address, const char *orcpt, unsigned notify);
/*
 * queue_rcpt_parse - split a recipient record's data (len bytes, followed
 * by a NUL as the reader leaves it); 0, or -1 with *error_r.
 */
int queue_rcpt_parse(const char *data, size_t len, struct queue_rcpt *rcpt, char **error_r);

/*
 * queue_attr_split - split an A record's "name=value" (followed by a NUL):
 * *name_len_r bytes of name (1 or more of [a-z0-9_]) and the value after
 * '='. 0, or -1 when malformed.
 */
int queue_attr_split(const char *data, size_t len, size_t *name_len_r, const char **value_r);

/* ---- reading ---- */

struct queue_reader;

/* One record; data (len bytes, then a NUL) is valid until the next call. */
struct queue_rec {
	int type;	  /* enum queue_rec_type */
	const char *data; /* len bytes, then a NUL byte (data may hold NULs of its own) */
	size_t len;
	off_t offset; /* of the type byte in the file */
};

enum queue_read_status {
	QUEUE_READ_REC,	  /* *rec holds the next record */
	QUEUE_READ_END,	  /* *rec holds the E record, and the file ends there: complete */
	QUEUE_READ_ERROR, /* see queue_reader_error() and *error_r */
};

/* Why a file is not complete. */
enum queue_error {
	QUEUE_ERR_NONE,
	QUEUE_ERR_INCOMPLETE, /* it ends before its E record */
	QUEUE_ERR_CORRUPT,    /* bad type, length, order or data */
	QUEUE_ERR_IO,	      /* reading failed (not the file's fault) */
};

/*
 * queue_reader_fd - read the queue file open on fd from its start (with
 * pread(2): the descriptor's offset is not used). The caller keeps fd.
 */
struct queue_reader *queue_reader_fd(int fd);
/* queue_reader_mem - read a queue file held in memory (len bytes, kept by the caller). */
struct queue_reader *queue_reader_mem(const void *data, size_t len);
void queue_reader_free(struct queue_reader **r);

/*
 * queue_reader_next - the next record, checked against the format above
 * as far as the records so far allow. QUEUE_READ_REC for each record but
 * the last; QUEUE_READ_END with the E record in *rec once it is read and
 * nothing follows it. After QUEUE_READ_ERROR (*error_r set: what is wrong
 * and at which offset) every further call fails again, as does a call
 * after QUEUE_READ_END.
 */
enum queue_read_status queue_reader_next(struct queue_reader *r, struct queue_rec *rec,
					 char **error_r);
/* queue_reader_error - why the last call failed, QUEUE_ERR_NONE if it did not. */
enum queue_error queue_reader_error(const struct queue_reader *r);

/* What a complete queue file holds, from queue_file_check(). */
struct queue_summary {
	struct queue_sizes sizes;
	long long ndone;     /* D records */
	long long lines;     /* content lines */
	long long file_size; /* bytes */
};

/*
 * queue_file_check - read the whole file: 0 when it is complete (with
 * *summary filled), or -1 with *kind_r (INCOMPLETE, CORRUPT or IO) and
 * *error_r. Either pointer of summary and kind_r may be NULL.
 */
int queue_file_check(int fd, struct queue_summary *summary, enum queue_error *kind_r,
		     char **error_r);
/* queue_mem_check - the same for a file held in memory. */
int queue_mem_check(const void *data, size_t len, struct queue_summary *summary,
		    enum queue_error *kind_r, char **error_r);

/* ---- changing ---- */

/*
 * queue_mark_done - mark the recipients whose R records start at the n
 * offsets as delivered: rewrite each type byte in place from R to D (one
 * pwrite of one byte each; an offset holding D already is left so), then
 * fdatasync the file once. An offset that holds neither R nor D is an
 * error. 0, or -1 with *error_r: then some may be marked, none durably.
 */
int queue_mark_done(int fd, const off_t *offsets, size_t n, char **error_r);

/*
 * queue_file_quarantine - move queue_dir/from_dir/id to queue_dir/corrupt/id
 * (rename, then fsync of corrupt/), for a file found not complete. 0, or -1
 * with *error_r.
 */
int queue_file_quarantine(const char *queue_dir, const char *from_dir, const char *id,
			  char **error_r);

#endif
