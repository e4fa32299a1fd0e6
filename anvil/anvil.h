/*
 * anvil - the parts of the anvil daemon: the server state (anvil.c) and its
 * client connections (anvil_conn.c).
 */
#ifndef TERN_ANVIL_H
#define TERN_ANVIL_H

#include <stddef.h>
#include <stdint.h>

#include "util/event.h"

struct anvil_conn;
struct anvil_table;
struct daemon_ctx;

struct anvil_server {
	struct daemon_ctx *dctx;
	struct event_loop *loop;
	struct anvil_table *table;
	uint64_t time_unit_ms;	  /* anvil_rate_time_unit */
	uint64_t status_every_ms; /* anvil_status_update_time */
	struct event_timer expire_timer;
	struct event_timer status_timer;
	struct anvil_conn *conns; /* every open connection */
};

/* anvil_conn_new - serve a new client connection on fd (which it owns from now on). */
void anvil_conn_new(struct anvil_server *server, int fd);

/* anvil_conn_close_all - end every connection soon (the process is to stop). */
void anvil_conn_close_all(struct anvil_server *server);

#endif
