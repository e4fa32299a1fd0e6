/*
 * attr - the internal IPC codec: records of typed name=value attributes.
 *
 * Every internal conversation (smtpd->cleanup, qmgr->smtp, lookups) is a
 * request record answered by a response record over a UNIX stream socket.
 *
 * Wire format. Each attribute is its name then its value, each a netstring
 *
 *	<decimal length>:<bytes>,
 *
 * and a record ends with the empty netstring "0:," where a name would be:
 *
 *	6:sender,17:alice@example.org,4:size,4:1234,0:,
 *
 * Lengths are plain decimal: no sign, no leading zero (except "0" itself), at
 * most ATTR_LEN_DIGITS digits. Names are 1 to ATTR_NAME_MAX bytes of
 * [a-z0-9_]. Values are bytes: a STR value holds no NUL byte, an INT value
 * is a decimal integer in the range of long long ("-12", "0"; no "+", no
 * leading zero, no "-0"), a DATA value may be anything, empty included.
 *
 * Types are checked by the compiler: a record is built from ATTR_SEND_*()
 * and received into ATTR_RECV_*() specs, each a typed inline function, in a
 * list ended by ATTR_END:
 *
 *	attr_encode(&buf, ATTR_SEND_STR("sender", sender),
 *		    ATTR_SEND_INT("size", size), ATTR_END);
 *
 *	struct strbuf sender = STRBUF_INIT;
 *	long long size = -1;
 *	if (attr_read(stream, &err, ATTR_RECV_STR("sender", &sender),
 *		      ATTR_OPTIONAL(ATTR_RECV_INT("size", &size)), ATTR_END) < 0)
 *
 * A decoder rejects a record with an attribute not in its receive spec, one
 * sent twice, a required one missing, a value over its spec's limit, and a
 * record over the decoder's size or attribute count limits.
 */
#ifndef TERN_ATTR_H
#define TERN_ATTR_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

struct stream;

#define ATTR_NAME_MAX 64		   /* bytes in a name */
#define ATTR_LEN_DIGITS 10		   /* digits in a netstring length */
#define ATTR_INT_MAX_LEN 20		   /* bytes of "-9223372036854775808" */
#define ATTR_DEFAULT_MAX_LEN (1u << 20)	   /* value limit of a receive spec: 1 MiB */
#define ATTR_DEFAULT_MAX_RECORD (1u << 24) /* bytes in a record, as a decoder's default */
#define ATTR_DEFAULT_MAX_ATTRS 256	   /* attributes in a record, as a decoder's default */

enum attr_type {
	ATTR_TYPE_END = 0, /* terminates a list */
	ATTR_TYPE_STR,
	ATTR_TYPE_INT,
	ATTR_TYPE_DATA,
};

/* Receive spec flags. */
#define ATTR_FLAG_OPTIONAL 0x1u /* may be absent: the destination is then left untouched */

/* One attribute to send. Build with ATTR_SEND_*(). */
struct attr_send {
	enum attr_type type;
	const char *name;
	const char *str;  /* STR */
	long long num;	  /* INT */
	const void *data; /* DATA */
	size_t len;	  /* DATA */
};

/* One attribute to receive. Build with ATTR_RECV_*(). */
struct attr_recv {
	enum attr_type type;
	const char *name;
	unsigned flags;	    /* ATTR_FLAG_* */
	size_t max_len;	    /* longest accepted value in bytes */
	struct strbuf *buf; /* STR, DATA: replaced by the value */
	long long *num;	    /* INT */
};

/* The end of a send or receive list. */
#define ATTR_END                                                                                   \
	{                                                                                          \
		.type = ATTR_TYPE_END                                                              \
	}

static inline struct attr_send attr_send_str(const char *name, const char *value)
{
	struct attr_send a = {.type = ATTR_TYPE_STR, .name = name, .str = value};

	return a;
}

static inline struct attr_send attr_send_int(const char *name, long long value)
{
	struct attr_send a = {.type = ATTR_TYPE_INT, .name = name, .num = value};

	return a;
}

static inline struct attr_send attr_send_data(const char *name, const void *data, size_t len)
{
	struct attr_send a = {.type = ATTR_TYPE_DATA, .name = name, .data = data, .len = len};

	return a;
}

/* attr_recv_str - a string without NUL bytes, into buf. */
static inline struct attr_recv attr_recv_str(const char *name, struct strbuf *buf)
{
	struct attr_recv a = {
	    .type = ATTR_TYPE_STR, .name = name, .max_len = ATTR_DEFAULT_MAX_LEN, .buf = buf};

	return a;
}

/* attr_recv_int - a decimal integer, into *num. */
static inline struct attr_recv attr_recv_int(const char *name, long long *num)
{
	struct attr_recv a = {
	    .type = ATTR_TYPE_INT, .name = name, .max_len = ATTR_INT_MAX_LEN, .num = num};

	return a;
}

/* attr_recv_data - any bytes, into buf. */
static inline struct attr_recv attr_recv_data(const char *name, struct strbuf *buf)
{
	struct attr_recv a = {
	    .type = ATTR_TYPE_DATA, .name = name, .max_len = ATTR_DEFAULT_MAX_LEN, .buf = buf};

	return a;
}

/* attr_optional - the attribute of spec may be absent. */
static inline struct attr_recv attr_optional(struct attr_recv spec)
{
	spec.flags |= ATTR_FLAG_OPTIONAL;
	return spec;
}

/* attr_max_len - accept values of spec up to max_len bytes (INT: at most ATTR_INT_MAX_LEN). */
static inline struct attr_recv attr_max_len(struct attr_recv spec, size_t max_len)
{
	spec.max_len = max_len;
	return spec;
}

/*
 * The spec constructors, typed: a value of the wrong C type does not compile
 * (or warns, an error with --enable-werror).
 */
#define ATTR_SEND_STR(name, value) attr_send_str((name), (value))
#define ATTR_SEND_INT(name, value) attr_send_int((name), (value))
#define ATTR_SEND_DATA(name, data, len) attr_send_data((name), (data), (len))
#define ATTR_RECV_STR(name, buf) attr_recv_str((name), (buf))
#define ATTR_RECV_INT(name, num) attr_recv_int((name), (num))
#define ATTR_RECV_DATA(name, buf) attr_recv_data((name), (buf))
#define ATTR_OPTIONAL(spec) attr_optional(spec)
#define ATTR_MAX_LEN(spec, max_len) attr_max_len((spec), (max_len))

/*
 * List literals: ATTR_SEND_LIST(ATTR_SEND_STR(...), ..., ATTR_END) is a
 * const struct attr_send array (likewise ATTR_RECV_LIST). They append an
 * ATTR_END of their own, so a forgotten terminator cannot be overrun.
 */
#define ATTR_SEND_LIST(...) ((const struct attr_send[]){__VA_ARGS__, ATTR_END})
#define ATTR_RECV_LIST(...) ((const struct attr_recv[]){__VA_ARGS__, ATTR_END})

/*
 * attr_encode_array - append the record of attrs (ended by ATTR_END) to out.
 * A name that is not valid is a programming error (msg_panic).
 *	attr_encode(out, ATTR_SEND_...(...), ..., ATTR_END)
 */
void attr_encode_array(struct strbuf *out, const struct attr_send *attrs);
#define attr_encode(out, ...) attr_encode_array((out), ATTR_SEND_LIST(__VA_ARGS__))

/* attr_name_valid - whether name (len bytes) is a valid attribute name. */
bool attr_name_valid(const char *name, size_t len);

/*
 * The incremental decoder. It copies the receive spec, whose destinations
 * must outlive it. Destinations are written while the record arrives: after
 * an error their contents are unspecified; after a complete record each
 * received attribute's destination holds its value and an absent optional
 * attribute's destination is untouched.
 *
 * attr_decoder_feed() takes any slice of input, down to one byte:
 *  ATTR_DECODE_MORE   all of it consumed, the record is not complete;
 *  ATTR_DECODE_DONE   the record is complete after *consumed_r bytes (the
 *                     rest belongs to what follows); the next feed starts a
 *                     new record;
 *  ATTR_DECODE_ERROR  *error_r says why; every further feed fails until
 *                     attr_decoder_reset().
 * *consumed_r is set in every case.
 */
enum attr_decode_status {
	ATTR_DECODE_MORE,
	ATTR_DECODE_DONE,
	ATTR_DECODE_ERROR,
};

struct attr_decoder;

/* attr_decoder_create - a decoder for records matching spec (ended by ATTR_END). */
struct attr_decoder *attr_decoder_create(const struct attr_recv *spec);
void attr_decoder_destroy(struct attr_decoder **decp);
/* attr_decoder_set_limits - bytes and attributes per record (>= 1 each). */
void attr_decoder_set_limits(struct attr_decoder *dec, size_t max_record, size_t max_attrs);
/* attr_decoder_reset - forget a partial record or an error; start afresh. */
void attr_decoder_reset(struct attr_decoder *dec);
enum attr_decode_status attr_decoder_feed(struct attr_decoder *dec, const void *data, size_t len,
					  size_t *consumed_r, char **error_r);
/* attr_decoder_idle - whether the decoder is between records (nothing of one fed yet). */
bool attr_decoder_idle(const struct attr_decoder *dec);

/*
 * Blocking use over a stream in blocking mode (stream_set_timeout() > 0;
 * non-blocking mode is a programming error). Each returns 0, or -1 with
 * *error_r set (malloc'd, caller frees).
 *
 * attr_write_array - encode the record, append it to the stream's output and
 * flush it.
 *	attr_write(stream, &err, ATTR_SEND_...(...), ..., ATTR_END)
 * attr_read_array - read one record matching spec, within the stream's
 * timeout in total; input after the record stays buffered in the stream.
 * End of input before a record starts is the error "connection closed".
 * After an error the conversation is out of step: close the connection.
 *	attr_read(stream, &err, ATTR_RECV_...(...), ..., ATTR_END)
 */
int attr_write_array(struct stream *s, const struct attr_send *attrs, char **error_r);
int attr_read_array(struct stream *s, const struct attr_recv *spec, char **error_r);
#define attr_write(s, error_r, ...) attr_write_array((s), ATTR_SEND_LIST(__VA_ARGS__), (error_r))
#define attr_read(s, error_r, ...) attr_read_array((s), ATTR_RECV_LIST(__VA_ARGS__), (error_r))

/*
 * The protocol handshake. A server's first words on a new connection are
 * the record {protocol=<name>, version=<version>}: attr_announce_protocol()
 * sends it; the client's attr_expect_protocol() reads it and fails, naming
 * both sides, unless name and version are what it expects.
 */
int attr_announce_protocol(struct stream *s, const char *name, long long version, char **error_r);
int attr_expect_protocol(struct stream *s, const char *name, long long version, char **error_r);

#endif
