/*
 * fuzz_status_log - libFuzzer harness for the status log reader.
 *
 * The input is a log file (bounce/, defer/ or trace/). The reader must keep
 * its promises, or the harness aborts: every entry it returns is valid (an
 * address, status 2, 4 or 5 with a dsn and action of that class, relay and
 * text); entries and skipped lines together are at most the lines of the
 * input; each entry, written again with status_log_format(), reads back as
 * the same entry; and the input with a valid record appended gives one more
 * entry whatever came before (a torn last line is ended first, as
 * status_log_append() does, and counts then if only its '\n' was missing).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/status_log.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_status_log: %s\n", what);
		abort();
	}
}

static int same(const struct status_entry *a, const struct status_entry *b)
{
	return strcmp(a->address, b->address) == 0 && strcmp(a->orcpt, b->orcpt) == 0 &&
	       a->notify == b->notify && a->offset == b->offset && a->status == b->status &&
	       strcmp(a->action, b->action) == 0 && strcmp(a->dsn, b->dsn) == 0 &&
	       strcmp(a->relay, b->relay) == 0 && strcmp(a->text, b->text) == 0 &&
	       a->time == b->time;
}

static void check_entry(const struct status_entry *e)
{
	check(*e->address != '\0', "empty address");
	check(e->status == 2 || e->status == 4 || e->status == 5, "bad status");
	check(e->dsn[0] == '0' + e->status, "dsn of another class");
	check(e->action != NULL && *e->action != '\0', "no action");
	check(*e->relay != '\0' && *e->text != '\0', "empty relay or text");
	check(e->offset >= -1 && e->time >= 0, "bad number");
}

/* reformat - write e again and read it back: the same entry. */
static void reformat(const struct status_entry *e)
{
	struct strbuf sb = STRBUF_INIT;
	struct status_log again;

	status_log_format(&sb, e);
	status_log_parse(sb.data, sb.len, &again);
	check(again.count == 1 && again.skipped == 0, "a written entry does not read back");
	check(same(e, &again.entries[0]), "an entry reads back different");
	status_log_free(&again);
	strbuf_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct status_entry extra = {
	    "x@example.org", "", 0, 7, 4, "4.0.0", "later", "none", 1, NULL,
	};
	struct status_log log, more;
	struct strbuf sb = STRBUF_INIT;
	size_t lines = 0;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	status_log_parse(data, size, &log);
	check(log.count + log.skipped <= lines + 1, "more entries than lines");
	for (size_t i = 0; i < log.count; i++) {
		check_entry(&log.entries[i]);
		reformat(&log.entries[i]);
	}
	strbuf_append(&sb, data, size);
	if (size > 0 && data[size - 1] != '\n')
		strbuf_putc(&sb, '\n');
	status_log_format(&sb, &extra);
	status_log_parse(sb.data, sb.len, &more);
	/* a last line that lacked only its '\n' counts once it is ended */
	check(more.count == log.count + 1 ||
		  (more.count == log.count + 2 && size > 0 && data[size - 1] != '\n'),
	      "an appended record is lost");
	check(strcmp(more.entries[more.count - 1].address, "x@example.org") == 0,
	      "the appended record is not last");
	status_log_free(&more);
	status_log_free(&log);
	strbuf_free(&sb);
	return 0;
}
