/*
 * attr_io - blocking send and receive of attribute records over a stream,
 * and the protocol-name handshake that opens every internal connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/attr.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

/* Longest protocol name a client accepts in a handshake. */
#define ATTR_PROTOCOL_NAME_MAX 256

static long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		msg_fatal("clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void require_blocking(const struct stream *s, const char *func)
{
	if (stream_timeout(s) <= 0)
		msg_panic("%s: stream is not in blocking mode", func);
}

int attr_write_array(struct stream *s, const struct attr_send *attrs, char **error_r)
{
	struct strbuf buf = STRBUF_INIT;

	require_blocking(s, "attr_write");
	attr_encode_array(&buf, attrs);
	stream_write(s, buf.data, buf.len);
	strbuf_free(&buf);
	switch (stream_flush(s)) {
	case STREAM_OK:
		return 0;
	case STREAM_TIMEOUT:
		*error_r = xasprintf("send attributes: timeout after %d ms", stream_timeout(s));
		return -1;
	default:
		*error_r = xasprintf("send attributes: %s", strerror(stream_errno(s)));
		return -1;
	}
}

/* fill_before - read more input into s, waiting no later than deadline. */
static enum stream_status fill_before(struct stream *s, long long deadline)
{
	int timeout = stream_timeout(s);
	long long left = deadline - now_ms();
	enum stream_status st;

	if (left <= 0)
		return STREAM_TIMEOUT;
	stream_set_timeout(s, (int)left);
	st = stream_fill(s);
	stream_set_timeout(s, timeout);
	return st;
}

/* read_record - feed the decoder from s until a record is complete. */
static int read_record(struct stream *s, struct attr_decoder *dec, char **error_r)
{
	long long deadline = now_ms() + stream_timeout(s);
	enum attr_decode_status dst;
	const void *data;
	size_t len, used;

	for (;;) {
		data = stream_peek(s, &len);
		if (len > 0) {
			dst = attr_decoder_feed(dec, data, len, &used, error_r);
			stream_skip(s, used);
			if (dst == ATTR_DECODE_DONE)
				return 0;
			if (dst == ATTR_DECODE_ERROR)
				return -1;
		}
		switch (fill_before(s, deadline)) {
		case STREAM_OK:
			break;
		case STREAM_EOF:
			*error_r = xstrdup(attr_decoder_idle(dec)
					       ? "connection closed"
					       : "connection closed in the middle of a record");
			return -1;
		case STREAM_TIMEOUT:
			*error_r =
			    xasprintf("receive attributes: timeout after %d ms", stream_timeout(s));
			return -1;
		default:
			*error_r = xasprintf("receive attributes: %s", strerror(stream_errno(s)));
			return -1;
		}
	}
}

int attr_read_array(struct stream *s, const struct attr_recv *spec, char **error_r)
{
	struct attr_decoder *dec;
	int ret;

	require_blocking(s, "attr_read");
	dec = attr_decoder_create(spec);
	ret = read_record(s, dec, error_r);
	attr_decoder_destroy(&dec);
	return ret;
}

int attr_announce_protocol(struct stream *s, const char *name, long long version, char **error_r)
{
	return attr_write(s, error_r, ATTR_SEND_STR("protocol", name),
			  ATTR_SEND_INT("version", version), ATTR_END);
}

/* printable - a copy of str with bytes outside printable ASCII replaced by '?'. */
static char *printable(const char *str)
{
	char *copy = xstrdup(str);
	char *p;

	for (p = copy; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return copy;
}

int attr_expect_protocol(struct stream *s, const char *name, long long version, char **error_r)
{
	struct strbuf proto = STRBUF_INIT;
	long long peer_version = 0;
	char *err = NULL, *peer;
	int ret = 0;

	if (attr_read(s, &err,
		      ATTR_MAX_LEN(ATTR_RECV_STR("protocol", &proto), ATTR_PROTOCOL_NAME_MAX),
		      ATTR_RECV_INT("version", &peer_version), ATTR_END) < 0) {
		*error_r = xasprintf("protocol %s handshake: %s", name, err);
		free(err);
		strbuf_free(&proto);
		return -1;
	}
	if (strcmp(strbuf_str(&proto), name) != 0 || peer_version != version) {
		peer = printable(strbuf_str(&proto));
		*error_r = xasprintf("protocol mismatch: expected %s version %lld, "
				     "server speaks %s version %lld",
				     name, version, peer, peer_version);
		free(peer);
		ret = -1;
	}
	strbuf_free(&proto);
	return ret;
}
