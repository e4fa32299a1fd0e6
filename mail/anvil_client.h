/*
 * anvil_client - ask the anvil service how many connections a client has
 * open and how fast it makes them, so that smtpd can enforce per-client
 * connection count and rate limits.
 *
 * The protocol ("anvil", version 1, util/attr records over
 * $queue_directory/private/anvil). The server announces itself, then answers
 * each request record with one answer record:
 *
 *   request=connect, service=S, client=A     one more connection of A to S
 *     -> status=ok, count=N, rate=N          N: after counting this one
 *   request=disconnect, service=S, client=A  that connection ended
 *     -> status=ok, count=N, rate=N          (a pair this connection holds
 *                                            nothing for is left alone)
 *   request=lookup, service=S, client=A      the numbers, changing nothing
 *     -> status=ok, count=N, rate=N
 *   anything malformed
 *     -> status=error, reason=TEXT           (and the server hangs up)
 *
 * count is the number of connections open now, rate the number opened in the
 * current window of anvil_rate_time_unit. service and client are 1 to
 * ANVIL_SERVICE_MAX / ANVIL_CLIENT_MAX bytes of printable ASCII without
 * spaces (a master.cf service name, an IP address).
 *
 * The counts belong to the client's connection to anvil: when it closes (for
 * example because smtpd crashed) anvil releases every connection it counted
 * for it. Keep one anvil_client open for as long as the counted connections
 * last.
 *
 * Functions returning int give 0, or -1 with *error_r set (malloc'd, caller
 * frees). After a failure the next call opens a new connection to anvil;
 * a caller is expected to go on without limits while anvil is unavailable.
 */
#ifndef TERN_ANVIL_CLIENT_H
#define TERN_ANVIL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define ANVIL_PROTOCOL "anvil"
#define ANVIL_PROTOCOL_VERSION 1
/* The socket, relative to queue_directory. */
#define ANVIL_SOCKET "private/anvil"
/* Longest service name and client address, in bytes. */
#define ANVIL_SERVICE_MAX 100
#define ANVIL_CLIENT_MAX 256
/* How long the client waits for each answer. */
#define ANVIL_CLIENT_TIMEOUT_MS 10000

struct anvil_client;

/*
 * anvil_client_open - connect to $queue_dir/private/anvil and check the
 * handshake (queue_dir "/" for a process chrooted to the queue directory).
 */
struct anvil_client *anvil_client_open(const char *queue_dir, char **error_r);

/* anvil_connect - count one more connection; the counts after it in *count_r and *rate_r. */
int anvil_connect(struct anvil_client *client, const char *service, const char *client_addr,
		  int *count_r, int *rate_r, char **error_r);

/* anvil_disconnect - a connection counted with anvil_connect() ended. */
int anvil_disconnect(struct anvil_client *client, const char *service, const char *client_addr,
		     char **error_r);

/* anvil_lookup - the current counts, changing nothing. */
int anvil_lookup(struct anvil_client *client, const char *service, const char *client_addr,
		 int *count_r, int *rate_r, char **error_r);

/* anvil_client_close - disconnect (anvil releases what was counted) and free; NULL is allowed. */
void anvil_client_close(struct anvil_client **clientp);

/* anvil_name_valid - whether s (at most max bytes) is a valid service name or client address. */
bool anvil_name_valid(const char *s, size_t max);

#endif
