/*
 * fuzz_imap_parser - libFuzzer harness for the IMAP command parser
 * (imap/imap_parser.h) and the argument readers and string writers built
 * on it.
 *
 * The first byte chooses the limits (small ones, to reach them) and seeds
 * the cutting; the rest is client input. It is parsed once whole and once
 * cut into pieces of pseudo-random sizes; both runs must give the same
 * events (literal decisions depend only on what was parsed: APPEND
 * messages streamed, large synchronizing literals refused, raw lines read
 * after AUTHENTICATE and IDLE). The harness aborts when a promise is
 * broken: a command without tag or name, a lower-case name, an error
 * without text, a kept literal whose length differs from its size, a
 * streamed literal delivering other than its size, a string that the
 * writers put out and the parser reads back differently, or a FETCH item
 * whose response name does not parse back to the same item.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_arg.h"
#include "imap/imap_fetch.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_parser.h"
#include "imap/imap_write.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_imap_parser: %s\n", what);
		abort();
	}
}

/* reparse_astring - parse one command line whole: its only argument's astring, or NULL. */
static char *reparse_astring(const struct strbuf *line, size_t *len_r)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;
	enum imap_parse_result r;
	const char *s;
	char *copy = NULL;

	imap_parser_set_nonsync_max(p, UINT64_MAX);
	imap_parser_feed(p, line->data, line->len);
	while ((r = imap_parser_next(p, &ev)) == IMAP_PARSE_LITERAL)
		check(imap_parser_literal_keep(p) == 0, "written literal refused");
	if (r == IMAP_PARSE_COMMAND && imap_parser_command(p)->nargs == 1 &&
	    imap_arg_astring(&imap_parser_command(p)->args[0], &s, len_r) == 0)
		copy = xmemdup(s, *len_r + 1);
	imap_parser_free(&p);
	return copy;
}

/* round_trip - what the writer puts out for s reads back as s. */
static void round_trip(const char *s, size_t len, unsigned flags)
{
	struct strbuf line = STRBUF_INIT;
	size_t got_len = 0;
	char *got;

	strbuf_puts(&line, "t X ");
	imap_write_astring(&line, s, len, flags);
	strbuf_puts(&line, "\r\n");
	got = reparse_astring(&line, &got_len);
	check(got != NULL, "written astring not read back");
	check(got_len == len && memcmp(got, s, len) == 0, "written astring read back changed");
	free(got);
	strbuf_free(&line);
}

/* same_att - a and b name the same data (PEEK and partial ranges aside). */
static int same_att(const struct imap_fetch_att *a, const struct imap_fetch_att *b)
{
	size_t i;

	if (a->type != b->type || a->nparts != b->nparts || a->text != b->text ||
	    a->nfields != b->nfields)
		return 0;
	for (i = 0; i < a->nparts; i++)
		if (a->part[i] != b->part[i])
			return 0;
	for (i = 0; i < a->nfields; i++)
		if (strcmp(a->fields[i], b->fields[i]) != 0)
			return 0;
	return 1;
}

/* fetch_round_trip - each item's response name parses back to the item. */
static void fetch_round_trip(const struct imap_arg *arg)
{
	struct imap_fetch fetch, again;
	struct imap_parser *p;
	struct imap_parse_event ev;
	struct strbuf line = STRBUF_INIT;
	char *err = NULL;
	size_t i;

	if (imap_fetch_parse(arg, &fetch, &err) < 0) {
		check(err != NULL && err[0] != '\0', "fetch error without text");
		free(err);
		imap_fetch_free(&fetch);
		return;
	}
	for (i = 0; i < fetch.count; i++) {
		if (fetch.atts[i].partial)
			continue;
		strbuf_reset(&line);
		strbuf_puts(&line, "t FETCH 1 ");
		imap_fetch_att_name(&line, &fetch.atts[i]);
		strbuf_puts(&line, "\r\n");
		p = imap_parser_create(NULL);
		imap_parser_feed(p, line.data, line.len);
		check(imap_parser_next(p, &ev) == IMAP_PARSE_COMMAND &&
			  imap_parser_command(p)->nargs == 2,
		      "fetch name does not parse");
		check(imap_fetch_parse(&imap_parser_command(p)->args[1], &again, &err) == 0,
		      "fetch name is no fetch item");
		check(again.count == 1 && same_att(&fetch.atts[i], &again.atts[0]),
		      "fetch name names another item");
		imap_fetch_free(&again);
		imap_parser_free(&p);
	}
	imap_fetch_free(&fetch);
	strbuf_free(&line);
}

/* use_args - run the readers over every argument (results only checked for sanity). */
static void use_args(const struct imap_arg *args, size_t count, unsigned depth)
{
	struct imap_flags flags;
	struct imap_date date;
	const char *s;
	char *name, *err;
	size_t i, len;
	uint64_t n64;
	time_t t;
	int tz;

	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		err = name = NULL;
		if (imap_arg_mailbox(a, (int)(depth & 1), &name, &err) == 0) {
			check(name != NULL, "mailbox without name");
			free(name);
		} else {
			check(err != NULL && err[0] != '\0', "mailbox error without text");
			free(err);
		}
		err = name = NULL;
		if (imap_arg_list_mailbox(a, 0, '/', &name, &err) == 0)
			free(name);
		else
			free(err);
		err = NULL;
		if (imap_arg_flags(a, 1, &flags, &err) < 0)
			free(err);
		imap_flags_free(&flags);
		(void)imap_arg_date(a, &date);
		(void)imap_arg_datetime(a, &t, &tz);
		(void)imap_arg_number64(a, &n64);
		fetch_round_trip(a);
		if (imap_arg_astring(a, &s, &len) == 0 && memchr(s, '\0', len) == NULL) {
			round_trip(s, len, 0);
			round_trip(s, len, IMAP_WRITE_UTF8);
		}
		if (a->type == IMAP_ARG_LIST)
			use_args(a->list, a->count, depth + 1);
		if (a->type == IMAP_ARG_LITERAL && (a->flags & IMAP_ARG_STREAMED) == 0)
			check(a->len == a->literal_size, "kept literal of the wrong length");
		if (a->type != IMAP_ARG_LIST && (a->flags & IMAP_ARG_STREAMED) == 0)
			check(a->str != NULL && a->str[a->len] == '\0', "argument not terminated");
	}
}

static void log_args(struct strbuf *log, const struct imap_arg *args, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		strbuf_printf(log, " %d:%x:%llu:", (int)args[i].type, args[i].flags,
			      (unsigned long long)args[i].literal_size);
		if (args[i].str != NULL)
			strbuf_append(log, args[i].str, args[i].len);
		if (args[i].type == IMAP_ARG_LIST) {
			strbuf_putc(log, '(');
			log_args(log, args[i].list, args[i].count);
			strbuf_putc(log, ')');
		}
	}
}

struct run {
	struct imap_parser *p;
	struct strbuf log;
	struct strbuf stream;
	uint64_t stream_size;
	int raw_lines; /* raw lines still to read */
};

/* on_literal - decide, from what was parsed only. */
static void on_literal(struct run *r, const struct imap_parse_event *ev)
{
	const struct imap_command *cmd = imap_parser_command(r->p);

	check(cmd->tag != NULL && cmd->name != NULL, "literal before the command name");
	if (strcmp(cmd->name, "APPEND") == 0 && ev->literal_depth == 0 && ev->literal_index >= 1) {
		if (ev->literal_size > 1000000 && ev->literal_sync) {
			imap_parser_literal_refuse(r->p);
			strbuf_puts(&r->log, "REFUSE\n");
			return;
		}
		imap_parser_literal_stream(r->p);
		strbuf_reset(&r->stream);
		r->stream_size = ev->literal_size;
		strbuf_printf(&r->log, "STREAM %llu\n", (unsigned long long)ev->literal_size);
		return;
	}
	if (imap_parser_literal_keep(r->p) < 0)
		strbuf_puts(&r->log, "KEEP-FAILED\n");
	else
		strbuf_printf(&r->log, "KEEP %d\n", ev->literal_sync);
}

/* drain - handle events until the parser wants input. */
static void drain(struct run *r)
{
	struct imap_parse_event ev;
	const struct imap_command *cmd;
	enum imap_parse_result res;

	for (;;) {
		res = r->raw_lines > 0 ? imap_parser_next_line(r->p, &ev)
				       : imap_parser_next(r->p, &ev);
		switch (res) {
		case IMAP_PARSE_MORE:
			return;
		case IMAP_PARSE_COMMAND:
			cmd = imap_parser_command(r->p);
			check(cmd->tag != NULL && cmd->tag[0] != '\0', "command without tag");
			check(cmd->name != NULL && cmd->name[0] != '\0', "command without name");
			for (const char *c = cmd->name; *c != '\0'; c++)
				check(*c < 'a' || *c > 'z', "lower-case command name");
			strbuf_printf(&r->log, "CMD %s %d %s", cmd->tag, cmd->uid, cmd->name);
			log_args(&r->log, cmd->args, cmd->nargs);
			strbuf_putc(&r->log, '\n');
			use_args(cmd->args, cmd->nargs, 0);
			if (strcmp(cmd->name, "AUTHENTICATE") == 0 ||
			    strcmp(cmd->name, "IDLE") == 0)
				r->raw_lines = 2;
			break;
		case IMAP_PARSE_ERROR:
			check(ev.error != NULL && ev.error[0] != '\0', "error without text");
			strbuf_printf(&r->log, "ERR %s %s %s\n", ev.tag ? ev.tag : "*",
				      ev.code ? ev.code : "-", ev.error);
			if (r->raw_lines > 0)
				r->raw_lines--;
			break;
		case IMAP_PARSE_LITERAL:
			on_literal(r, &ev);
			break;
		case IMAP_PARSE_LITERAL_DATA:
			check(ev.len > 0, "empty literal data");
			strbuf_append(&r->stream, ev.data, ev.len);
			check(r->stream.len <= r->stream_size, "streamed more than the literal");
			break;
		case IMAP_PARSE_LITERAL_END:
			check(r->stream.len == r->stream_size,
			      "streamed literal of the wrong size");
			strbuf_puts(&r->log, "END ");
			strbuf_append(&r->log, r->stream.data, r->stream.len);
			strbuf_putc(&r->log, '\n');
			break;
		case IMAP_PARSE_LINE:
			strbuf_puts(&r->log, "LINE ");
			strbuf_append(&r->log, ev.data, ev.len);
			strbuf_putc(&r->log, '\n');
			r->raw_lines--;
			break;
		}
	}
}

/* parse_all - feed in pieces (seed 0: whole); the log of events in *log. */
static void parse_all(struct strbuf *log, const uint8_t *in, size_t len,
		      const struct imap_parser_limits *lim, uint32_t seed)
{
	struct run r;
	size_t pos = 0, n;

	memset(&r, 0, sizeof(r));
	r.p = imap_parser_create(lim);
	do {
		if (seed == 0) {
			n = len;
		} else {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % ((seed >> 8) % 3 == 0 ? 64 : 7);
			if (n > len - pos)
				n = len - pos;
		}
		imap_parser_feed(r.p, in + pos, n);
		pos += n;
		drain(&r);
	} while (pos < len);
	imap_parser_free(&r.p);
	strbuf_free(&r.stream);
	*log = r.log;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits lim;
	struct strbuf whole, cut;

	if (size < 1)
		return 0;
	imap_parser_limits_default(&lim);
	if (data[0] & 1) {
		lim.line_max = 16 + (data[0] >> 1) % 64;
		lim.command_max = 64 + (data[0] >> 3) * 8;
		lim.nonsync_max = (data[0] >> 2) % 32;
		lim.depth_max = 1 + (data[0] >> 4);
	}
	parse_all(&whole, data + 1, size - 1, &lim, 0);
	parse_all(&cut, data + 1, size - 1, &lim, data[0] | 0x100u);
	check(whole.len == cut.len &&
		  (whole.len == 0 || memcmp(whole.data, cut.data, whole.len) == 0),
	      "the way the input was cut changed the result");
	strbuf_free(&whole);
	strbuf_free(&cut);
	return 0;
}
