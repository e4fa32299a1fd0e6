/*
 * cleanup_client - the client side of the cleanup protocol (see
 * cleanup_client.h): records are buffered in the stream and sent in large
 * writes; only cleanup_finish() waits for an answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/cleanup_client.h"
#include "util/attr.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/stream.h"
#include "util/strbuf.h"

enum client_state {
	CL_IDLE,     /* between messages */
	CL_ENVELOPE, /* envelope sent: recipients may follow */
	CL_CONTENT,  /* content is being sent */
};

struct cleanup_client {
	struct stream *s;
	enum client_state state;
	struct strbuf data; /* content not yet put in a record */
	struct strbuf rec;  /* scratch for encoding */
	char *error;	    /* the failure that ended the conversation, or NULL */
};

/* failed - the conversation failed before: report it again. */
static int failed(struct cleanup_client *c, char **error_r)
{
	if (c->error == NULL)
		return 0;
	*error_r = xstrdup(c->error);
	return -1;
}

/* fail - the conversation fails now (sticky). */
static int fail(struct cleanup_client *c, char *error, char **error_r)
{
	free(c->error);
	c->error = xasprintf("cleanup service: %s", error);
	free(error);
	*error_r = xstrdup(c->error);
	return -1;
}

/* flush - send what is buffered. */
static int flush(struct cleanup_client *c, char **error_r)
{
	enum stream_status st = stream_flush(c->s);

	if (st == STREAM_OK)
		return 0;
	if (st == STREAM_TIMEOUT)
		return fail(c, xasprintf("write: timeout after %d ms", stream_timeout(c->s)),
			    error_r);
	return fail(c, xasprintf("write: %s", strerror(stream_errno(c->s))), error_r);
}

/* send_array - buffer one record; write out once enough is buffered (or now, if flush_now). */
static int send_array(struct cleanup_client *c, const struct attr_send *attrs, int flush_now,
		      char **error_r)
{
	strbuf_reset(&c->rec);
	attr_encode_array(&c->rec, attrs);
	stream_write(c->s, c->rec.data, c->rec.len);
	if (flush_now || stream_pending_output(c->s) >= CLEANUP_CHUNK)
		return flush(c, error_r);
	return 0;
}
#define send_rec(c, flush_now, error_r, ...)                                                       \
	send_array((c), ATTR_SEND_LIST(__VA_ARGS__), (flush_now), (error_r))

static void expect_state(const struct cleanup_client *c, int ok, const char *func)
{
	if (!ok)
		msg_panic("%s: called in state %d", func, (int)c->state);
}

struct cleanup_client *cleanup_open(const char *queue_dir, int timeout_ms, char **error_r)
{
	struct cleanup_client *c;
	char *path, *err = NULL;
	int fd;

	path = xasprintf("%s/%s", queue_dir, CLEANUP_SOCKET_PRIVATE);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		free(path);
		path = xasprintf("%s/%s", queue_dir, CLEANUP_SOCKET_PUBLIC);
	}
	fd = sock_unix_connect(path, &err);
	if (fd < 0) {
		*error_r = xasprintf("cleanup service: %s", err);
		free(err);
		free(path);
		return NULL;
	}
	free(path);
	c = xcalloc(1, sizeof(*c));
	c->s = stream_create(fd);
	stream_set_timeout(c->s, timeout_ms > 0 ? timeout_ms : 1);
	if (attr_expect_protocol(c->s, CLEANUP_PROTOCOL, CLEANUP_PROTOCOL_VERSION, &err) < 0) {
		*error_r = xasprintf("cleanup service: %s", err);
		free(err);
		cleanup_close(&c);
		return NULL;
	}
	return c;
}

/* opt - an optional string attribute: absent and empty mean the same. */
static const char *opt(const char *s)
{
	return s != NULL ? s : "";
}

int cleanup_envelope(struct cleanup_client *c, const struct cleanup_envelope *env, char **error_r)
{
	expect_state(c, c->state == CL_IDLE, "cleanup_envelope");
	if (failed(c, error_r) < 0)
		return -1;
	c->state = CL_ENVELOPE;
	strbuf_reset(&c->data);
	return send_rec(c, 0, error_r, ATTR_SEND_STR("request", "envelope"),
			ATTR_SEND_STR("sender", env->sender), ATTR_SEND_INT("flags", env->flags),
			ATTR_SEND_INT("ret", env->ret), ATTR_SEND_INT("size_hint", env->size_hint),
			ATTR_SEND_STR("envid", opt(env->envid)),
			ATTR_SEND_STR("client_name", opt(env->client_name)),
			ATTR_SEND_STR("client_addr", opt(env->client_addr)),
			ATTR_SEND_STR("client_port", opt(env->client_port)),
			ATTR_SEND_STR("helo", opt(env->helo)),
			ATTR_SEND_STR("protocol", opt(env->protocol)),
			ATTR_SEND_STR("tls_info", opt(env->tls_info)),
			ATTR_SEND_STR("tls_cipher", opt(env->tls_cipher)),
			ATTR_SEND_STR("sasl_method", opt(env->sasl_method)),
			ATTR_SEND_STR("sasl_username", opt(env->sasl_username)),
			ATTR_SEND_STR("local_user", opt(env->local_user)),
			ATTR_SEND_STR("full_name", opt(env->full_name)));
}

int cleanup_rcpt(struct cleanup_client *c, const char *rcpt, const char *orcpt, unsigned notify,
		 char **error_r)
{
	expect_state(c, c->state == CL_ENVELOPE, "cleanup_rcpt");
	if (failed(c, error_r) < 0)
		return -1;
	return send_rec(c, 0, error_r, ATTR_SEND_STR("request", "rcpt"),
			ATTR_SEND_STR("rcpt", rcpt), ATTR_SEND_STR("orcpt", opt(orcpt)),
			ATTR_SEND_INT("notify", notify));
}

/* send_data - len bytes of content as one data record. */
static int send_data(struct cleanup_client *c, const void *data, size_t len, char **error_r)
{
	return send_rec(c, 0, error_r, ATTR_SEND_STR("request", "data"),
			ATTR_SEND_DATA("data", data, len));
}

int cleanup_write(struct cleanup_client *c, const void *data, size_t len, char **error_r)
{
	const char *p = data;
	size_t n;

	expect_state(c, c->state != CL_IDLE, "cleanup_write");
	if (failed(c, error_r) < 0)
		return -1;
	c->state = CL_CONTENT;
	while (len > 0) {
		if (c->data.len == 0 && len >= CLEANUP_CHUNK) {
			if (send_data(c, p, CLEANUP_CHUNK, error_r) < 0)
				return -1;
			p += CLEANUP_CHUNK;
			len -= CLEANUP_CHUNK;
			continue;
		}
		n = CLEANUP_CHUNK - c->data.len < len ? CLEANUP_CHUNK - c->data.len : len;
		strbuf_append(&c->data, p, n);
		p += n;
		len -= n;
		if (c->data.len == CLEANUP_CHUNK) {
			if (send_data(c, c->data.data, c->data.len, error_r) < 0)
				return -1;
			strbuf_reset(&c->data);
		}
	}
	return 0;
}

/* read_result - the answer to {request=end}. */
static int read_result(struct cleanup_client *c, struct cleanup_result *result, char **error_r)
{
	struct strbuf dsn = STRBUF_INIT, text = STRBUF_INIT, qid = STRBUF_INIT;
	long long status = -1;
	char *err = NULL;
	int ret = 0;

	if (attr_read(c->s, &err, ATTR_RECV_INT("status", &status),
		      ATTR_MAX_LEN(ATTR_RECV_STR("dsn", &dsn), sizeof(result->dsn) - 1),
		      ATTR_MAX_LEN(ATTR_RECV_STR("text", &text), CLEANUP_INFO_MAX),
		      ATTR_MAX_LEN(ATTR_RECV_STR("queue_id", &qid), sizeof(result->queue_id) - 1),
		      ATTR_END) < 0) {
		ret = fail(c, err, error_r);
	} else if (status < 0 || status > 599 || (status == 0 && qid.len == 0)) {
		ret = fail(c, xasprintf("bad answer: status %lld", status), error_r);
	} else {
		memset(result, 0, sizeof(*result));
		result->status = (int)status;
		memcpy(result->dsn, dsn.data != NULL ? dsn.data : "", dsn.len);
		memcpy(result->queue_id, qid.data != NULL ? qid.data : "", qid.len);
		result->text = text.len > 0 ? strbuf_detach(&text) : NULL;
	}
	strbuf_free(&dsn);
	strbuf_free(&text);
	strbuf_free(&qid);
	return ret;
}

int cleanup_finish(struct cleanup_client *c, struct cleanup_result *result, char **error_r)
{
	expect_state(c, c->state != CL_IDLE, "cleanup_finish");
	c->state = CL_IDLE;
	if (failed(c, error_r) < 0)
		return -1;
	if (c->data.len > 0 && send_data(c, c->data.data, c->data.len, error_r) < 0)
		return -1;
	strbuf_reset(&c->data);
	if (send_rec(c, 1, error_r, ATTR_SEND_STR("request", "end")) < 0)
		return -1;
	return read_result(c, result, error_r);
}

void cleanup_abort(struct cleanup_client *c)
{
	char *err = NULL;

	if (c->state == CL_IDLE)
		return;
	c->state = CL_IDLE;
	strbuf_reset(&c->data);
	if (c->error == NULL && send_rec(c, 1, &err, ATTR_SEND_STR("request", "abort")) < 0)
		free(err);
}

void cleanup_close(struct cleanup_client **cp)
{
	struct cleanup_client *c = *cp;

	if (c == NULL)
		return;
	stream_destroy(&c->s);
	strbuf_free(&c->data);
	strbuf_free(&c->rec);
	free(c->error);
	free(c);
	*cp = NULL;
}

void cleanup_result_free(struct cleanup_result *result)
{
	XFREE(result->text);
}
