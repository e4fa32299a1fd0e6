/*
 * smtpd_net - client network lists (see smtpd_net.h).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "smtpd/smtpd_net.h"
#include "util/mymalloc.h"

/* parse_one - "addr[/prefix]" with optional brackets around an IPv6 addr. */
static int parse_one(const char *word, struct smtpd_net *net)
{
	const char *slash = strchr(word, '/'), *p = word;
	size_t len = slash != NULL ? (size_t)(slash - word) : strlen(word);
	char buf[INET6_ADDRSTRLEN + 2], *end;
	long prefix;

	if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
		p++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, buf, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, net->addr) == 1)
		net->family = AF_INET6;
	else
		return -1;
	net->prefix = net->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0' || prefix < 0 || prefix > net->prefix)
			return -1;
		net->prefix = (int)prefix;
	}
	return 0;
}

int smtpd_netlist_parse(char *const *words, struct smtpd_netlist *list, char **error_r)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++) {
		struct smtpd_net net;

		if (parse_one(words[i], &net) < 0) {
			*error_r =
			    xasprintf("\"%s\" is not an IP address or network/prefix", words[i]);
			return -1;
		}
		list->items = xreallocarray(list->items, list->count + 1, sizeof(*list->items));
		list->items[list->count++] = net;
	}
	return 0;
}

/* prefix_equal - whether the first bits bits of a and b are equal. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int smtpd_netlist_match(const struct smtpd_netlist *list, const char *addr)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	unsigned char a4[4], a6[16];
	int has4 = 0, has6 = 0;
	size_t i;

	if (inet_pton(AF_INET, addr, a4) == 1) {
		has4 = 1;
	} else if (inet_pton(AF_INET6, addr, a6) == 1) {
		has6 = 1;
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			memcpy(a4, a6 + 12, 4);
			has4 = 1;
		}
	}
	for (i = 0; i < list->count; i++) {
		const struct smtpd_net *n = &list->items[i];

		if (n->family == AF_INET && has4 && prefix_equal(n->addr, a4, n->prefix))
			return 1;
		if (n->family == AF_INET6 && has6 && prefix_equal(n->addr, a6, n->prefix))
			return 1;
	}
	return 0;
}

void smtpd_netlist_free(struct smtpd_netlist *list)
{
	XFREE(list->items);
	list->count = 0;
}
