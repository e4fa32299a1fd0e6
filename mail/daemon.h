/*
 * daemon - the skeleton every Tern daemon runs under master.
 *
 * daemon_main() parses the command line that master gives (see
 * master_proto.h: -c -n -t -u -j -o, then the daemon's own options and
 * arguments), loads main.cf and applies the -o overrides, sets up logging,
 * calls ops->pre_jail (still root when started as root, e.g. to read private
 * keys), chroots to queue_directory for -j, becomes mail_owner or
 * store_owner for -u (when root), calls ops->post_jail, and then serves one
 * connection at a time from the inherited listening socket(s) on the
 * process's event loop, reporting busy/idle to master.
 *
 * A session starts with ops->serve(ctx, fd): fd is non-blocking and
 * close-on-exec, and the daemon owns it from then on (and closes it). It may serve the whole session before returning, or
 * return at once and go on from callbacks on daemon_loop(); either way it
 * calls daemon_session_done() exactly once when the session is over.
 *
 * The process exits (daemon_main returns 0) after max_use sessions, after
 * max_idle seconds without a connection, on SIGTERM (at once when idle,
 * after the current session otherwise), or when master goes away.
 *
 * Multi-session mode (ops->multi, for services whose clients keep their
 * connection, like auth): connections are accepted whenever they arrive, up
 * to daemon_set_session_limit() at once (DAEMON_MULTI_DEFAULT_LIMIT unless
 * set); serve() must return at once and each session still ends with its own
 * daemon_session_done(). max_idle counts from the end of the last session.
 * master is told BUSY only while the process is at its limit and takes no
 * more connections (so that master starts another process, within maxproc,
 * only then), and IDLE when it takes them again; at the end of its first
 * session the process reports one BUSY/IDLE pair, so that master counts it
 * as having served. When the process is to stop (SIGTERM, master gone, or
 * the last session max_use allows has started), it stops accepting, calls
 * ops->stopping so that the daemon can end its idle sessions, and exits when
 * the last session is done.
 *
 * Stand-alone mode (-S, for tests and debugging): no master; one session on
 * standard input/output, then exit. Standard input may be a socket (served
 * directly) or anything else (a helper process relays it).
 *
 * Errors of the command line or the configuration end the process with a
 * message naming what is wrong.
 */
#ifndef TERN_DAEMON_H
#define TERN_DAEMON_H

#include "mail/master_conf.h"

struct daemon_ctx;
struct event_loop;
struct mail_conf;

/* Which half of Tern a daemon belongs to, hence the user it runs as. */
enum daemon_owner {
	DAEMON_OWNER_MAIL,  /* the MTA half: mail_owner */
	DAEMON_OWNER_STORE, /* the store half: store_owner */
};

struct daemon_ops {
	const char *name; /* program name for logs: "smtpd" */
	enum daemon_owner owner;
	/* getopt letters of the daemon's own options ("T:"), or NULL */
	const char *options;
	/* option - one of those options; 0, or -1 with *error_r (a usage error) */
	int (*option)(struct daemon_ctx *ctx, int opt, const char *arg, char **error_r);
	/* pre_jail - before chroot and the privilege drop; 0 or -1 with *error_r (fatal) */
	int (*pre_jail)(struct daemon_ctx *ctx, char **error_r);
	/* post_jail - after them, before the first connection; 0 or -1 with *error_r (fatal) */
	int (*post_jail)(struct daemon_ctx *ctx, char **error_r);
	/* serve - one connection (required); see above */
	void (*serve)(struct daemon_ctx *ctx, int fd);
	/* shutdown - before the process exits, or NULL */
	void (*shutdown)(struct daemon_ctx *ctx);
	/* multi - 1: serve many sessions at once (see above); 0: one at a time */
	int multi;
	/* stopping - multi: the process is to stop; end idle sessions soon. Or NULL */
	void (*stopping)(struct daemon_ctx *ctx);
};

/* Sessions a multi-session daemon serves at once unless it says otherwise. */
#define DAEMON_MULTI_DEFAULT_LIMIT 100

/*
 * daemon_main - run the daemon; returns the process exit status. data is
 * the daemon's own state, available through daemon_data() from the first
 * callback (the option parser) on.
 */
int daemon_main(int argc, char **argv, const struct daemon_ops *ops, void *data);

/* daemon_session_done - a session is over (its descriptor closed by the daemon). */
void daemon_session_done(struct daemon_ctx *ctx);

/* The configuration (main.cf with the -o overrides applied). */
const struct mail_conf *daemon_conf(const struct daemon_ctx *ctx);

/* The process's event loop. */
struct event_loop *daemon_loop(const struct daemon_ctx *ctx);

/* The master.cf service name (-n), and its type (-t). */
const char *daemon_service(const struct daemon_ctx *ctx);
enum master_service_type daemon_service_type(const struct daemon_ctx *ctx);

/* The arguments after the options, NULL-terminated. */
char **daemon_args(const struct daemon_ctx *ctx);

/* The daemon's own state, as given to daemon_main() or set later. */
void daemon_set_data(struct daemon_ctx *ctx, void *data);
void *daemon_data(const struct daemon_ctx *ctx);

/* daemon_standalone - 1 with -S. */
int daemon_standalone(const struct daemon_ctx *ctx);

/*
 * daemon_stopping - 1 once the process has been asked to stop (SIGTERM, or
 * master gone): a session may take the hint and end early.
 */
int daemon_stopping(const struct daemon_ctx *ctx);

/* daemon_sessions - sessions started so far (the current one included). */
long long daemon_sessions(const struct daemon_ctx *ctx);

/* daemon_active_sessions - sessions in progress (0 or 1 unless multi). */
long long daemon_active_sessions(const struct daemon_ctx *ctx);

/*
 * daemon_set_session_limit - multi: serve at most limit (>= 1) sessions at
 * once (call it before the first connection, e.g. from post_jail). Calling it
 * for a single-session daemon is a programming error.
 */
void daemon_set_session_limit(struct daemon_ctx *ctx, long long limit);

#endif
