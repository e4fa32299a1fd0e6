/*
 * dsn_send - hand a composed notice to the cleanup service, like any new
 * message: the envelope (the given sender, BODY=8BITMIME and SMTPUTF8 as
 * the notice needs them), its one recipient, the text as dsn_compose()
 * writes it, and the end; cleanup answers with the queue ID once the
 * notice is safely in the queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/cleanup_client.h"
#include "mail/dsn.h"
#include "util/mymalloc.h"

/* to_cleanup - the dsn_write_fn that streams the notice to cleanup. */
static int to_cleanup(void *ctx, const void *data, size_t len, char **error_r)
{
	return cleanup_write(ctx, data, len, error_r);
}

int dsn_send(const char *queue_dir, int timeout_ms, const struct dsn_notice *n,
	     const char *env_sender, char queue_id_r[32], char **error_r)
{
	struct cleanup_envelope env = {
	    .sender = env_sender,
	    .ret = CLEANUP_RET_NONE,
	    .size_hint = -1,
	};
	struct cleanup_result result = {0};
	struct cleanup_client *c;
	int ret = -1;

	if (n->orig->flags & CLEANUP_FLAG_SMTPUTF8)
		env.flags |= CLEANUP_FLAG_SMTPUTF8;
	if (dsn_needs_8bit(n))
		env.flags |= CLEANUP_FLAG_8BITMIME;
	if ((c = cleanup_open(queue_dir, timeout_ms, error_r)) == NULL)
		return -1;
	if (cleanup_envelope(c, &env, error_r) < 0 ||
	    cleanup_rcpt(c, n->to, NULL, 0, error_r) < 0 ||
	    dsn_compose(n, to_cleanup, c, error_r) < 0 || cleanup_finish(c, &result, error_r) < 0)
		goto out;
	if (result.status != 0) {
		*error_r = xasprintf("cleanup refused the notice: %d %s %s", result.status,
				     result.dsn, result.text != NULL ? result.text : "");
		goto out;
	}
	snprintf(queue_id_r, 32, "%s", result.queue_id);
	ret = 0;
out:
	cleanup_result_free(&result);
	cleanup_close(&c);
	return ret;
}
