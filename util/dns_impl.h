/*
 * dns_impl - what the files of the DNS resolver share and nobody else
 * needs: reading names out of a packet, copying and freeing records.
 */
#ifndef TERN_DNS_IMPL_H
#define TERN_DNS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "util/dns.h"
#include "util/strbuf.h"

/*
 * dns_name_read - decode the (possibly compressed) name at *pos of the len
 * bytes of pkt into text (replacing its contents), as text (see dns.h).
 * Every compression pointer must point before the target of the pointer
 * followed last (before itself for the first one), so a name cannot loop;
 * at most DNS_COMPRESSION_HOPS pointers; the name is at most
 * DNS_NAME_WIRE_MAX bytes in wire form. On success *pos is just after the
 * name's bytes at *pos (after its first pointer, if any).
 */
int dns_name_read(const unsigned char *pkt, size_t len, size_t *pos, struct strbuf *text,
		  char **error_r);

/* dns_rr_copy - a deep copy of src into dst. */
void dns_rr_copy(struct dns_rr *dst, const struct dns_rr *src);
/* dns_rr_clear - free what the record owns (not the record itself). */
void dns_rr_clear(struct dns_rr *rr);

/* dns_get16, dns_get32 - big-endian numbers at p. */
static inline uint16_t dns_get16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t dns_get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
