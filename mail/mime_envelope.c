/*
 * mime_envelope - the header fields of a message that ENVELOPE and
 * sorting need, collected as the header goes by. The first of each field
 * counts (an address field counts once it gave an address), as in
 * Dovecot.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/mymalloc.h"

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static void set_raw(char **dst, const char *value, size_t len)
{
	if (*dst == NULL)
		*dst = xstrndup(value, len);
}

static void set_addresses(struct mime_addresses *dst, const char *value, size_t len)
{
	if (dst->count == 0) {
		mime_addresses_free(dst);
		mime_parse_addresses(value, len, dst);
	}
}

void mime_envelope_field(struct mime_envelope *env, const char *name, size_t name_len,
			 const char *value, size_t len)
{
	struct strbuf dec = STRBUF_INIT;

	mime_trim(&value, &len);
	switch (name_len > 0 ? name[0] | 0x20 : 0) {
	case 'b':
		if (name_is(name, name_len, "bcc"))
			set_addresses(&env->bcc, value, len);
		break;
	case 'c':
		if (name_is(name, name_len, "cc"))
			set_addresses(&env->cc, value, len);
		break;
	case 'd':
		if (name_is(name, name_len, "date") && env->date == NULL) {
			env->date = xstrndup(value, len);
			env->date_time = mime_parse_date(env->date);
		}
		break;
	case 'f':
		if (name_is(name, name_len, "from"))
			set_addresses(&env->from, value, len);
		break;
	case 'i':
		if (name_is(name, name_len, "in-reply-to"))
			set_raw(&env->in_reply_to, value, len);
		break;
	case 'm':
		if (name_is(name, name_len, "message-id"))
			set_raw(&env->message_id, value, len);
		break;
	case 'r':
		if (name_is(name, name_len, "reply-to"))
			set_addresses(&env->reply_to, value, len);
		else if (name_is(name, name_len, "references"))
			set_raw(&env->references, value, len);
		break;
	case 's':
		if (name_is(name, name_len, "sender")) {
			set_addresses(&env->sender, value, len);
		} else if (name_is(name, name_len, "subject") && env->subject == NULL) {
			env->subject = xstrndup(value, len);
			mime_decode_words(value, len, &dec);
			env->subject_utf8 = strbuf_detach(&dec);
		}
		break;
	case 't':
		if (name_is(name, name_len, "to"))
			set_addresses(&env->to, value, len);
		break;
	default:
		break;
	}
}

void mime_envelope_free(struct mime_envelope **envp)
{
	struct mime_envelope *env = *envp;

	if (env == NULL)
		return;
	free(env->date);
	free(env->subject);
	free(env->subject_utf8);
	mime_addresses_free(&env->from);
	mime_addresses_free(&env->sender);
	mime_addresses_free(&env->reply_to);
	mime_addresses_free(&env->to);
	mime_addresses_free(&env->cc);
	mime_addresses_free(&env->bcc);
	free(env->in_reply_to);
	free(env->message_id);
	free(env->references);
	XFREE(*envp);
}
