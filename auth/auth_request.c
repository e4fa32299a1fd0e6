/*
 * auth_request - decoding and validation of the auth protocol's requests.
 *
 * One decoder takes the attributes of every request type, each optional;
 * which of them were sent is known from auth_attr_isset() (strings) and an
 * out-of-range sentinel (integers). auth_request_check() then demands that
 * a record carries exactly the attributes of its request: the same rule as
 * the codec's own (no missing, extra or oversized field), per request type.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

#include "auth/auth.h"
#include "mail/auth_client.h"
#include "mail/sasl.h"
#include "util/mymalloc.h"

#define INT_UNSET LLONG_MIN
#define NAME_FIELD_MAX 64      /* request, mechanism, service, client_addr */
#define ADDRESS_FIELD_MAX 1024 /* domain, address: the directory checks them further */

/* Attribute bits. */
enum {
	F_MECHANISM = 1 << 0,
	F_SERVICE = 1 << 1,
	F_CLIENT_ADDR = 1 << 2,
	F_LOCAL_PORT = 1 << 3,
	F_TLS = 1 << 4,
	F_RESPONSE = 1 << 5,
	F_DOMAIN = 1 << 6,
	F_ADDRESS = 1 << 7,
};

static const char *const field_names[] = {
    "mechanism", "service", "client_addr", "local_port", "tls", "response", "domain", "address",
};

static const struct {
	const char *name;
	enum auth_request_type type;
	unsigned required, optional;
} request_types[] = {
    {"mechanisms", AUTH_REQ_MECHANISMS, F_TLS, 0},
    {"auth", AUTH_REQ_AUTH, F_MECHANISM | F_SERVICE | F_CLIENT_ADDR | F_LOCAL_PORT | F_TLS,
     F_RESPONSE},
    {"continue", AUTH_REQ_CONTINUE, F_RESPONSE, 0},
    {"abort", AUTH_REQ_ABORT, 0, 0},
    {"domain", AUTH_REQ_DOMAIN, F_DOMAIN, 0},
    {"resolve", AUTH_REQ_RESOLVE, F_ADDRESS, 0},
    {"account", AUTH_REQ_ACCOUNT, F_ADDRESS, 0},
};

void auth_request_init(struct auth_request *req)
{
	memset(req, 0, sizeof(*req));
	auth_request_clear(req);
}

void auth_request_free(struct auth_request *req)
{
	if (req->response.data != NULL)
		explicit_bzero(req->response.data, req->response.size);
	strbuf_free(&req->request);
	strbuf_free(&req->mechanism);
	strbuf_free(&req->service);
	strbuf_free(&req->client_addr);
	strbuf_free(&req->response);
	strbuf_free(&req->domain);
	strbuf_free(&req->address);
}

void auth_request_clear(struct auth_request *req)
{
	/* a response holds passwords: do not leave them in memory */
	if (req->response.data != NULL)
		explicit_bzero(req->response.data, req->response.len);
	strbuf_reset(&req->request);
	auth_attr_unset(&req->mechanism);
	auth_attr_unset(&req->service);
	auth_attr_unset(&req->client_addr);
	auth_attr_unset(&req->response);
	auth_attr_unset(&req->domain);
	auth_attr_unset(&req->address);
	req->tls = req->local_port = INT_UNSET;
}

struct attr_decoder *auth_request_decoder(struct auth_request *req, size_t max_record)
{
	struct attr_decoder *dec;

#define OPT_STR(name, field, max) ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR(name, &req->field), max))
	dec = attr_decoder_create(
	    ATTR_RECV_LIST(ATTR_MAX_LEN(ATTR_RECV_STR("request", &req->request), NAME_FIELD_MAX),
			   OPT_STR("mechanism", mechanism, NAME_FIELD_MAX),
			   OPT_STR("service", service, NAME_FIELD_MAX),
			   OPT_STR("client_addr", client_addr, NAME_FIELD_MAX),
			   ATTR_OPTIONAL(ATTR_RECV_INT("local_port", &req->local_port)),
			   ATTR_OPTIONAL(ATTR_RECV_INT("tls", &req->tls)),
			   ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_DATA("response", &req->response),
						      SASL_RESPONSE_MAX)),
			   OPT_STR("domain", domain, ADDRESS_FIELD_MAX),
			   OPT_STR("address", address, ADDRESS_FIELD_MAX)));
#undef OPT_STR
	attr_decoder_set_limits(dec, max_record, 16);
	return dec;
}

int auth_request_has_response(const struct auth_request *req)
{
	return auth_attr_isset(&req->response);
}

/* present_fields - the attribute bits of the record just decoded. */
static unsigned present_fields(const struct auth_request *req)
{
	unsigned mask = 0;

	mask |= auth_attr_isset(&req->mechanism) ? F_MECHANISM : 0;
	mask |= auth_attr_isset(&req->service) ? F_SERVICE : 0;
	mask |= auth_attr_isset(&req->client_addr) ? F_CLIENT_ADDR : 0;
	mask |= req->local_port != INT_UNSET ? F_LOCAL_PORT : 0;
	mask |= req->tls != INT_UNSET ? F_TLS : 0;
	mask |= auth_attr_isset(&req->response) ? F_RESPONSE : 0;
	mask |= auth_attr_isset(&req->domain) ? F_DOMAIN : 0;
	mask |= auth_attr_isset(&req->address) ? F_ADDRESS : 0;
	return mask;
}

/* field_name - the name of the lowest bit set in mask. */
static const char *field_name(unsigned mask)
{
	size_t i;

	for (i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (mask & (1u << i))
			return field_names[i];
	return "?";
}

/* token_ok - 1 to max bytes of letters, digits and "._:-". */
static int token_ok(const struct strbuf *s, size_t max)
{
	size_t i;

	if (s->len == 0 || s->len > max)
		return 0;
	for (i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->data[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

static int ip_ok(const char *addr)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1;
}

/* check_values - the values of the fields in mask. */
static int check_values(const struct auth_request *req, unsigned mask, char **error_r)
{
	const char *bad = NULL;

	if ((mask & F_TLS) && req->tls != 0 && req->tls != 1)
		bad = "tls must be 0 or 1";
	else if ((mask & F_LOCAL_PORT) && (req->local_port < 0 || req->local_port > 65535))
		bad = "local_port must be from 0 to 65535";
	else if ((mask & F_MECHANISM) && !token_ok(&req->mechanism, 20))
		bad = "mechanism is not a mechanism name";
	else if ((mask & F_SERVICE) && !token_ok(&req->service, NAME_FIELD_MAX))
		bad = "service must be letters, digits and \"._:-\"";
	else if ((mask & F_CLIENT_ADDR) && !ip_ok(req->client_addr.data))
		bad = "client_addr is not an IP address";
	else if ((mask & F_DOMAIN) && req->domain.len == 0)
		bad = "domain is empty";
	else if ((mask & F_ADDRESS) && req->address.len == 0)
		bad = "address is empty";
	if (bad == NULL)
		return 0;
	*error_r = xstrdup(bad);
	return -1;
}

int auth_request_check(const struct auth_request *req, enum auth_request_type *type_r,
		       char **error_r)
{
	unsigned present = present_fields(req), extra, missing;
	size_t i;

	for (i = 0; i < sizeof(request_types) / sizeof(request_types[0]); i++)
		if (strcmp(strbuf_str(&req->request), request_types[i].name) == 0)
			break;
	if (i == sizeof(request_types) / sizeof(request_types[0])) {
		*error_r = xasprintf("unknown request \"%.64s\"", strbuf_str(&req->request));
		return -1;
	}
	extra = present & ~(request_types[i].required | request_types[i].optional);
	missing = request_types[i].required & ~present;
	if (extra != 0) {
		*error_r = xasprintf("request %s: unexpected attribute %s", request_types[i].name,
				     field_name(extra));
		return -1;
	}
	if (missing != 0) {
		*error_r = xasprintf("request %s: required attribute %s missing",
				     request_types[i].name, field_name(missing));
		return -1;
	}
	if (check_values(req, present, error_r) < 0)
		return -1;
	*type_r = request_types[i].type;
	return 0;
}
