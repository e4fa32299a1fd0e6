/*
 * fuzz_address - libFuzzer harness for the envelope address parser.
 *
 * The first input byte chooses the parser flags; the rest is the address.
 * Whatever the parser accepts must keep its promises, or the harness
 * aborts: the formatted result is within the length limits, holds no
 * control character, parses again (with the same flags) to the same
 * address, and its domain is already normalised (normalising it again
 * changes nothing). Errors must come with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what, const char *text)
{
	if (!cond) {
		fprintf(stderr, "fuzz_address: %s: \"%s\"\n", what, text);
		abort();
	}
}

/* check_accepted - the promises about an address that was accepted. */
static void check_accepted(const struct address *a, int flags)
{
	struct address b;
	char *text = address_format(a), *again, *dom = NULL, *err = NULL, *q;
	const char *reparse = a->null ? "<>" : text;
	size_t i;

	for (i = 0; text[i] != '\0'; i++)
		check((unsigned char)text[i] >= 0x20 && text[i] != 0x7f, "control character", text);
	check(address_utf8_valid(text, strlen(text)), "invalid UTF-8 in result", text);
	if (!a->null) {
		q = address_quote_local(a->local);
		check(strlen(q) <= ADDRESS_LOCAL_MAX, "local part too long", text);
		free(q);
		check(a->domain != NULL || (flags & ADDRESS_NO_DOMAIN_OK), "no domain", text);
	}
	if (a->domain != NULL) {
		check(strlen(text) <= ADDRESS_MAX, "address too long", text);
		check(strlen(a->domain) <= ADDRESS_DOMAIN_MAX, "domain too long", text);
		check(a->literal == (a->domain[0] == '['), "literal flag", text);
		check(address_domain_normalise(a->domain, strlen(a->domain), flags, &dom, &err) ==
			  0,
		      "normalised domain refused", a->domain);
		check(strcmp(dom, a->domain) == 0, "domain normalisation not idempotent",
		      a->domain);
		free(dom);
	}
	check(address_parse(reparse, strlen(reparse), flags, &b, &err) == 0,
	      "formatted address refused", reparse);
	again = address_format(&b);
	check(strcmp(again, text) == 0, "round trip changed the address", text);
	check(a->null == b.null && a->literal == b.literal, "round trip changed the flags", text);
	free(again);
	address_free(&b);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct address a;
	char *err = NULL;
	int flags;

	if (size == 0)
		return 0;
	flags =
	    data[0] & (ADDRESS_UTF8 | ADDRESS_NULL_OK | ADDRESS_NO_DOMAIN_OK | ADDRESS_NO_LITERAL);
	if (address_parse((const char *)data + 1, size - 1, flags, &a, &err) == 0) {
		check(err == NULL, "error set on success", "");
		check_accepted(&a, flags);
	} else {
		check(err != NULL && err[0] != '\0', "no error message", "");
		free(err);
	}
	address_free(&a);
	return 0;
}
