/*
 * lmtp_filter - the delivery hook: what becomes of one recipient's copy of
 * a message, decided just before lmtp saves it in the recipient's store.
 *
 * Now the answer is the mailbox INBOX, or, with
 * lmtp_save_to_detail_mailbox = yes, the mailbox named by the recipient's
 * sub-address detail ("tag" of user+tag@example.org) when that mailbox
 * exists in the store (matched exactly; "inbox" is INBOX).
 *
 * This is where the Sieve interpreter (RFC 5228) plugs in: it will run the
 * account's active script here, with the message's header at hand through
 * msg->content, and fill the same result (fileinto: mailbox; imap4flags:
 * flags and keywords; discard, redirect and reject will need new result
 * fields, and the caller new branches). The caller saves into
 * result->mailbox and falls back to INBOX only when that mailbox is
 * missing at the time of the append.
 */
#ifndef TERN_LMTP_FILTER_H
#define TERN_LMTP_FILTER_H

#include "lmtp/lmtp_content.h"

struct store;

struct lmtp_filter_conf {
	int save_to_detail_mailbox; /* lmtp_save_to_detail_mailbox */
};

/* What the hook may look at for one recipient. */
struct lmtp_filter_msg {
	const char *sender;	      /* envelope sender, "" for the null sender */
	const char *rcpt;	      /* the recipient as given in RCPT TO */
	const char *account;	      /* the account it reached (canonical address) */
	const char *detail;	      /* the sub-address detail, or NULL */
	struct lmtp_content *content; /* the message as received (without lmtp's fields) */
};

/* The decision. Zero it before the call; free it with lmtp_filter_result_free(). */
struct lmtp_filter_result {
	char *mailbox;	/* where to save (malloc'd) */
	unsigned flags; /* STORE_* flags to give the message */
};

/*
 * lmtp_filter_run - decide for msg, in the recipient's open store. Returns
 * 0 with *result filled, or -1 with *error_r set when no decision can be
 * made now (the delivery is then deferred).
 */
int lmtp_filter_run(const struct lmtp_filter_conf *conf, struct store *store,
		    const struct lmtp_filter_msg *msg, struct lmtp_filter_result *result,
		    char **error_r);

void lmtp_filter_result_free(struct lmtp_filter_result *result);

#endif
