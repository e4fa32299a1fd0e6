/*
 * daemon - the child-side skeleton: command line, configuration, logging,
 * chroot and privilege drop, then the accept loop that serves one session
 * at a time and keeps master informed. See daemon.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/daemon.h"
#include "mail/mail_conf.h"
#include "mail/master_proto.h"
#include "util/event.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/sock.h"

/* How long a pass service waits for the descriptor after a connection. */
#define PASS_TIMEOUT_MS 10000

#define SKELETON_OPTIONS "c:n:t:o:ujSv"

struct daemon_ctx {
	const struct daemon_ops *ops;
	const char *config_dir; /* NULL: the compiled-in default */
	const char *service;
	enum master_service_type type;
	int unpriv, jail, standalone;
	char **overrides; /* -o values, NULL-terminated */
	size_t override_count;
	char **args;
	struct mail_conf *conf;
	struct event_loop *loop;
	int status_fd; /* -1 when stand-alone or master has gone */
	struct event_watch *status_watch;
	int listen_count;
	struct event_watch *listen_watch[TERN_LISTEN_MAX];
	int busy, stopping; /* busy: a session is in progress */
	long long sessions, max_use;
	long long active;	 /* sessions in progress (multi: any number) */
	long long session_limit; /* multi: the most at once */
	int full_reported;	 /* multi: BUSY was reported (at the limit) */
	int served_reported;	 /* multi: a BUSY/IDLE pair was reported */
	long long max_idle;	 /* seconds */
	struct event_timer idle_timer;
	pid_t relay_pid; /* stand-alone helper, or 0 */
	void *data;
};

/* ---- accessors ---- */

const struct mail_conf *daemon_conf(const struct daemon_ctx *ctx)
{
	return ctx->conf;
}

struct event_loop *daemon_loop(const struct daemon_ctx *ctx)
{
	return ctx->loop;
}

const char *daemon_service(const struct daemon_ctx *ctx)
{
	return ctx->service;
}

enum master_service_type daemon_service_type(const struct daemon_ctx *ctx)
{
	return ctx->type;
}

char **daemon_args(const struct daemon_ctx *ctx)
{
	return ctx->args;
}

void daemon_set_data(struct daemon_ctx *ctx, void *data)
{
	ctx->data = data;
}

void *daemon_data(const struct daemon_ctx *ctx)
{
	return ctx->data;
}

int daemon_standalone(const struct daemon_ctx *ctx)
{
	return ctx->standalone;
}

int daemon_stopping(const struct daemon_ctx *ctx)
{
	return ctx->stopping;
}

long long daemon_sessions(const struct daemon_ctx *ctx)
{
	return ctx->sessions;
}

long long daemon_active_sessions(const struct daemon_ctx *ctx)
{
	return ctx->active;
}

void daemon_set_session_limit(struct daemon_ctx *ctx, long long limit)
{
	if (!ctx->ops->multi || limit < 1)
		msg_panic("daemon_set_session_limit: %lld for a %s daemon", limit,
			  ctx->ops->multi ? "multi-session" : "single-session");
	ctx->session_limit = limit;
}

/* ---- command line and configuration ---- */

static void usage(const struct daemon_ops *ops, const char *why)
{
	msg_fatal("%s; usage: %s [-c config_dir] [-n service] [-t inet|unix|pass] [-u] [-j] "
		  "[-o name=value]... [-S] [-v]%s%s%s [args...]",
		  why, ops->name, ops->options ? " [own options: " : "",
		  ops->options ? ops->options : "", ops->options ? "]" : "");
}

static int parse_type(const char *s, enum master_service_type *type)
{
	if (strcmp(s, "inet") == 0)
		*type = MASTER_INET;
	else if (strcmp(s, "unix") == 0)
		*type = MASTER_UNIX;
	else if (strcmp(s, "pass") == 0)
		*type = MASTER_PASS;
	else
		return -1;
	return 0;
}

/* daemon_option - one option letter; skeleton letters first, then the daemon's. */
static void daemon_option(struct daemon_ctx *ctx, int opt, const char *arg)
{
	char *error = NULL;

	switch (opt) {
	case 'c':
		ctx->config_dir = arg;
		break;
	case 'n':
		ctx->service = arg;
		break;
	case 't':
		if (parse_type(arg, &ctx->type) < 0)
			usage(ctx->ops, "-t must be inet, unix or pass");
		break;
	case 'o':
		ctx->overrides =
		    xreallocarray(ctx->overrides, ctx->override_count + 2, sizeof(char *));
		ctx->overrides[ctx->override_count++] = (char *)arg;
		ctx->overrides[ctx->override_count] = NULL;
		break;
	case 'u':
		ctx->unpriv = 1;
		break;
	case 'j':
		ctx->jail = 1;
		break;
	case 'S':
		ctx->standalone = 1;
		break;
	case 'v':
		msg_set_verbose(msg_verbose() + 1);
		break;
	default:
		if (ctx->ops->option == NULL || ctx->ops->option(ctx, opt, arg, &error) < 0)
			usage(ctx->ops, error ? error : "unknown option");
	}
}

static void parse_args(struct daemon_ctx *ctx, int argc, char **argv)
{
	const char *extra = ctx->ops->options ? ctx->ops->options : "";
	char *optstring;
	const char *p;
	int opt;

	for (p = extra; *p; p++)
		if (*p != ':' && strchr(SKELETON_OPTIONS, *p) != NULL)
			msg_panic("%s: option -%c is the skeleton's", ctx->ops->name, *p);
	optstring = xasprintf("+:" SKELETON_OPTIONS "%s", extra);
	opterr = 0;
	while ((opt = getopt(argc, argv, optstring)) != -1) {
		if (opt == '?' || opt == ':') {
			char *why =
			    xasprintf("%s option -%c",
				      opt == '?' ? "unknown" : "missing argument of", optopt);
			usage(ctx->ops, why);
		}
		daemon_option(ctx, opt, optarg);
	}
	free(optstring);
	ctx->args = argv + optind;
	if (ctx->service == NULL)
		ctx->service = ctx->ops->name;
}

static void load_config(struct daemon_ctx *ctx)
{
	char *error = NULL;
	size_t i;

	ctx->conf = mail_conf_load(ctx->config_dir, &error);
	if (ctx->conf == NULL)
		msg_fatal("%s", error);
	for (i = 0; i < ctx->override_count; i++)
		if (mail_conf_override(ctx->conf, ctx->overrides[i], "-o", &error) < 0)
			msg_fatal("%s", error);
	if (msg_set_target(mail_conf_str(ctx->conf, "log_to"), &error) < 0)
		msg_fatal("log_to: %s", error);
	ctx->max_use = mail_conf_int(ctx->conf, "max_use");
	ctx->max_idle = mail_conf_time(ctx->conf, "max_idle");
}

/* ---- chroot and privileges ---- */

/* owner_lookup - the user this daemon runs as; fatal when it does not exist or is root. */
static void owner_lookup(const struct daemon_ctx *ctx, uid_t *uid, gid_t *gid)
{
	const char *param = ctx->ops->owner == DAEMON_OWNER_STORE ? "store_owner" : "mail_owner";
	const char *user = mail_conf_str(ctx->conf, param);
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL)
		msg_fatal("%s: unknown user \"%s\"%s%s", param, user, errno ? ": " : "",
			  errno ? strerror(errno) : "");
	if (pw->pw_uid == 0)
		msg_fatal("%s: user \"%s\" has uid 0; it must be an unprivileged user", param,
			  user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
}

static void enter_jail(const struct daemon_ctx *ctx)
{
	const char *dir = mail_conf_str(ctx->conf, "queue_directory");

	if (chroot(dir) < 0 || chdir("/") < 0)
		msg_fatal("chroot to queue_directory %s: %s", dir, strerror(errno));
}

static void drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		msg_fatal("drop privileges to uid %ld gid %ld: %s", (long)uid, (long)gid,
			  strerror(errno));
	if (setuid(0) == 0 || geteuid() != uid)
		msg_panic("privileges were not dropped to uid %ld", (long)uid);
}

/* run_init - pre-jail init, chroot, privilege drop, post-jail init. */
static void run_init(struct daemon_ctx *ctx)
{
	int root = geteuid() == 0;
	char *error = NULL;
	uid_t uid = 0;
	gid_t gid = 0;

	if (root && ctx->unpriv)
		owner_lookup(ctx, &uid, &gid);
	if (ctx->ops->pre_jail != NULL && ctx->ops->pre_jail(ctx, &error) < 0)
		msg_fatal("%s", error);
	if (ctx->jail && root)
		enter_jail(ctx);
	else if (ctx->jail)
		msg_debug("not root: chroot to queue_directory skipped");
	if (root && ctx->unpriv)
		drop_privileges(uid, gid);
	if (ctx->ops->post_jail != NULL && ctx->ops->post_jail(ctx, &error) < 0)
		msg_fatal("%s", error);
}

/* ---- talking to master ---- */

/* listen_close - give up the listening sockets, so a retired service's port really closes. */
static void listen_close(struct daemon_ctx *ctx)
{
	int i;

	for (i = 0; i < ctx->listen_count; i++) {
		event_fd_remove(&ctx->listen_watch[i]);
		close(TERN_LISTEN_FD + i);
	}
	ctx->listen_count = 0;
}

static void stop_now_or_later(struct daemon_ctx *ctx)
{
	int first = !ctx->stopping;

	ctx->stopping = 1;
	listen_close(ctx);
	event_timer_cancel(ctx->loop, &ctx->idle_timer);
	if (!ctx->busy)
		event_loop_stop(ctx->loop);
	else if (first && ctx->ops->multi && ctx->ops->stopping != NULL)
		ctx->ops->stopping(ctx);
}

static void master_gone(struct daemon_ctx *ctx)
{
	event_fd_remove(&ctx->status_watch);
	if (ctx->status_fd >= 0)
		close(ctx->status_fd);
	ctx->status_fd = -1;
	msg_info("master has gone away: exiting after the current session");
	stop_now_or_later(ctx);
}

static void report(struct daemon_ctx *ctx, enum master_status_code status)
{
	if (ctx->status_fd < 0)
		return;
	if (master_status_send(ctx->status_fd, status) == 0)
		return;
	if (errno == EPIPE) {
		master_gone(ctx);
		return;
	}
	msg_fatal("report status to master: %s", strerror(errno));
}

/* on_status_error - the read end of the status pipe closed: master exited. */
static void on_status_error(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	master_gone(ctx);
}

static void on_sigterm(struct event_loop *loop, int signo, void *ctx)
{
	stop_now_or_later(ctx);
}

static void on_idle(struct event_loop *loop, void *vctx)
{
	struct daemon_ctx *ctx = vctx;

	msg_debug("idle for %llds: exiting", ctx->max_idle);
	stop_now_or_later(ctx);
}

/* ---- the accept loop ---- */

static void listen_enable(struct daemon_ctx *ctx, unsigned int mask)
{
	int i;

	for (i = 0; i < ctx->listen_count; i++)
		event_fd_modify(ctx->listen_watch[i], mask);
}

/* accepting - whether another session may start now. */
static int accepting(const struct daemon_ctx *ctx)
{
	return !ctx->stopping && ctx->active < ctx->session_limit && ctx->sessions < ctx->max_use;
}

/*
 * report_busy - a session started. A single-session daemon is busy now; a
 * multi-session one only once it is at its limit and takes no more.
 */
static void report_busy(struct daemon_ctx *ctx)
{
	if (!ctx->ops->multi) {
		report(ctx, MASTER_STATUS_BUSY);
	} else if (ctx->active >= ctx->session_limit && !ctx->full_reported) {
		ctx->full_reported = 1;
		report(ctx, MASTER_STATUS_BUSY);
	}
}

/*
 * report_idle - a session ended. A multi-session daemon reports IDLE when it
 * takes sessions again, and once, at the end of its first session, a
 * BUSY/IDLE pair, so that master counts it as having served.
 */
static void report_idle(struct daemon_ctx *ctx)
{
	if (!ctx->ops->multi) {
		report(ctx, MASTER_STATUS_IDLE);
		return;
	}
	if (ctx->full_reported) {
		ctx->full_reported = 0;
		ctx->served_reported = 1;
		report(ctx, MASTER_STATUS_IDLE);
	} else if (!ctx->served_reported) {
		ctx->served_reported = 1;
		report(ctx, MASTER_STATUS_BUSY);
		report(ctx, MASTER_STATUS_IDLE);
	}
}

/* begin_session - mark busy and hand fd (or, for pass, the descriptor it carries) to serve. */
static void begin_session(struct daemon_ctx *ctx, int fd)
{
	char *error = NULL;
	int client;

	ctx->busy = 1;
	ctx->active++;
	ctx->sessions++;
	if (!ctx->standalone && !accepting(ctx))
		listen_enable(ctx, 0);
	event_timer_cancel(ctx->loop, &ctx->idle_timer);
	report_busy(ctx);
	if (ctx->type == MASTER_PASS && !ctx->standalone) {
		if (sock_recv_fd(fd, PASS_TIMEOUT_MS, &client, &error) < 0) {
			msg_warn("service %s: %s", ctx->service, error);
			free(error);
			close(fd);
			daemon_session_done(ctx);
			return;
		}
		close(fd);
		fd = client;
		if (sock_set_nonblock(fd, 1) < 0)
			msg_warn("service %s: passed descriptor: %s", ctx->service,
				 strerror(errno));
	}
	ctx->ops->serve(ctx, fd);
	/* multi: the last session max_use allows has started; wind down */
	if (ctx->ops->multi && ctx->sessions >= ctx->max_use && !ctx->stopping)
		stop_now_or_later(ctx);
}

static void on_listen(struct event_loop *loop, int lfd, unsigned int events, void *vctx)
{
	struct daemon_ctx *ctx = vctx;
	int fd;

	if (!accepting(ctx) || !(events & EVENT_READ))
		return;
	fd = sock_accept(lfd);
	if (fd < 0) {
		/* Another child of the service took the connection first. */
		if (errno != EAGAIN)
			msg_warn("service %s: accept: %s", ctx->service, strerror(errno));
		return;
	}
	begin_session(ctx, fd);
}

void daemon_session_done(struct daemon_ctx *ctx)
{
	if (ctx->active <= 0)
		msg_panic("daemon_session_done: no session in progress");
	ctx->active--;
	ctx->busy = ctx->active > 0;
	report_idle(ctx);
	if (ctx->standalone || ctx->stopping || ctx->sessions >= ctx->max_use) {
		if (!ctx->busy)
			event_loop_stop(ctx->loop);
		else if (!ctx->stopping) /* multi: max_use reached; wind down */
			stop_now_or_later(ctx);
		return;
	}
	listen_enable(ctx, EVENT_READ);
	if (!ctx->busy)
		event_timer_add(ctx->loop, &ctx->idle_timer, (uint64_t)ctx->max_idle * 1000u,
				on_idle, ctx);
}

/* check_fd - a descriptor master should have passed; fatal when it is not open. */
static void check_fd(int fd, const char *what)
{
	if (fcntl(fd, F_GETFD) < 0)
		msg_fatal("%s (descriptor %d) was not inherited: not started by master? (use -S "
			  "to run stand-alone)",
			  what, fd);
	if (sock_set_cloexec(fd, 1) < 0)
		msg_fatal("descriptor %d: %s", fd, strerror(errno));
}

/* setup_master - take over the status pipe and the listening sockets. */
static void setup_master(struct daemon_ctx *ctx)
{
	char *error = NULL;
	int i;

	if (master_listen_count(&ctx->listen_count, &error) < 0)
		msg_fatal("%s", error);
	unsetenv(TERN_LISTEN_FDS_ENV);
	check_fd(TERN_STATUS_FD, "the status pipe");
	ctx->status_fd = TERN_STATUS_FD;
	for (i = 0; i < ctx->listen_count; i++) {
		check_fd(TERN_LISTEN_FD + i, "a listening socket");
		if (sock_set_nonblock(TERN_LISTEN_FD + i, 1) < 0)
			msg_fatal("descriptor %d: %s", TERN_LISTEN_FD + i, strerror(errno));
	}
}

static void start_accepting(struct daemon_ctx *ctx)
{
	int i;

	/* Watching the write end with no events reports the reader's exit. */
	ctx->status_watch = event_fd_add(ctx->loop, ctx->status_fd, 0, on_status_error, ctx);
	for (i = 0; i < ctx->listen_count; i++)
		ctx->listen_watch[i] =
		    event_fd_add(ctx->loop, TERN_LISTEN_FD + i, EVENT_READ, on_listen, ctx);
	report(ctx, MASTER_STATUS_READY);
	event_timer_add(ctx->loop, &ctx->idle_timer, (uint64_t)ctx->max_idle * 1000u, on_idle, ctx);
}

/* ---- stand-alone mode ---- */

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* relay - copy standard input to sock and sock to standard output until sock closes. */
static void relay(int sock)
{
	struct pollfd pfd[2];
	char buf[4096];
	ssize_t n;

	pfd[0].fd = sock;
	pfd[0].events = POLLIN;
	pfd[1].fd = STDIN_FILENO;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pfd[0].revents) {
			n = read(sock, buf, sizeof(buf));
			if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				_exit(0);
		}
		if (pfd[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0 && write_all(sock, buf, (size_t)n) == 0)
				continue;
			shutdown(sock, SHUT_WR);
			pfd[1].fd = -1;
		}
	}
}

/* standalone_fd - the descriptor to serve: standard input if it is a socket, else a relay. */
static int standalone_fd(struct daemon_ctx *ctx)
{
	struct stat st;
	int sv[2], fd;

	if (fstat(STDIN_FILENO, &st) == 0 && S_ISSOCK(st.st_mode)) {
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd < 0 || sock_set_nonblock(fd, 1) < 0)
			msg_fatal("standard input: %s", strerror(errno));
		return fd;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		msg_fatal("socketpair: %s", strerror(errno));
	ctx->relay_pid = fork();
	if (ctx->relay_pid < 0)
		msg_fatal("fork: %s", strerror(errno));
	if (ctx->relay_pid == 0) {
		close(sv[0]);
		relay(sv[1]);
	}
	close(sv[1]);
	if (sock_set_nonblock(sv[0], 1) < 0)
		msg_fatal("socketpair: %s", strerror(errno));
	return sv[0];
}

static void standalone_finish(struct daemon_ctx *ctx)
{
	int status;

	if (ctx->relay_pid <= 0)
		return;
	while (waitpid(ctx->relay_pid, &status, 0) < 0 && errno == EINTR)
		;
	ctx->relay_pid = 0;
}

/* ---- main ---- */

int daemon_main(int argc, char **argv, const struct daemon_ops *ops, void *data)
{
	struct daemon_ctx *ctx = xcalloc(1, sizeof(*ctx));

	if (ops->serve == NULL)
		msg_panic("daemon_main: %s has no serve function", ops->name);
	msg_init(ops->name);
	ctx->ops = ops;
	ctx->data = data;
	ctx->session_limit = ops->multi ? DAEMON_MULTI_DEFAULT_LIMIT : 1;
	ctx->status_fd = -1;
	parse_args(ctx, argc, argv);
	/* Before logging moves to log_to: a missing descriptor is a usage error. */
	if (!ctx->standalone)
		setup_master(ctx);
	load_config(ctx);
	signal(SIGPIPE, SIG_IGN);
	ctx->loop = event_loop_new();
	event_signal_add(ctx->loop, SIGTERM, on_sigterm, ctx);
	run_init(ctx);
	if (ctx->standalone)
		begin_session(ctx, standalone_fd(ctx));
	else
		start_accepting(ctx);
	event_loop_run(ctx->loop);
	if (ctx->busy)
		msg_panic("%s: the loop stopped during a session", ops->name);
	standalone_finish(ctx);
	if (ops->shutdown != NULL)
		ops->shutdown(ctx);
	event_timer_cancel(ctx->loop, &ctx->idle_timer);
	event_loop_free(&ctx->loop);
	mail_conf_free(&ctx->conf);
	free(ctx->overrides);
	free(ctx);
	return 0;
}
