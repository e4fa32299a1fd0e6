/*
 * lmtp_content - the content of the message of one LMTP transaction, as it
 * comes in and until every recipient has its copy.
 *
 * The bytes written are normalised to CR LF line ends (a bare LF or a bare
 * CR becomes CR LF; what DATA's decoder produces is already so, BDAT chunks
 * are passed on as the client sent them), because the store keeps blobs in
 * that form. They are held in memory up to a limit; past it everything so
 * far and all that follows goes to an unlinked temporary file (O_TMPFILE,
 * or mkstemp(3) + unlink(2) where the file system lacks it) in a given
 * directory, so that nothing is left behind when the process dies. The
 * first LMTP_CONTENT_HEAD_MAX bytes stay in memory in any case, for a look
 * at the header. Bytes past a size limit are counted but not kept: the
 * caller refuses such a message.
 *
 * A write error of the temporary file is remembered (and every later write
 * ignored) so that the caller, which must read the whole message anyway to
 * stay in step with its client, can refuse it at the end.
 */
#ifndef TERN_LMTP_CONTENT_H
#define TERN_LMTP_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Bytes of the message's start always kept in memory (the header that matters). */
#define LMTP_CONTENT_HEAD_MAX (64 * 1024)
/* The longest ID taken from a Received: field. */
#define LMTP_ID_MAX 64

struct lmtp_content {
	/* settings */
	size_t memory_limit; /* most bytes held in memory before spilling */
	uint64_t size_limit; /* most bytes kept; beyond, only counted */
	char *spill_dir;     /* where the temporary file goes */
	/* state */
	struct strbuf mem;  /* the content while it fits in memory */
	struct strbuf head; /* the first bytes, once spilled */
	int fd;		    /* the temporary file, or -1 */
	uint64_t size;	    /* bytes of content (after normalisation), kept or not */
	uint64_t kept;	    /* bytes in mem or in the file */
	int pending_cr;	    /* the last byte written was a CR (its LF may follow) */
	char *error;	    /* the first failure of the temporary file, or NULL */
};

/*
 * lmtp_content_init - an empty content. spill_dir is copied; memory_limit
 * may be 0 (everything goes to the file).
 */
void lmtp_content_init(struct lmtp_content *c, const char *spill_dir, size_t memory_limit,
		       uint64_t size_limit);

/* lmtp_content_free - release memory and close the file (which disappears). */
void lmtp_content_free(struct lmtp_content *c);

/* lmtp_content_write - append len bytes of message content. */
void lmtp_content_write(struct lmtp_content *c, const void *data, size_t len);

/*
 * lmtp_content_end - no more content: a CR left pending at the end is
 * completed to CR LF. Call once, before reading.
 */
void lmtp_content_end(struct lmtp_content *c);

/* lmtp_content_too_big - more bytes came than size_limit allows. */
int lmtp_content_too_big(const struct lmtp_content *c);

/*
 * lmtp_content_read - copy up to len bytes from offset into buf; returns the
 * number copied (0 at the end), or -1 with *error_r set (also when a write
 * failed earlier: the content is incomplete).
 */
long long lmtp_content_read(struct lmtp_content *c, uint64_t offset, void *buf, size_t len,
			    char **error_r);

/* lmtp_content_head - the first bytes of the content (up to LMTP_CONTENT_HEAD_MAX). */
const char *lmtp_content_head(const struct lmtp_content *c, size_t *len_r);

/*
 * lmtp_received_id - the ID in the topmost Received: field of the header
 * at head (len bytes, CR LF or LF line ends): the word after "id" outside
 * comments and quoted strings, as the last MTA's queue ID ("... with ESMTP
 * id 4Qx7Lz0a3Fz9rxb; date"). NULL when that field has none, when there is
 * no Received: field before the header ends, or when the ID holds a byte
 * other than letters, digits, '.', '-' and '_' or is longer than
 * LMTP_ID_MAX. Malloc'd.
 */
char *lmtp_received_id(const char *head, size_t len);

#endif
