/*
 * imap_parser - incremental parser of IMAP client commands: a byte-at-a-time
 * state machine for the lines (each byte is looked at once, however the input
 * was cut) and bulk copies for literals. See imap_parser.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_parser.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

#define ARG_COST 32	       /* bytes each argument counts for against command_max */
#define NUMBER64_MAX INT64_MAX /* RFC 9051 number64 */
#define CONTINUE ((enum imap_parse_result) - 1)

enum state {
	S_START,	  /* between commands */
	S_TAG,		  /* in the tag */
	S_NAME_START,	  /* before the command name */
	S_NAME,		  /* in the command name */
	S_ARGS,		  /* between arguments */
	S_ATOM,		  /* in an atom */
	S_SECTION,	  /* in the brackets of a FETCH atom */
	S_SECTION_QUOTED, /* in a quoted string inside those brackets */
	S_SECTION_ESC,	  /* after a backslash there */
	S_QUOTED,	  /* in a quoted string */
	S_QUOTED_ESC,	  /* after a backslash there */
	S_TILDE,	  /* after '~' at the start of an argument */
	S_LIT_DIGITS,	  /* after '{' */
	S_LIT_CLOSE,	  /* after '+': '}' must follow */
	S_LIT_END,	  /* after '}': the line must end */
	S_LIT_DECIDE,	  /* literal announced: waiting for the caller */
	S_LIT_KEEP,	  /* reading a literal into its argument */
	S_LIT_STREAM,	  /* handing a literal out */
	S_SKIP_LINE,	  /* skipping the rest of a bad command's line */
	S_SKIP_LITERAL,	  /* skipping a bad command's literal */
	S_ERROR_PENDING,  /* an error to report at the next call */
	S_RAW_SKIP	  /* skipping an overlong raw line */
};

/* An open list: where its elements go. */
struct frame {
	struct imap_arg **v;
	size_t *count;
	size_t cap;
};

struct imap_parser {
	struct imap_parser_limits lim;
	struct strbuf in; /* input; bytes before pos are consumed */
	size_t pos;
	size_t raw_scanned; /* imap_parser_next_line(): bytes after pos known to hold no LF */
	enum state state;
	enum state after_error; /* S_ERROR_PENDING: where to go once reported */
	int cr;			/* a CR was seen: LF must follow */
	int reset;		/* release the command at the next call */
	struct imap_command cmd;
	struct frame *stack; /* stack[0]: the command's arguments */
	unsigned depth;
	struct strbuf tok; /* token being read */
	int need_sep;	   /* an argument ended: SP, ')' or the end of line must follow */
	int bracketed;	   /* the atom being read had its [section] */
	size_t line_len;
	uint64_t cmd_bytes;
	/* literal being announced or read */
	uint64_t lit_size;
	uint64_t lit_left;
	int lit_digits;
	int lit_nonsync;
	int lit_binary;
	int lit_nul;
	/* skipping: a recognizer of "{n}" / "{n+}" at the end of a line */
	int sk_state; /* 0 none, 1 in digits, 2 after '+', 3 after '}' */
	int sk_nonsync;
	int sk_digits;
	uint64_t sk_size;
	/* the error being reported */
	struct strbuf err;
	const char *err_code;
};

void imap_parser_limits_default(struct imap_parser_limits *lim)
{
	lim->line_max = 65536;
	lim->command_max = 1048576;
	lim->nonsync_max = 4096;
	lim->depth_max = 32;
}

static void command_reset(struct imap_parser *p)
{
	imap_args_free(p->cmd.args, p->cmd.nargs);
	free(p->cmd.tag);
	free(p->cmd.name);
	memset(&p->cmd, 0, sizeof(p->cmd));
	p->depth = 0;
	p->stack[0].v = &p->cmd.args;
	p->stack[0].count = &p->cmd.nargs;
	p->stack[0].cap = 0;
	p->cmd_bytes = 0;
	p->need_sep = 0;
	strbuf_reset(&p->tok);
}

struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	if (lim != NULL)
		p->lim = *lim;
	else
		imap_parser_limits_default(&p->lim);
	if (p->lim.depth_max == 0)
		p->lim.depth_max = 1;
	p->stack = xcalloc(p->lim.depth_max + 1, sizeof(*p->stack));
	command_reset(p);
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	command_reset(p);
	strbuf_free(&p->in);
	strbuf_free(&p->tok);
	strbuf_free(&p->err);
	free(p->stack);
	free(p);
	*pp = NULL;
}

void imap_parser_set_nonsync_max(struct imap_parser *p, uint64_t max)
{
	p->lim.nonsync_max = max;
}

void imap_args_free(struct imap_arg *args, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		free(args[i].str);
		if (args[i].type == IMAP_ARG_LIST)
			imap_args_free(args[i].list, args[i].count);
	}
	free(args);
}

void imap_parser_feed(struct imap_parser *p, const void *data, size_t len)
{
	if (p->pos > 0) {
		strbuf_consume(&p->in, p->pos);
		p->pos = 0;
	}
	strbuf_append(&p->in, data, len);
}

const struct imap_command *imap_parser_command(const struct imap_parser *p)
{
	return &p->cmd;
}

size_t imap_parser_pending(const struct imap_parser *p)
{
	return p->in.len - p->pos;
}

void imap_parser_take_pending(struct imap_parser *p, struct strbuf *out)
{
	if (p->state != S_START)
		msg_panic("imap_parser_take_pending: in the middle of a command");
	strbuf_append(out, p->in.data + p->pos, p->in.len - p->pos);
	strbuf_reset(&p->in);
	p->pos = 0;
	p->raw_scanned = 0;
	p->cr = 0;
}

/* ------------------------------------------------------------ characters */

static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* atom_char - what an argument atom may hold (lenient, see the header). */
static int atom_char(unsigned char c)
{
	return !(c == ' ' || is_ctl(c) || c == '(' || c == ')' || c == '{' || c == '"');
}

/* strict_atom_char - RFC 9051 ATOM-CHAR: for command names. */
static int strict_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* tag_char - RFC 9051: any ASTRING-CHAR except "+". */
static int tag_char(unsigned char c)
{
	return c == ']' || (strict_atom_char(c) && c != '+');
}

/* section_prefix - the atom so far names a FETCH attribute that takes [section]. */
static int section_prefix(const struct strbuf *tok)
{
	static const char *const names[] = {"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
					    "BINARY.SIZE"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (tok->len == strlen(names[i]) && strcasecmp(tok->data, names[i]) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ errors, skipping */

/* skip_track - watch a skipped line for a literal announcement at its end. */
static void skip_track(struct imap_parser *p, unsigned char c)
{
	if (c == '{') {
		p->sk_state = 1;
		p->sk_size = 0;
		p->sk_digits = 0;
		p->sk_nonsync = 0;
	} else if (c == '\r') {
		if (p->sk_state != 3)
			p->sk_state = 0;
	} else if (p->sk_state == 1 && c >= '0' && c <= '9') {
		if (p->sk_size > (NUMBER64_MAX - (uint64_t)(c - '0')) / 10)
			p->sk_state = 0;
		else
			p->sk_size = p->sk_size * 10 + (uint64_t)(c - '0');
		p->sk_digits = 1;
	} else if (p->sk_state == 1 && c == '+' && p->sk_digits) {
		p->sk_state = 2;
		p->sk_nonsync = 1;
	} else if (((p->sk_state == 1 && p->sk_digits) || p->sk_state == 2) && c == '}') {
		p->sk_state = 3;
	} else {
		p->sk_state = 0;
	}
}

/* skip_line_end - a skipped line ended: skip its non-synchronizing literal too. */
static void skip_line_end(struct imap_parser *p)
{
	p->line_len = 0;
	p->cr = 0;
	if (p->sk_state == 3 && p->sk_nonsync) {
		p->lit_left = p->sk_size;
		p->state = S_SKIP_LITERAL;
	} else {
		p->state = S_START;
	}
	p->sk_state = 0;
}

static void set_error(struct imap_parser *p, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void set_error(struct imap_parser *p, const char *code, const char *fmt, va_list ap)
{
	strbuf_reset(&p->err);
	strbuf_vprintf(&p->err, fmt, ap);
	p->err_code = code;
}

static enum imap_parse_result report(struct imap_parser *p, struct imap_parse_event *ev)
{
	ev->tag = p->cmd.tag;
	ev->error = strbuf_str(&p->err);
	ev->code = p->err_code;
	p->reset = 1;
	return IMAP_PARSE_ERROR;
}

/*
 * fail - the command is bad at byte c: report it and skip the rest of the
 * line (nothing when c ended the line).
 */
static enum imap_parse_result fail(struct imap_parser *p, struct imap_parse_event *ev,
				   unsigned char c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum imap_parse_result fail(struct imap_parser *p, struct imap_parse_event *ev,
				   unsigned char c, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(p, code, fmt, ap);
	va_end(ap);
	p->sk_state = 0;
	if (c == '\n') {
		p->line_len = 0;
		p->cr = 0;
		p->state = S_START;
	} else {
		p->state = S_SKIP_LINE;
		skip_track(p, c);
	}
	return report(p, ev);
}

/* ------------------------------------------------------------ arguments */

/* add_arg - append an argument to the innermost open list (or the command). */
static struct imap_arg *add_arg(struct imap_parser *p, enum imap_arg_type type)
{
	struct frame *f = &p->stack[p->depth];
	struct imap_arg *arg;

	if (*f->count == f->cap) {
		f->cap = f->cap == 0 ? 4 : f->cap * 2;
		*f->v = xreallocarray(*f->v, f->cap, sizeof(**f->v));
	}
	arg = &(*f->v)[(*f->count)++];
	memset(arg, 0, sizeof(*arg));
	arg->type = type;
	p->cmd_bytes += ARG_COST;
	p->need_sep = 1;
	return arg;
}

/* end_token - the token read becomes an argument (atom, NIL or quoted). */
static enum imap_parse_result end_token(struct imap_parser *p, struct imap_parse_event *ev,
					unsigned char c, enum imap_arg_type type)
{
	struct imap_arg *arg;

	if (type == IMAP_ARG_ATOM && p->tok.len == 3 && strcasecmp(p->tok.data, "NIL") == 0)
		type = IMAP_ARG_NIL;
	arg = add_arg(p, type);
	arg->len = p->tok.len;
	arg->str = strbuf_detach(&p->tok);
	if (p->cmd_bytes > p->lim.command_max)
		return fail(p, ev, c, "TOOBIG", "Command too long");
	return CONTINUE;
}

static enum imap_parse_result open_list(struct imap_parser *p, struct imap_parse_event *ev,
					unsigned char c)
{
	struct imap_arg *arg;
	struct frame *f;

	if (p->depth >= p->lim.depth_max)
		return fail(p, ev, c, NULL, "Lists nested too deeply");
	arg = add_arg(p, IMAP_ARG_LIST);
	if (p->cmd_bytes > p->lim.command_max)
		return fail(p, ev, c, "TOOBIG", "Command too long");
	f = &p->stack[++p->depth];
	f->v = &arg->list;
	f->count = &arg->count;
	f->cap = 0;
	p->need_sep = 0;
	return CONTINUE;
}

/* ------------------------------------------------------------ the line states */

/* command_end - the line ended between arguments. */
static enum imap_parse_result command_end(struct imap_parser *p, struct imap_parse_event *ev)
{
	if (p->depth > 0)
		return fail(p, ev, '\n', NULL, "Missing ')'");
	p->line_len = 0;
	p->state = S_START;
	p->reset = 1;
	return IMAP_PARSE_COMMAND;
}

/* announce - "{n}" CR LF was read: check the limits, ask the caller. */
static enum imap_parse_result announce(struct imap_parser *p, struct imap_parse_event *ev)
{
	p->line_len = 0;
	if (p->lit_nonsync && p->lit_size > p->lim.nonsync_max) {
		fail(p, ev, '\n', "TOOBIG",
		     "Non-synchronizing literal too big (%llu bytes, limit %llu)",
		     (unsigned long long)p->lit_size, (unsigned long long)p->lim.nonsync_max);
		p->lit_left = p->lit_size;
		p->state = S_SKIP_LITERAL;
		return IMAP_PARSE_ERROR;
	}
	ev->literal_size = p->lit_size;
	ev->literal_sync = !p->lit_nonsync;
	ev->literal_binary = p->lit_binary;
	ev->literal_depth = p->depth;
	ev->literal_index = *p->stack[p->depth].count;
	p->state = S_LIT_DECIDE;
	return IMAP_PARSE_LITERAL;
}

static enum imap_parse_result st_start(struct imap_parser *p, struct imap_parse_event *ev,
				       unsigned char c)
{
	if (c == '\n')
		return CONTINUE; /* an empty line */
	if (!tag_char(c))
		return fail(p, ev, c, NULL, "Invalid tag");
	strbuf_putc(&p->tok, c);
	p->state = S_TAG;
	return CONTINUE;
}

static enum imap_parse_result st_tag(struct imap_parser *p, struct imap_parse_event *ev,
				     unsigned char c)
{
	if (tag_char(c)) {
		strbuf_putc(&p->tok, c);
		return CONTINUE;
	}
	if (c != ' ' && c != '\n')
		return fail(p, ev, c, NULL, "Invalid character in tag");
	p->cmd.tag = strbuf_detach(&p->tok);
	if (c == '\n')
		return fail(p, ev, c, NULL, "Missing command name");
	p->state = S_NAME_START;
	return CONTINUE;
}

/* name_end - the command name was read; "UID" wants another one. */
static enum imap_parse_result name_end(struct imap_parser *p, struct imap_parse_event *ev,
				       unsigned char c)
{
	if (strcmp(p->tok.data, "UID") == 0 && !p->cmd.uid) {
		p->cmd.uid = 1;
		strbuf_reset(&p->tok);
		if (c == '\n')
			return fail(p, ev, c, NULL, "UID needs a command");
		p->state = S_NAME_START;
		return CONTINUE;
	}
	p->cmd.name = strbuf_detach(&p->tok);
	p->state = S_ARGS;
	p->need_sep = 0;
	if (c == '\n')
		return command_end(p, ev);
	return CONTINUE;
}

static enum imap_parse_result st_name(struct imap_parser *p, struct imap_parse_event *ev,
				      unsigned char c)
{
	if (strict_atom_char(c)) {
		strbuf_putc(&p->tok, c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
		p->state = S_NAME;
		return CONTINUE;
	}
	if (p->state == S_NAME_START) {
		if (c == ' ')
			return CONTINUE;
		if (c == '\n')
			return fail(p, ev, c, NULL,
				    p->cmd.uid ? "UID needs a command" : "Missing command name");
		return fail(p, ev, c, NULL, "Invalid command name");
	}
	if (c == ' ' || c == '\n')
		return name_end(p, ev, c);
	return fail(p, ev, c, NULL, "Invalid character in command name");
}

static enum imap_parse_result st_args(struct imap_parser *p, struct imap_parse_event *ev,
				      unsigned char c)
{
	if (c == '\n')
		return command_end(p, ev);
	if (c == ' ') {
		p->need_sep = 0;
		return CONTINUE;
	}
	if (c == ')') {
		if (p->depth == 0)
			return fail(p, ev, c, NULL, "Unexpected ')'");
		p->depth--;
		p->need_sep = 1;
		return CONTINUE;
	}
	if (p->need_sep)
		return fail(p, ev, c, NULL, "Missing space between arguments");
	switch (c) {
	case '(':
		return open_list(p, ev, c);
	case '"':
		p->state = S_QUOTED;
		return CONTINUE;
	case '{':
		p->lit_binary = 0;
		goto literal;
	case '~':
		p->state = S_TILDE;
		return CONTINUE;
	default:
		if (!atom_char(c))
			return fail(p, ev, c, NULL, "Invalid character 0x%02x", c);
		p->bracketed = 0;
		strbuf_putc(&p->tok, c);
		p->state = S_ATOM;
		return CONTINUE;
	}
literal:
	p->lit_size = 0;
	p->lit_digits = 0;
	p->lit_nonsync = 0;
	p->state = S_LIT_DIGITS;
	return CONTINUE;
}

static enum imap_parse_result st_atom(struct imap_parser *p, struct imap_parse_event *ev,
				      unsigned char c)
{
	enum imap_parse_result r;

	if (c == ' ' || c == ')' || c == '\n') {
		r = end_token(p, ev, c, IMAP_ARG_ATOM);
		if (r != CONTINUE)
			return r;
		p->state = S_ARGS;
		return st_args(p, ev, c);
	}
	if (c == '[' && !p->bracketed && section_prefix(&p->tok)) {
		p->bracketed = 1;
		p->state = S_SECTION;
	} else if (!atom_char(c)) {
		return fail(p, ev, c, NULL, "Invalid character 0x%02x in atom", c);
	}
	strbuf_putc(&p->tok, c);
	return CONTINUE;
}

static enum imap_parse_result st_section(struct imap_parser *p, struct imap_parse_event *ev,
					 unsigned char c)
{
	if (c == '\n')
		return fail(p, ev, c, NULL, "Missing ']'");
	switch (p->state) {
	case S_SECTION:
		if (c == ']')
			p->state = S_ATOM;
		else if (c == '"')
			p->state = S_SECTION_QUOTED;
		else if (c == '{')
			return fail(p, ev, c, NULL, "Literal inside [] not supported");
		else if (c == '[' || is_ctl(c) || c >= 0x80)
			return fail(p, ev, c, NULL, "Invalid character 0x%02x in section", c);
		break;
	case S_SECTION_QUOTED:
		if (c == '\\')
			p->state = S_SECTION_ESC;
		else if (c == '"')
			p->state = S_SECTION;
		else if (c == 0)
			return fail(p, ev, c, NULL, "NUL in quoted string");
		break;
	default: /* S_SECTION_ESC */
		if (c != '"' && c != '\\')
			return fail(p, ev, c, NULL, "Invalid escape in quoted string");
		p->state = S_SECTION_QUOTED;
		break;
	}
	strbuf_putc(&p->tok, c);
	return CONTINUE;
}

static enum imap_parse_result st_quoted(struct imap_parser *p, struct imap_parse_event *ev,
					unsigned char c)
{
	if (c == '\n')
		return fail(p, ev, c, NULL, "Unterminated quoted string");
	if (p->state == S_QUOTED_ESC) {
		if (c != '"' && c != '\\')
			return fail(p, ev, c, NULL, "Invalid escape in quoted string");
		p->state = S_QUOTED;
	} else if (c == '\\') {
		p->state = S_QUOTED_ESC;
		return CONTINUE;
	} else if (c == '"') {
		p->state = S_ARGS;
		return end_token(p, ev, c, IMAP_ARG_QUOTED);
	} else if (c == 0) {
		return fail(p, ev, c, NULL, "NUL in quoted string");
	}
	strbuf_putc(&p->tok, c);
	return CONTINUE;
}

static enum imap_parse_result st_literal(struct imap_parser *p, struct imap_parse_event *ev,
					 unsigned char c)
{
	switch (p->state) {
	case S_TILDE:
		if (c == '{') {
			p->lit_binary = 1;
			p->lit_size = 0;
			p->lit_digits = 0;
			p->lit_nonsync = 0;
			p->state = S_LIT_DIGITS;
			return CONTINUE;
		}
		p->bracketed = 0;
		strbuf_putc(&p->tok, '~');
		p->state = S_ATOM;
		return st_atom(p, ev, c);
	case S_LIT_DIGITS:
		if (c >= '0' && c <= '9') {
			if (p->lit_size > (NUMBER64_MAX - (uint64_t)(c - '0')) / 10)
				return fail(p, ev, c, "TOOBIG", "Literal size too large");
			p->lit_size = p->lit_size * 10 + (uint64_t)(c - '0');
			p->lit_digits = 1;
			return CONTINUE;
		}
		if (p->lit_digits && c == '+') {
			p->lit_nonsync = 1;
			p->state = S_LIT_CLOSE;
			return CONTINUE;
		}
		if (p->lit_digits && c == '}') {
			p->state = S_LIT_END;
			return CONTINUE;
		}
		return fail(p, ev, c, NULL, "Invalid literal size");
	case S_LIT_CLOSE:
		if (c != '}')
			return fail(p, ev, c, NULL, "Invalid literal size");
		p->state = S_LIT_END;
		return CONTINUE;
	default: /* S_LIT_END */
		if (c != '\n')
			return fail(p, ev, c, NULL, "Literal must end the line");
		return announce(p, ev);
	}
}

/* step - one byte of a line. */
static enum imap_parse_result step(struct imap_parser *p, struct imap_parse_event *ev,
				   unsigned char c)
{
	if (p->cr) {
		p->cr = 0;
		if (c != '\n')
			return fail(p, ev, c, NULL, "CR not followed by LF");
	} else if (c == '\r') {
		p->cr = 1;
		return CONTINUE;
	} else if (c != '\n') {
		if (++p->line_len > p->lim.line_max)
			return fail(p, ev, c, "TOOBIG", "Line too long");
		if (++p->cmd_bytes > p->lim.command_max)
			return fail(p, ev, c, "TOOBIG", "Command too long");
	}
	switch (p->state) {
	case S_START:
		return st_start(p, ev, c);
	case S_TAG:
		return st_tag(p, ev, c);
	case S_NAME_START:
	case S_NAME:
		return st_name(p, ev, c);
	case S_ARGS:
		return st_args(p, ev, c);
	case S_ATOM:
		return st_atom(p, ev, c);
	case S_SECTION:
	case S_SECTION_QUOTED:
	case S_SECTION_ESC:
		return st_section(p, ev, c);
	case S_QUOTED:
	case S_QUOTED_ESC:
		return st_quoted(p, ev, c);
	case S_TILDE:
	case S_LIT_DIGITS:
	case S_LIT_CLOSE:
	case S_LIT_END:
		return st_literal(p, ev, c);
	default:
		msg_panic("imap_parser: byte in state %d", (int)p->state);
	}
}

/* ------------------------------------------------------------ literals */

int imap_parser_literal_keep(struct imap_parser *p)
{
	struct imap_arg *arg;

	if (p->state != S_LIT_DECIDE)
		msg_panic("imap_parser_literal_keep: no literal announced");
	if (p->lit_size > p->lim.command_max ||
	    p->cmd_bytes + ARG_COST + p->lit_size > p->lim.command_max) {
		strbuf_reset(&p->err);
		strbuf_printf(&p->err, "Literal too big (%llu bytes)",
			      (unsigned long long)p->lit_size);
		p->err_code = "TOOBIG";
		p->after_error = p->lit_nonsync ? S_SKIP_LITERAL : S_START;
		p->lit_left = p->lit_size;
		p->state = S_ERROR_PENDING;
		return -1;
	}
	arg = add_arg(p, IMAP_ARG_LITERAL);
	arg->flags =
	    (p->lit_binary ? IMAP_ARG_BINARY : 0) | (p->lit_nonsync ? IMAP_ARG_NONSYNC : 0);
	arg->literal_size = p->lit_size;
	strbuf_reset(&p->tok);
	strbuf_reserve(&p->tok, p->lit_size < 65536 ? (size_t)p->lit_size : 65536);
	p->lit_left = p->lit_size;
	p->lit_nul = 0;
	p->state = S_LIT_KEEP;
	return 0;
}

void imap_parser_literal_stream(struct imap_parser *p)
{
	struct imap_arg *arg;

	if (p->state != S_LIT_DECIDE)
		msg_panic("imap_parser_literal_stream: no literal announced");
	arg = add_arg(p, IMAP_ARG_LITERAL);
	arg->flags = IMAP_ARG_STREAMED | (p->lit_binary ? IMAP_ARG_BINARY : 0) |
		     (p->lit_nonsync ? IMAP_ARG_NONSYNC : 0);
	arg->literal_size = p->lit_size;
	p->lit_left = p->lit_size;
	p->lit_nul = 0;
	p->state = S_LIT_STREAM;
}

void imap_parser_literal_refuse(struct imap_parser *p)
{
	if (p->state != S_LIT_DECIDE)
		msg_panic("imap_parser_literal_refuse: no literal announced");
	p->reset = 1;
	p->lit_left = p->lit_size;
	p->state = p->lit_nonsync ? S_SKIP_LITERAL : S_START;
}

/* last_arg - the argument just added to the innermost list. */
static struct imap_arg *last_arg(struct imap_parser *p)
{
	struct frame *f = &p->stack[p->depth];

	return &(*f->v)[*f->count - 1];
}

/* keep_bytes - copy what is buffered of a kept literal. */
static enum imap_parse_result keep_bytes(struct imap_parser *p, struct imap_parse_event *ev)
{
	size_t avail = p->in.len - p->pos;
	size_t n = avail < p->lit_left ? avail : (size_t)p->lit_left;
	const char *data = p->in.data + p->pos;
	struct imap_arg *arg;

	if (!p->lit_binary && memchr(data, 0, n) != NULL)
		p->lit_nul = 1;
	strbuf_append(&p->tok, data, n);
	p->pos += n;
	p->lit_left -= n;
	p->cmd_bytes += n;
	if (p->lit_left > 0)
		return IMAP_PARSE_MORE;
	arg = last_arg(p);
	arg->len = p->tok.len;
	arg->str = strbuf_detach(&p->tok);
	p->state = S_ARGS;
	p->need_sep = 1;
	if (p->lit_nul)
		return fail(p, ev, ' ', NULL, "NUL in literal");
	return CONTINUE;
}

/* stream_bytes - hand out what is buffered of a streamed literal. */
static enum imap_parse_result stream_bytes(struct imap_parser *p, struct imap_parse_event *ev)
{
	size_t avail = p->in.len - p->pos;
	size_t n = avail < p->lit_left ? avail : (size_t)p->lit_left;

	if (p->lit_left == 0) {
		if (p->lit_nul)
			last_arg(p)->flags |= IMAP_ARG_NUL;
		p->state = S_ARGS;
		p->need_sep = 1;
		return IMAP_PARSE_LITERAL_END;
	}
	if (n == 0)
		return IMAP_PARSE_MORE;
	ev->data = p->in.data + p->pos;
	ev->len = n;
	if (!p->lit_binary && memchr(ev->data, 0, n) != NULL)
		p->lit_nul = 1;
	p->pos += n;
	p->lit_left -= n;
	return IMAP_PARSE_LITERAL_DATA;
}

static int raw_skip(struct imap_parser *p);

/* skip_bytes - skip what is buffered of a bad command's literal, or of its line. */
static enum imap_parse_result skip_bytes(struct imap_parser *p)
{
	size_t avail = p->in.len - p->pos;
	size_t n;

	if (p->state == S_SKIP_LITERAL) {
		n = avail < p->lit_left ? avail : (size_t)p->lit_left;
		p->pos += n;
		p->lit_left -= n;
		if (p->lit_left > 0)
			return IMAP_PARSE_MORE;
		p->sk_state = 0;
		p->line_len = 0;
		p->state = S_SKIP_LINE;
		return CONTINUE;
	}
	while (p->pos < p->in.len) {
		unsigned char c = (unsigned char)p->in.data[p->pos++];

		if (c == '\n') {
			skip_line_end(p);
			return CONTINUE;
		}
		skip_track(p, c);
	}
	return IMAP_PARSE_MORE;
}

enum imap_parse_result imap_parser_next(struct imap_parser *p, struct imap_parse_event *ev)
{
	enum imap_parse_result r;

	memset(ev, 0, sizeof(*ev));
	if (p->state == S_LIT_DECIDE)
		msg_panic("imap_parser_next: the literal announced was not decided on");
	if (p->reset) {
		p->reset = 0;
		command_reset(p);
	}
	if (p->state == S_ERROR_PENDING) {
		p->state = p->after_error;
		return report(p, ev);
	}
	for (;;) {
		switch (p->state) {
		case S_LIT_KEEP:
			r = keep_bytes(p, ev);
			break;
		case S_LIT_STREAM:
			r = stream_bytes(p, ev);
			break;
		case S_SKIP_LINE:
		case S_SKIP_LITERAL:
			r = skip_bytes(p);
			break;
		case S_RAW_SKIP:
			r = raw_skip(p) == 0 ? CONTINUE : IMAP_PARSE_MORE;
			break;
		default:
			if (p->pos == p->in.len)
				return IMAP_PARSE_MORE;
			r = step(p, ev, (unsigned char)p->in.data[p->pos++]);
			break;
		}
		if (r != CONTINUE)
			return r;
	}
}

/* ------------------------------------------------------------ raw lines */

/* raw_skip - skip the rest of an overlong raw line: 0 once done, -1 for more input. */
static int raw_skip(struct imap_parser *p)
{
	const char *lf = memchr(p->in.data + p->pos, '\n', p->in.len - p->pos);

	if (lf == NULL) {
		p->pos = p->in.len;
		return -1;
	}
	p->pos = (size_t)(lf - p->in.data) + 1;
	p->state = S_START;
	return 0;
}

enum imap_parse_result imap_parser_next_line(struct imap_parser *p, struct imap_parse_event *ev)
{
	const char *start, *lf;
	size_t avail, len;

	memset(ev, 0, sizeof(*ev));
	if (p->reset) {
		p->reset = 0;
		command_reset(p);
	}
	if (p->state == S_RAW_SKIP && raw_skip(p) < 0)
		return IMAP_PARSE_MORE;
	if (p->state != S_START)
		msg_panic("imap_parser_next_line: in the middle of a command");
	start = p->in.data + p->pos;
	avail = p->in.len - p->pos;
	if (p->cr) {
		p->cr = 0;
		if (avail > 0 && start[0] == '\n') {
			p->pos++;
			start++;
			avail--;
		}
	}
	lf = avail > p->raw_scanned ? memchr(start + p->raw_scanned, '\n', avail - p->raw_scanned)
				    : NULL;
	if (lf == NULL) {
		p->raw_scanned = avail;
		if (avail <= p->lim.line_max + 1)
			return IMAP_PARSE_MORE;
		p->raw_scanned = 0;
		p->pos = p->in.len;
		p->state = S_RAW_SKIP;
		strbuf_set(&p->err, "Line too long");
		p->err_code = "TOOBIG";
		return report(p, ev);
	}
	p->raw_scanned = 0;
	len = (size_t)(lf - start);
	p->pos += len + 1;
	if (len > 0 && start[len - 1] == '\r')
		len--;
	if (len > p->lim.line_max) {
		strbuf_set(&p->err, "Line too long");
		p->err_code = "TOOBIG";
		return report(p, ev);
	}
	ev->data = start;
	ev->len = len;
	return IMAP_PARSE_LINE;
}
