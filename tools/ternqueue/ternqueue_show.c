/*
 * ternqueue_show - "ternqueue show [--envelope] QID": the envelope of one
 * message (sender, arrival, DSN options, client, each recipient with its
 * state and last defer reason), then, unless --envelope, the message itself
 * as it is in the queue (header and body, lines ended by LF).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mail/cleanup_client.h"
#include "mail/queue_file.h"
#include "mail/queue_id.h"
#include "mail/status_log.h"
#include "tools/ternqueue/ternqueue.h"
#include "util/mymalloc.h"

static void print_notify(unsigned notify)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{CLEANUP_NOTIFY_NEVER, "NEVER"},
		     {CLEANUP_NOTIFY_SUCCESS, "SUCCESS"},
		     {CLEANUP_NOTIFY_FAILURE, "FAILURE"},
		     {CLEANUP_NOTIFY_DELAY, "DELAY"}};
	const char *sep = " notify=";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (notify & names[i].bit) {
			printf("%s%s", sep, names[i].name);
			sep = ",";
		}
}

static void print_envelope(const char *id, const char *dir, const struct tq_envelope *env,
			   const struct status_log *defer)
{
	char when[64];
	struct tm tm;
	time_t t = env->arrival;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)t);
	printf("*** ENVELOPE ***\n");
	printf("queue_id: %s\nqueue_name: %s\n", id, dir);
	printf("arrival_time: %s (%lld)\n", when, (long long)t);
	printf("message_size: %lld\n", env->size);
	printf("sender: <%s>\n", env->sender);
	printf("flags: %u\n", env->flags);
	if (env->envid != NULL)
		printf("envid: %s\n", env->envid);
	if (env->ret != NULL)
		printf("ret: %s\n", env->ret);
	for (size_t i = 0; env->attrs != NULL && env->attrs[i] != NULL; i++)
		printf("attr: %s\n", env->attrs[i]);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct tq_rcpt *r = &env->rcpts[i];
		const struct status_entry *e;

		printf("recipient: <%s>%s", r->address, r->done ? " done" : " pending");
		if (*r->orcpt)
			printf(" orcpt=%s", r->orcpt);
		print_notify(r->notify);
		printf("\n");
		if (!r->done &&
		    (e = status_log_last(defer, r->address, r->orcpt, r->offset)) != NULL)
			printf("  deferred: %s (dsn=%s, relay=%s)\n", e->text, e->dsn, e->relay);
	}
}

/* print_content - the content records of the queue file, as lines. */
static int print_content(const char *path, char **error_r)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct queue_reader *r;
	struct queue_rec rec;
	bool content = false;
	int ret = -1;

	if (fd < 0) {
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		return errno == ENOENT ? 1 : -1;
	}
	r = queue_reader_fd(fd);
	printf("*** MESSAGE ***\n");
	for (;;) {
		enum queue_read_status st = queue_reader_next(r, &rec, error_r);

		if (st != QUEUE_READ_REC) {
			ret = st == QUEUE_READ_END ? 0 : -1;
			break;
		}
		if (rec.type == QREC_CONTENT) {
			content = true;
		} else if (rec.type == QREC_EXTRACTED) {
			content = false;
		} else if (content && (rec.type == QREC_LINE || rec.type == QREC_PIECE)) {
			fwrite(rec.data, 1, rec.len, stdout);
			if (rec.type == QREC_LINE)
				putchar('\n');
		}
	}
	queue_reader_free(&r);
	close(fd);
	return ret;
}

/* read_envelope - the envelope of id wherever it is now (it may move meanwhile). */
static const char *read_envelope(struct ternqueue *t, const char *id, struct tq_envelope *env)
{
	for (int tries = 0; tries < 3; tries++) {
		const char *dir = tq_locate(t, id);
		char *err = NULL;
		int r;

		if (dir == NULL)
			break;
		if ((r = tq_envelope_read(t, dir, id, env, &err)) == 0)
			return dir;
		if (r < 0) {
			tq_error(t, "%s", err);
			free(err);
			return NULL;
		}
	}
	tq_error(t, "%s: no such message in the queue", id);
	return NULL;
}

int tq_show(struct ternqueue *t, int argc, char **argv)
{
	bool envelope_only = argc == 2 && strcmp(argv[0], "--envelope") == 0;
	struct tq_envelope env;
	struct status_log defer;
	const char *id, *dir;
	char *err = NULL, *path;
	int r;

	if (argc < 1 || argc > 2 || (argc == 2 && !envelope_only))
		return TQ_USAGE;
	id = argv[argc - 1];
	if (!queue_id_valid(id)) {
		tq_error(t, "%s: not a queue ID", id);
		return t->status;
	}
	if ((dir = read_envelope(t, id, &env)) == NULL)
		return t->status;
	if (status_log_read(t->queue_dir, STATUS_LOG_DEFER, id, &defer, &err) < 0) {
		tq_note("%s", err);
		XFREE(err);
		status_log_parse("", 0, &defer);
	}
	print_envelope(id, dir, &env, &defer);
	status_log_free(&defer);
	tq_envelope_free(&env);
	if (!envelope_only) {
		path = tq_path(t, dir, id);
		if ((r = print_content(path, &err)) != 0)
			tq_error(t, "%s: %s", id, r > 0 ? "gone meanwhile" : err);
		free(err);
		free(path);
	}
	if (fflush(stdout) != 0)
		tq_error(t, "write: standard output");
	return t->status;
}
