/*
 * fuzz_dns - libFuzzer harness for the resolver's wire layer: the answer
 * parser (every section, name decompression, record data of each type),
 * then what the lookup layer does with a parsed answer (CNAME chains,
 * MX ordering, formatting), and the text-to-wire name encoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/dns.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* use_msg - everything the lookup layer does with an answer. */
static void use_msg(const struct dns_msg *msg)
{
	struct strbuf out = STRBUF_INIT;
	struct dns_reply reply;
	char *err = NULL, *next = NULL;
	size_t i;

	if (dns_reply_from_msg(msg, msg->qname, msg->qtype, &reply, &next, &err) == DNS_BADNAME) {
		free(err);
		return;
	}
	if (msg->qtype == DNS_T_MX)
		dns_mx_sort(reply.rr, reply.count);
	for (i = 0; i < reply.count; i++)
		dns_rr_format(&out, &reply.rr[i]);
	for (i = 0; i < msg->nanswer; i++)
		dns_rr_format(&out, &msg->answer[i]);
	/* a name the parser produced must encode again */
	if (dns_name_to_wire(&out, msg->qname, &err) < 0)
		abort();
	free(next);
	dns_reply_free(&reply);
	strbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf wire = STRBUF_INIT;
	struct dns_msg msg;
	char *err = NULL, *text;

	if (dns_msg_parse(data, size, &msg, &err) == 0)
		use_msg(&msg);
	else
		free(err);
	dns_msg_free(&msg);
	/* the input as a text name */
	text = xstrndup((const char *)data, size > 1100 ? 1100 : size);
	err = NULL;
	if (dns_name_to_wire(&wire, text, &err) < 0)
		free(err);
	else if (wire.len > DNS_NAME_WIRE_MAX)
		abort();
	free(text);
	strbuf_free(&wire);
	return 0;
}
