/*
 * auth - the auth daemon's internal interfaces (auth(8)).
 *
 * One process serves every connection of the protocol daemons on its event
 * loop. A connection reads one request record at a time; a request that
 * needs a password check waits for a worker thread (auth_verify.c), and a
 * failed authentication then waits out its delay (auth_penalty.c) before it
 * is answered; meanwhile the connection reads nothing more and the other
 * connections go on.
 *
 * Files: auth.c (main, configuration), auth_conn.c (connections, records),
 * auth_request.c (request validation), auth_sasl.c (exchanges, logging),
 * auth_lookup.c (directory lookups), auth_penalty.c (failure counters),
 * auth_verify.c (password hashing threads).
 */
#ifndef TERN_AUTH_AUTH_H
#define TERN_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "util/attr.h"
#include "util/event.h"
#include "util/strbuf.h"

struct daemon_ctx;
struct directory;
struct sasl_registry;
struct auth_penalty;
struct auth_verify;
struct auth_exchange;

/* The process's state, set up by auth.c. */
struct auth_server {
	struct daemon_ctx *dctx;
	struct event_loop *loop;
	struct directory *dir;
	struct sasl_registry *sasl;
	struct auth_penalty *penalty;
	struct auth_verify *verify;
	char *dummy_hash;	 /* checked for unknown users, so that they take as long */
	size_t request_limit;	 /* bytes in a request record */
	struct auth_conn *conns; /* every open connection */
	size_t nconns;
};

/* ---- auth_request.c: one decoded request ---- */

enum auth_request_type {
	AUTH_REQ_MECHANISMS,
	AUTH_REQ_AUTH,
	AUTH_REQ_CONTINUE,
	AUTH_REQ_ABORT,
	AUTH_REQ_DOMAIN,
	AUTH_REQ_RESOLVE,
	AUTH_REQ_ACCOUNT,
};

/* The destinations of every attribute a request may carry. */
struct auth_request {
	struct strbuf request, mechanism, service, client_addr, response, domain, address;
	long long tls, local_port;
};

void auth_request_init(struct auth_request *req);
void auth_request_free(struct auth_request *req);
/* auth_request_decoder - a decoder into req for records of at most max_record bytes. */
struct attr_decoder *auth_request_decoder(struct auth_request *req, size_t max_record);
/* auth_request_clear - forget the last record; call before the decoder starts the next. */
void auth_request_clear(struct auth_request *req);
/*
 * auth_request_check - a known request with exactly its attributes, every
 * value valid. Returns 0 with *type_r, or -1 with *error_r set.
 */
int auth_request_check(const struct auth_request *req, enum auth_request_type *type_r,
		       char **error_r);
/* auth_request_has_response - whether the record carried a response attribute. */
int auth_request_has_response(const struct auth_request *req);

/* ---- auth_conn.c: connections ---- */

struct auth_conn {
	struct auth_server *server;
	struct auth_conn *prev, *next;
	struct stream *stream;
	struct event_watch *watch;
	struct attr_decoder *dec;
	struct auth_request req;
	struct auth_exchange *xchg; /* the SASL exchange in progress, or NULL */
	int busy;		    /* an answer is being worked out: read nothing */
	int closing;		    /* close once the output is sent */
	int dead;		    /* the peer has gone or the stream failed: close at the kick */
	struct event_timer kick;    /* resumes (or closes) the connection from the loop */
};

/* auth_conn_new - serve the connection on fd (which it owns from now on). */
void auth_conn_new(struct auth_server *server, int fd);
/* auth_conn_close - close the connection and free it; the session is done. */
void auth_conn_close(struct auth_conn *conn);
/*
 * auth_conn_close_idle - the process is stopping: close each connection as
 * soon as it has no request or exchange in progress.
 */
void auth_conn_close_idle(struct auth_server *server);
/* auth_conn_reply - send an answer record (attrs ended by ATTR_END). */
void auth_conn_reply(struct auth_conn *conn, const struct attr_send *attrs);
#define auth_conn_answer(conn, ...) auth_conn_reply((conn), ATTR_SEND_LIST(__VA_ARGS__))
/* auth_conn_error - answer status=error with reason. */
void auth_conn_error(struct auth_conn *conn, const char *reason);
/* auth_conn_set_busy - busy: read no request; not busy: take the next one. */
void auth_conn_set_busy(struct auth_conn *conn, int busy);

/* ---- auth_sasl.c: SASL exchanges ---- */

/* auth_sasl_start - request=auth. */
void auth_sasl_start(struct auth_conn *conn, const struct auth_request *req);
/* auth_sasl_continue - request=continue. */
void auth_sasl_continue(struct auth_conn *conn, const struct auth_request *req);
/* auth_sasl_abort - request=abort, or the connection closes: forget the exchange. */
void auth_sasl_abort(struct auth_conn *conn);
/* auth_sasl_mechanisms - request=mechanisms. */
void auth_sasl_mechanisms(struct auth_conn *conn, const struct auth_request *req);

/* ---- auth_lookup.c: directory lookups ---- */

void auth_lookup_domain(struct auth_conn *conn, const struct auth_request *req);
void auth_lookup_resolve(struct auth_conn *conn, const struct auth_request *req);
void auth_lookup_account(struct auth_conn *conn, const struct auth_request *req);

/*
 * auth_identity_normalise - the form of a user name that compares equal for
 * the same account: the address parsed and formatted (domain in lower case
 * as an A-label), its local part in ASCII lower case. NULL when name is not
 * an address. Malloc'd.
 */
char *auth_identity_normalise(const char *name);

#endif
