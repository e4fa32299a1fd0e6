/*
 * master_service - services made from master.cf: a private copy of each
 * entry, the child's command line, per-service master parameters (a -o in
 * master.cf may set service_prefork or service_throttle_time), and the
 * listening sockets, reused across reloads when their address is unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "mail/master_proto.h"
#include "master/master.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/strbuf.h"

static char **argv_copy(char **v)
{
	char **copy;
	size_t n = 0, i;

	while (v != NULL && v[n] != NULL)
		n++;
	copy = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		copy[i] = xstrdup(v[i]);
	return copy;
}

static char *str_copy(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static void conf_copy(struct master_service_conf *dst, const struct master_service_conf *src)
{
	*dst = *src;
	dst->name = str_copy(src->name);
	dst->host = str_copy(src->host);
	dst->port = str_copy(src->port);
	dst->path = str_copy(src->path);
	dst->command = str_copy(src->command);
	dst->file = str_copy(src->file);
	dst->args = argv_copy(src->args);
	dst->overrides = argv_copy(src->overrides);
}

static void conf_free(struct master_service_conf *c)
{
	free(c->name);
	free(c->host);
	free(c->port);
	free(c->path);
	free(c->command);
	free(c->file);
	argv_free(c->args);
	argv_free(c->overrides);
}

/* list_join - a list parameter as one string, for bind keys. */
static void list_join(struct strbuf *sb, const struct mail_conf *conf, const char *name)
{
	char **list = mail_conf_list(conf, name);
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		strbuf_printf(sb, "%s%s", i ? "," : "", list[i]);
	argv_free(list);
}

/* bind_key - what a service's sockets are bound to; equal keys can share sockets. */
static char *bind_key(const struct master_service_conf *sc, const struct mail_conf *conf)
{
	struct strbuf sb = STRBUF_INIT;

	if (sc->type != MASTER_INET) {
		strbuf_printf(&sb, "unix %s", sc->path);
		return strbuf_detach(&sb);
	}
	strbuf_puts(&sb, "inet ");
	if (sc->host != NULL)
		strbuf_puts(&sb, sc->host);
	else
		list_join(&sb, conf, "inet_interfaces");
	strbuf_printf(&sb, " %s ", sc->port);
	list_join(&sb, conf, "inet_protocols");
	return strbuf_detach(&sb);
}

/* inet_family - AF_UNSPEC, AF_INET or AF_INET6 from inet_protocols. */
static int inet_family(const struct mail_conf *conf)
{
	char **list = mail_conf_list(conf, "inet_protocols");
	int v4 = 0, v6 = 0;
	size_t i;

	for (i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], "ipv4") == 0)
			v4 = 1;
		else if (strcmp(list[i], "ipv6") == 0)
			v6 = 1;
		else
			v4 = v6 = 1;
	}
	argv_free(list);
	if (v4 && !v6)
		return AF_INET;
	if (v6 && !v4)
		return AF_INET6;
	return AF_UNSPEC;
}

static void add_fds(struct master_service *svc, const int *fds, size_t n)
{
	svc->fds = xreallocarray(svc->fds, svc->nfds + n, sizeof(int));
	memcpy(svc->fds + svc->nfds, fds, n * sizeof(int));
	svc->nfds += n;
}

/* open_inet - bind the service's host, or every inet_interfaces address. */
static int open_inet(struct master_service *svc, const struct mail_conf *conf, char **error_r)
{
	const struct master_service_conf *sc = &svc->conf;
	int family = inet_family(conf), *fds, rc = 0;
	char **ifaces, *err = NULL;
	size_t n, i;

	if (sc->host != NULL) {
		if (sock_inet_listen(sc->host, sc->port, family, MASTER_BACKLOG, &fds, &n, &err) <
		    0)
			goto fail;
		add_fds(svc, fds, n);
		free(fds);
		return 0;
	}
	ifaces = mail_conf_list(conf, "inet_interfaces");
	for (i = 0; ifaces[i] != NULL && rc == 0; i++) {
		rc = sock_inet_listen(ifaces[i], sc->port, family, MASTER_BACKLOG, &fds, &n, &err);
		if (rc == 0) {
			add_fds(svc, fds, n);
			free(fds);
		}
	}
	if (i == 0 && rc == 0) {
		rc = -1;
		err = xstrdup("inet_interfaces is empty");
	}
	argv_free(ifaces);
	if (rc == 0)
		return 0;
fail:
	*error_r = xasprintf("%s:%d: service %s: %s", sc->file, sc->line, sc->name, err);
	free(err);
	return -1;
}

static int open_sockets(struct master_service *svc, const struct mail_conf *conf, char **error_r)
{
	char *err = NULL;
	int fd;

	if (svc->conf.type == MASTER_INET) {
		if (open_inet(svc, conf, error_r) < 0)
			return -1;
		if (svc->nfds > TERN_LISTEN_MAX) {
			*error_r = xasprintf("%s:%d: service %s: more than %d listening addresses",
					     svc->conf.file, svc->conf.line, svc->conf.name,
					     TERN_LISTEN_MAX);
			return -1;
		}
		return 0;
	}
	fd = sock_unix_listen(svc->conf.path, MASTER_BACKLOG, 0666, &err);
	if (fd < 0) {
		*error_r = xasprintf("%s:%d: service %s: %s", svc->conf.file, svc->conf.line,
				     svc->conf.name, err);
		free(err);
		return -1;
	}
	add_fds(svc, &fd, 1);
	return 0;
}

/* build_argv - the child's command line (see master_proto.h). */
static void build_argv(struct master_service *svc, const struct mail_conf *conf,
		       const char *config_dir)
{
	const struct master_service_conf *sc = &svc->conf;
	size_t n = 0, i;
	char **v;

	if (strchr(sc->command, '/') != NULL)
		svc->exec_path = xstrdup(sc->command);
	else
		svc->exec_path =
		    xasprintf("%s/%s", mail_conf_str(conf, "daemon_directory"), sc->command);
	for (i = 0; sc->overrides[i] != NULL; i++)
		n += 2;
	for (i = 0; sc->args[i] != NULL; i++)
		n++;
	v = xcalloc(n + 10, sizeof(char *));
	n = 0;
	v[n++] = xstrdup(sc->command);
	v[n++] = xstrdup("-c");
	v[n++] = xstrdup(config_dir);
	v[n++] = xstrdup("-n");
	v[n++] = xstrdup(sc->name);
	v[n++] = xstrdup("-t");
	v[n++] = xstrdup(master_service_type_name(sc->type));
	if (sc->unpriv)
		v[n++] = xstrdup("-u");
	if (sc->chroot_)
		v[n++] = xstrdup("-j");
	for (i = 0; sc->overrides[i] != NULL; i++) {
		v[n++] = xstrdup("-o");
		v[n++] = xstrdup(sc->overrides[i]);
	}
	for (i = 0; sc->args[i] != NULL; i++)
		v[n++] = xstrdup(sc->args[i]);
	v[n] = NULL;
	svc->argv = v;
}

/* service_params - master's own per-service parameters, with the service's -o applied. */
static int service_params(struct master_service *svc, const struct mail_conf *conf, char **error_r)
{
	const struct master_service_conf *sc = &svc->conf;
	struct mail_conf *own = NULL;
	char *origin, *err = NULL;
	size_t i;

	if (sc->overrides[0] != NULL) {
		own = mail_conf_dup(conf);
		origin = xasprintf("%s:%d", sc->file, sc->line);
		for (i = 0; sc->overrides[i] != NULL && err == NULL; i++)
			(void)mail_conf_override(own, sc->overrides[i], origin, &err);
		free(origin);
		if (err != NULL) {
			*error_r = err;
			mail_conf_free(&own);
			return -1;
		}
		conf = own;
	}
	svc->prefork = (int)mail_conf_int(conf, "service_prefork");
	svc->throttle_max = mail_conf_time(conf, "service_throttle_time");
	if (svc->conf.maxproc > 0 && svc->prefork > svc->conf.maxproc)
		svc->prefork = svc->conf.maxproc;
	mail_conf_free(&own);
	return 0;
}

/* claim_sockets - take over the sockets of an old service bound to the same addresses. */
static int claim_sockets(struct master_service *svc, struct master_service *old)
{
	for (; old != NULL; old = old->next) {
		if (old->handed_over || old->nfds == 0 || strcmp(old->bind_key, svc->bind_key) != 0)
			continue;
		old->handed_over = 1;
		svc->reused = 1;
		add_fds(svc, old->fds, old->nfds);
		return 1;
	}
	return 0;
}

static struct master_service *service_new(struct master *m, const struct master_service_conf *sc,
					  const struct mail_conf *conf)
{
	struct master_service *svc = xcalloc(1, sizeof(*svc));

	svc->master = m;
	conf_copy(&svc->conf, sc);
	svc->bind_key = bind_key(&svc->conf, conf);
	build_argv(svc, conf, m->config_dir);
	if (sc->wakeup > 0 && sc->type != MASTER_UNIX)
		msg_warn("%s:%d: service %s: wakeup is only done for unix services; ignored",
			 sc->file, sc->line, sc->name);
	return svc;
}

void master_service_close(struct master_service *svc)
{
	size_t i;

	master_service_watch(svc, 0);
	if (!svc->handed_over) {
		for (i = 0; i < svc->nfds; i++)
			close(svc->fds[i]);
		if (svc->nfds > 0 && svc->conf.type != MASTER_INET && unlink(svc->conf.path) < 0 &&
		    errno != ENOENT)
			msg_warn("remove %s: %s", svc->conf.path, strerror(errno));
	}
	free(svc->fds);
	svc->fds = NULL;
	svc->nfds = 0;
}

void master_service_free(struct master_service *svc)
{
	if (svc->all > 0 || svc->nfds > 0 || svc->watches != NULL)
		msg_panic("master_service_free: service %s is still in use", svc->conf.name);
	master_throttle_stop(svc);
	master_wakeup_stop(svc);
	conf_free(&svc->conf);
	free(svc->bind_key);
	free(svc->exec_path);
	argv_free(svc->argv);
	free(svc);
}

/* rollback - undo a failed build: close what was opened, give back what was claimed. */
static void rollback(struct master_service *list, struct master_service *old)
{
	struct master_service *svc;

	while ((svc = list) != NULL) {
		list = svc->next;
		if (svc->reused)
			svc->handed_over = 1; /* not ours to close */
		master_service_close(svc);
		master_service_free(svc);
	}
	for (; old != NULL; old = old->next)
		old->handed_over = 0;
}

int master_services_build(struct master *m, const struct mail_conf *conf,
			  const struct master_conf *mconf, struct master_service *old,
			  struct master_service **result, char **error_r)
{
	struct master_service *list = NULL, **tail = &list, *svc;
	size_t i;

	for (i = 0; i < mconf->count; i++) {
		svc = service_new(m, &mconf->services[i], conf);
		*tail = svc;
		tail = &svc->next;
		if (service_params(svc, conf, error_r) < 0 ||
		    (!claim_sockets(svc, old) && open_sockets(svc, conf, error_r) < 0)) {
			rollback(list, old);
			return -1;
		}
	}
	*result = list;
	return 0;
}
