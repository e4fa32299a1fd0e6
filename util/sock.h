/*
 * sock - sockets: listening and connecting over TCP (IPv4 and IPv6) and
 * UNIX-domain streams, accepting, descriptor flags, peer names, and passing
 * one descriptor over a UNIX-domain socket (SCM_RIGHTS).
 *
 * Every descriptor made here is close-on-exec. Functions that can fail for
 * reasons of the outside world return 0 (or a descriptor) on success and -1
 * with *error_r set to a malloc'd message (caller frees), unless documented
 * to set errno instead.
 */
#ifndef TERN_SOCK_H
#define TERN_SOCK_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * sock_inet_listen - listen on TCP host:port with the given backlog.
 * host: NULL, "" or "all" for the wildcard addresses, an address ("[::1]"
 * brackets allowed) or a host name; port: a number or a service name;
 * family: AF_UNSPEC, or AF_INET / AF_INET6 to use only that IP version.
 * Binds every address host resolves to (the wildcard gives 0.0.0.0 and ::;
 * an IPv6 wildcard socket is IPV6_V6ONLY so that both bind separately; an
 * address family the host lacks is skipped as long as one address binds).
 * SO_REUSEADDR is set; the sockets are non-blocking and close-on-exec. On
 * success *fds_r is a malloc'd array of *count_r >= 1 descriptors.
 */
int sock_inet_listen(const char *host, const char *port, int family, int backlog, int **fds_r,
		     size_t *count_r, char **error_r);

/*
 * sock_inet_connect - connect to host:port (as for sock_inet_listen, but
 * host is required), trying each address in turn, each for at most
 * timeout_ms (< 0: the system's own timeout). Returns a blocking
 * close-on-exec descriptor, or -1.
 */
int sock_inet_connect(const char *host, const char *port, int timeout_ms, char **error_r);

/*
 * sock_unix_listen - listen on a UNIX-domain stream socket at path. A stale
 * socket at path is removed first; any other kind of file there is an error.
 * The socket file gets the given mode; the descriptor is non-blocking and
 * close-on-exec.
 */
int sock_unix_listen(const char *path, int backlog, mode_t mode, char **error_r);

/* sock_unix_connect - connect to the UNIX-domain stream socket at path (blocking). */
int sock_unix_connect(const char *path, char **error_r);

/*
 * sock_accept - accept one connection; the new descriptor is non-blocking
 * and close-on-exec. Returns it, or -1 with errno set (EAGAIN when nothing
 * is pending or another process took the connection first).
 */
int sock_accept(int listen_fd);

/* sock_set_nonblock, sock_set_cloexec - set (on != 0) or clear a flag; 0 or -1 with errno. */
int sock_set_nonblock(int fd, int on);
int sock_set_cloexec(int fd, int on);

/*
 * sock_addr_string - "[address]:port" for an IPv4 or IPv6 address, "unix:path"
 * (or "unix") for a UNIX-domain one, "unknown" for anything else. Malloc'd.
 */
char *sock_addr_string(const struct sockaddr *sa, socklen_t len);

/* sock_peer_string, sock_local_string - the same for a connected socket's peer / own address. */
char *sock_peer_string(int fd);
char *sock_local_string(int fd);

/*
 * sock_send_fd - send the descriptor fd (with one byte of data) over the
 * connected UNIX-domain socket sock. The caller keeps its copy of fd.
 */
int sock_send_fd(int sock, int fd, char **error_r);

/*
 * sock_recv_fd - receive one descriptor sent with sock_send_fd() (it arrives
 * close-on-exec). A peer that closes without sending, or that sends data
 * without exactly one descriptor, is an error; any extra descriptors are
 * closed. Waits at most timeout_ms (< 0: no limit).
 */
int sock_recv_fd(int sock, int timeout_ms, int *fd_r, char **error_r);

#endif
