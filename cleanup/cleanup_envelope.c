/*
 * cleanup_envelope - a new message: check what the client says of the
 * envelope, create the queue file, and write the envelope records and the
 * recipients.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup/cleanup.h"
#include "mail/cleanup_client.h"
#include "mail/queue_file.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define NOTIFY_ALL                                                                                 \
	(CLEANUP_NOTIFY_NEVER | CLEANUP_NOTIFY_SUCCESS | CLEANUP_NOTIFY_FAILURE |                  \
	 CLEANUP_NOTIFY_DELAY)

/* text_ok - no control characters (the client checked the syntax; this guards the file). */
static int text_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

char *cleanup_safe_text(const char *s, size_t max)
{
	size_t len = strlen(s), i;
	char *copy;

	if (len > max)
		len = max;
	copy = xstrndup(s, len);
	for (i = 0; i < len; i++)
		if ((unsigned char)copy[i] < 0x20 || copy[i] == 0x7f)
			copy[i] = '?';
	return copy;
}

/* envelope_ok - NULL, or what is wrong with the envelope record. */
static const char *envelope_ok(const struct cleanup_env *env)
{
	const struct strbuf *texts[] = {
	    &env->sender,      &env->envid,	  &env->client_name,   &env->client_addr,
	    &env->client_port, &env->helo,	  &env->protocol,      &env->tls_info,
	    &env->tls_cipher,  &env->sasl_method, &env->sasl_username, &env->local_user,
	    &env->full_name,
	};
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (!text_ok(strbuf_str(texts[i]), texts[i]->len))
			return "control character in an envelope attribute";
	if (env->flags < 0 || env->flags > 0xffff)
		return "bad flags";
	if (env->ret < CLEANUP_RET_NONE || env->ret > CLEANUP_RET_HDRS)
		return "bad ret";
	if (env->size_hint < -1)
		return "bad size_hint";
	return NULL;
}

/* write_envelope - the S, F, I, P and A records. */
static void write_envelope(struct cleanup_msg *m)
{
	const struct cleanup_env *env = m->env;
	const struct {
		const char *name;
		const struct strbuf *value;
	} attrs[] = {
	    {"client_name", &env->client_name},	    {"client_addr", &env->client_addr},
	    {"client_port", &env->client_port},	    {"helo", &env->helo},
	    {"protocol", &env->protocol},	    {"tls_info", &env->tls_info},
	    {"tls_cipher", &env->tls_cipher},	    {"sasl_method", &env->sasl_method},
	    {"sasl_username", &env->sasl_username}, {"local_user", &env->local_user},
	    {"full_name", &env->full_name},
	};
	char flags[24];
	size_t i;

	queue_writer_rec(m->w, QREC_SENDER, env->sender.data, env->sender.len);
	snprintf(flags, sizeof(flags), "%lld", env->flags);
	queue_writer_rec(m->w, QREC_FLAGS, flags, strlen(flags));
	if (env->envid.len > 0)
		queue_writer_rec(m->w, QREC_ENVID, env->envid.data, env->envid.len);
	if (env->ret != CLEANUP_RET_NONE)
		queue_writer_rec(m->w, QREC_RET, env->ret == CLEANUP_RET_FULL ? "FULL" : "HDRS", 4);
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (attrs[i].value->len > 0)
			queue_writer_attr(m->w, attrs[i].name, strbuf_str(attrs[i].value));
}

struct cleanup_msg *cleanup_msg_begin(const struct cleanup_conf *conf,
				      const struct cleanup_env *env, char **error_r)
{
	struct cleanup_msg *m;
	const char *why;
	char *err = NULL;
	int err_no = 0;

	if ((why = envelope_ok(env)) != NULL) {
		*error_r = xstrdup(why);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->conf = conf;
	m->env = env;
	m->phase = PHASE_ENVELOPE;
	m->w = queue_writer_create(conf->incoming_fd, conf->writer_flags, &err_no, &err);
	if (m->w == NULL) {
		msg_warn("%s", err);
		free(err);
		if (err_no == ENOSPC || err_no == EDQUOT)
			cleanup_refuse(m, 452, "4.3.1", "insufficient system storage", NULL);
		else
			cleanup_refuse(m, 451, "4.3.0", "queue file write error", NULL);
		return m;
	}
	memcpy(m->id, queue_writer_id(m->w), sizeof(m->id));
	write_envelope(m);
	if (conf->message_size_limit > 0 && env->size_hint > conf->message_size_limit)
		cleanup_refuse(m, 552, "5.3.4", "message size exceeds fixed limit",
			       "message size announced beyond the limit");
	return m;
}

int cleanup_msg_rcpt(struct cleanup_msg *m, const char *rcpt, const char *orcpt, long long notify,
		     char **error_r)
{
	if (m->phase != PHASE_ENVELOPE) {
		*error_r = xstrdup("recipient after the content began");
		return -1;
	}
	if (rcpt[0] == '\0' || !text_ok(rcpt, strlen(rcpt)) || !text_ok(orcpt, strlen(orcpt)) ||
	    notify < 0 || notify > NOTIFY_ALL) {
		*error_r = xstrdup("malformed recipient");
		return -1;
	}
	m->nrcpt++;
	if (m->first_rcpt == NULL)
		m->first_rcpt = xstrdup(rcpt);
	if (m->w != NULL)
		queue_writer_rcpt(m->w, rcpt, orcpt, (unsigned)notify);
	return 0;
}

void cleanup_msg_free(struct cleanup_msg **mp)
{
	struct cleanup_msg *m = *mp;

	if (m == NULL)
		return;
	queue_writer_free(&m->w);
	header_parser_free(&m->hp);
	strbuf_free(&m->line);
	free(m->text);
	free(m->first_rcpt);
	free(m->message_id);
	free(m);
	*mp = NULL;
}
