/*
 * smtpd_net - lists of client networks (mynetworks and the like) and
 * whether an address is in one. Pure functions, no I/O, no DNS.
 *
 * An entry is an IPv4 or IPv6 address with an optional "/prefix"; an IPv6
 * address may be in brackets ("[::1]/128", "[2001:db8::]/32"). Host bits
 * below the prefix are ignored. An IPv4-mapped IPv6 client address
 * (::ffff:192.0.2.1) matches IPv4 entries.
 */
#ifndef TERN_SMTPD_NET_H
#define TERN_SMTPD_NET_H

#include <stddef.h>

struct smtpd_net {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network byte order; 4 bytes used for AF_INET */
	int prefix;		/* bits that must match */
};

struct smtpd_netlist {
	struct smtpd_net *items;
	size_t count;
};

/*
 * smtpd_netlist_parse - parse the NULL-terminated words (a parameter split
 * by mail_conf_list()) into *list, appending. Returns 0, or -1 with
 * *error_r naming the bad entry.
 */
int smtpd_netlist_parse(char *const *words, struct smtpd_netlist *list, char **error_r);

/* smtpd_netlist_match - whether the address text addr ("192.0.2.1", "::1") is in list. */
int smtpd_netlist_match(const struct smtpd_netlist *list, const char *addr);

void smtpd_netlist_free(struct smtpd_netlist *list);

#endif
