/*
 * ternqueue_list - "ternqueue list": the messages in the queue in the
 * layout of mailq, or with --json one JSON object per line (the fields of
 * Postfix's "postqueue -j"), each recipient not yet delivered with the
 * last reason it was deferred, from the message's defer log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/status_log.h"
#include "tools/ternqueue/ternqueue.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* One message to show. */
struct item {
	const struct tq_msg *msg;
	struct tq_envelope env;
	struct status_log defer;
};

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->env.arrival != y->env.arrival)
		return x->env.arrival < y->env.arrival ? -1 : 1;
	return strcmp(x->msg->id, y->msg->id);
}

static char mark(const char *dir)
{
	return strcmp(dir, "active") == 0 ? '*' : strcmp(dir, "hold") == 0 ? '!' : ' ';
}

/* reason - the last defer reason of a recipient, or NULL. */
static const char *reason(const struct item *it, const struct tq_rcpt *r)
{
	const struct status_entry *e = status_log_last(&it->defer, r->address, r->orcpt, r->offset);

	return e != NULL ? e->text : NULL;
}

/* safe - s with control characters as '?', for the terminal (malloc'd). */
static char *safe(const char *s)
{
	char *copy = xstrdup(s);

	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return copy;
}

static void print_item(const struct item *it, int width)
{
	const char *last = NULL;
	char when[64], *s;
	struct tm tm;
	time_t t = it->env.arrival;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)t);
	s = safe(*it->env.sender ? it->env.sender : "MAILER-DAEMON");
	printf("%-*s%c %9lld %-20s  %s\n", width, it->msg->id, mark(it->msg->dir), it->env.size,
	       when, s);
	free(s);
	for (size_t j = 0; j < it->env.nrcpts; j++) {
		const struct tq_rcpt *r = &it->env.rcpts[j];
		const char *why;

		if (r->done)
			continue;
		why = reason(it, r);
		if (why != NULL && (last == NULL || strcmp(why, last) != 0)) {
			s = safe(why);
			printf("%*s(%s)\n", width + 35, "", s);
			free(s);
		}
		last = why;
		s = safe(r->address);
		printf("%*s%s\n", width + 35, "", s);
		free(s);
	}
	printf("\n");
}

static void print_text(const struct item *items, size_t n)
{
	long long bytes = 0;
	int width = 11;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(items[i].msg->id) > width)
			width = (int)strlen(items[i].msg->id);
	if (n == 0) {
		printf("Mail queue is empty\n");
		return;
	}
	printf("%-*s  --Size-- ----Arrival Time---- -Sender/Recipient-------\n", width + 1,
	       "-Queue ID-");
	for (size_t i = 0; i < n; i++) {
		print_item(&items[i], width);
		bytes += items[i].env.size;
	}
	printf("-- %lld Kbytes in %zu Request%s.\n", (bytes + 1023) / 1024, n, n == 1 ? "" : "s");
}

/* json_string - s as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static void json_string(struct strbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_putc(out, '"');
	while (*p) {
		size_t len = 1;

		if (*p >= 0x80) {
			len = (*p >= 0xc2 && *p <= 0xdf)   ? 2
			      : (*p >= 0xe0 && *p <= 0xef) ? 3
			      : (*p >= 0xf0 && *p <= 0xf4) ? 4
							   : 0;
			for (size_t k = 1; k < len; k++)
				if ((p[k] & 0xc0) != 0x80)
					len = 0;
			if (len == 0) {
				strbuf_puts(out, "\\ufffd");
				p++;
				continue;
			}
			strbuf_append(out, p, len);
		} else if (*p == '"' || *p == '\\') {
			strbuf_putc(out, '\\');
			strbuf_putc(out, *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			strbuf_printf(out, "\\u%04x", *p);
		} else {
			strbuf_putc(out, *p);
		}
		p += len;
	}
	strbuf_putc(out, '"');
}

static void print_json(const struct item *it)
{
	struct strbuf out = STRBUF_INIT;
	bool first = true;

	strbuf_puts(&out, "{\"queue_name\":");
	json_string(&out, it->msg->dir);
	strbuf_puts(&out, ",\"queue_id\":");
	json_string(&out, it->msg->id);
	strbuf_printf(&out, ",\"arrival_time\":%lld,\"message_size\":%lld,\"sender\":",
		      (long long)it->env.arrival, it->env.size);
	json_string(&out, it->env.sender);
	strbuf_puts(&out, ",\"recipients\":[");
	for (size_t j = 0; j < it->env.nrcpts; j++) {
		const struct tq_rcpt *r = &it->env.rcpts[j];
		const char *why;

		if (r->done)
			continue;
		strbuf_puts(&out, first ? "{\"address\":" : ",{\"address\":");
		json_string(&out, r->address);
		if ((why = reason(it, r)) != NULL) {
			strbuf_puts(&out, ",\"delay_reason\":");
			json_string(&out, why);
		}
		strbuf_putc(&out, '}');
		first = false;
	}
	strbuf_puts(&out, "]}\n");
	fwrite(out.data, 1, out.len, stdout);
	strbuf_free(&out);
}

/* load - the envelope and defer log of each message still there. */
static struct item *load(struct ternqueue *t, const struct tq_set *set, size_t *n_r)
{
	struct item *items = xcalloc(set->n + 1, sizeof(*items));
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct item *it = &items[n];
		char *err = NULL;
		int r = tq_envelope_read(t, set->v[i].dir, set->v[i].id, &it->env, &err);

		if (r > 0) /* gone meanwhile: delivered, or moved (then it is listed where found) */
			continue;
		if (r < 0) {
			tq_error(t, "%s", err);
			free(err);
			continue;
		}
		it->msg = &set->v[i];
		if (strcmp(set->v[i].dir, "maildrop") == 0 ||
		    status_log_read(t->queue_dir, STATUS_LOG_DEFER, it->msg->id, &it->defer, &err) <
			0) {
			if (err != NULL)
				tq_note("%s", err);
			free(err);
			status_log_parse("", 0, &it->defer);
		}
		n++;
	}
	*n_r = n;
	return items;
}

int tq_list(struct ternqueue *t, int argc, char **argv)
{
	bool json = false;
	struct tq_set set;
	struct item *items;
	size_t n;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			return TQ_USAGE;
		json = true;
	}
	tq_scan(t, true, &set);
	items = load(t, &set, &n);
	if (n > 1)
		qsort(items, n, sizeof(*items), item_cmp);
	if (json) {
		for (size_t i = 0; i < n; i++)
			print_json(&items[i]);
	} else if (n > 0 || t->status == TQ_OK) {
		print_text(items, n);
	}
	for (size_t i = 0; i < n; i++) {
		tq_envelope_free(&items[i].env);
		status_log_free(&items[i].defer);
	}
	free(items);
	tq_set_free(&set);
	if (fflush(stdout) != 0)
		tq_error(t, "write: standard output");
	return t->status;
}
