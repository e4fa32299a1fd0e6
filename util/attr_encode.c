/*
 * attr_encode - write records of the attribute IPC codec (see attr.h).
 */
#include <stdio.h>
#include <string.h>

#include "util/attr.h"
#include "util/msg.h"

bool attr_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > ATTR_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* put_netstring - append <len>:<bytes>, to out. */
static void put_netstring(struct strbuf *out, const void *data, size_t len)
{
	strbuf_printf(out, "%zu:", len);
	strbuf_append(out, data, len);
	strbuf_putc(out, ',');
}

/* check_name - panic unless a's name is valid and not used before it in the list. */
static void check_name(const struct attr_send *attrs, const struct attr_send *a)
{
	const struct attr_send *prev;

	if (a->name == NULL || !attr_name_valid(a->name, strlen(a->name)))
		msg_panic("attr_encode: bad attribute name \"%s\"",
			  a->name != NULL ? a->name : "(null)");
	for (prev = attrs; prev < a; prev++)
		if (strcmp(prev->name, a->name) == 0)
			msg_panic("attr_encode: attribute %s given twice", a->name);
}

void attr_encode_array(struct strbuf *out, const struct attr_send *attrs)
{
	const struct attr_send *a;
	char num[32];
	int n;

	for (a = attrs; a->type != ATTR_TYPE_END; a++) {
		check_name(attrs, a);
		put_netstring(out, a->name, strlen(a->name));
		switch (a->type) {
		case ATTR_TYPE_STR:
			if (a->str == NULL)
				msg_panic("attr_encode: attribute %s: NULL string", a->name);
			put_netstring(out, a->str, strlen(a->str));
			break;
		case ATTR_TYPE_INT:
			n = snprintf(num, sizeof(num), "%lld", a->num);
			put_netstring(out, num, (size_t)n);
			break;
		case ATTR_TYPE_DATA:
			if (a->data == NULL && a->len > 0)
				msg_panic("attr_encode: attribute %s: NULL data", a->name);
			put_netstring(out, a->len > 0 ? a->data : "", a->len);
			break;
		default:
			msg_panic("attr_encode: attribute %s: bad type %d", a->name, (int)a->type);
		}
	}
	put_netstring(out, "", 0);
}
