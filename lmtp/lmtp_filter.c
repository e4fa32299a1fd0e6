/*
 * lmtp_filter - the delivery hook (see lmtp_filter.h): INBOX, or the
 * mailbox of the sub-address detail when it exists.
 */
#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp_filter.h"
#include "store/store.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* detail_mailbox - the mailbox named detail when the store has it (selectable), or NULL. */
static char *detail_mailbox(struct store *store, const char *detail)
{
	struct store_mailbox mbox;
	char *error = NULL, *name = NULL;
	int rc;

	if (detail == NULL || detail[0] == '\0')
		return NULL;
	memset(&mbox, 0, sizeof(mbox));
	rc = store_mailbox_get(store, detail, &mbox, &error);
	if (rc == 0) {
		if (!mbox.noselect)
			name = xstrdup(mbox.name);
		store_mailbox_free(&mbox);
	} else if (rc != STORE_ERR_NOTFOUND && rc != STORE_ERR_INVALID) {
		/* the append will meet the same trouble and say so; INBOX meanwhile */
		msg_warn("look up mailbox \"%s\": %s", detail, error);
	}
	free(error);
	return name;
}

int lmtp_filter_run(const struct lmtp_filter_conf *conf, struct store *store,
		    const struct lmtp_filter_msg *msg, struct lmtp_filter_result *result,
		    char **error_r)
{
	(void)error_r;
	result->flags = 0;
	result->mailbox = NULL;
	if (conf->save_to_detail_mailbox)
		result->mailbox = detail_mailbox(store, msg->detail);
	if (result->mailbox == NULL)
		result->mailbox = xstrdup("INBOX");
	return 0;
}

void lmtp_filter_result_free(struct lmtp_filter_result *result)
{
	XFREE(result->mailbox);
}
