/*
 * imap_parser - incremental parser of IMAP client commands (RFC 9051
 * section 9 and RFC 3501, with the literals of RFC 7888 and RFC 3516).
 *
 * The caller feeds bytes as they arrive and pulls events, one at a time:
 *
 *	imap_parser_feed(p, buf, n);
 *	while ((r = imap_parser_next(p, &ev)) != IMAP_PARSE_MORE) {
 *		switch (r) {
 *		case IMAP_PARSE_COMMAND: run imap_parser_command(p); break;
 *		case IMAP_PARSE_ERROR: send "<ev.tag or *> BAD [ev.code] ev.error"; break;
 *		case IMAP_PARSE_LITERAL:
 *			decide: imap_parser_literal_keep(), _stream() or _refuse();
 *			after keep (returned 0) or stream, send "+ ..." when ev.literal_sync;
 *			after refuse, answer the command yourself (tagged NO or BAD);
 *			break;
 *		case IMAP_PARSE_LITERAL_DATA: take ev.data, ev.len; break;
 *		case IMAP_PARSE_LITERAL_END: the streamed literal is complete; break;
 *		}
 *	}
 *
 * A command is a tag, a name (upper-cased; "UID FETCH" gives the name
 * "FETCH" with uid 1) and a tree of arguments: atoms, quoted strings,
 * literals ({n}, {n+}, ~{n}, ~{n+}) and parenthesised lists. The atom NIL
 * (any case) has its own type but keeps its text, as "NIL" is also a
 * valid astring (a mailbox may be called NIL).
 *
 * Atoms are read leniently (any byte but SP, CTL, "(", ")", "{", DQUOTE;
 * 8-bit bytes, "%", "*", "\", "]" included); imap_arg.h checks them for
 * the syntax a command wants. A FETCH attribute "BODY[...]", "BODY.PEEK[...]",
 * "BINARY[...]", "BINARY.PEEK[...]" or "BINARY.SIZE[...]" (any case) is one
 * atom whose brackets may hold spaces, a parenthesised list and quoted
 * strings, as in "BODY[HEADER.FIELDS (From "To")]<0.100>" (a literal inside
 * the brackets is refused).
 *
 * Leniency: a bare LF ends a line as CR LF does, runs of spaces count as
 * one, a space before the end of a line is ignored, empty lines are
 * skipped without a reply.
 *
 * Errors: on a syntax error or a limit, IMAP_PARSE_ERROR names what is
 * wrong (and the tag, when one was read); the parser then skips the rest
 * of the command: the rest of the line, and the bytes of a
 * non-synchronizing literal that ends it (and the lines after it), so
 * that it resynchronizes on the next command. A synchronizing literal at
 * the end of a skipped line is not waited for: the client gets no "+" and
 * takes the BAD as the end of the command.
 *
 * Memory: the parser keeps only the command being read (bounded by
 * command_max) and the input not yet consumed. A literal that the caller
 * streams is handed out in the pieces that were fed, never gathered: an
 * APPEND of 50 MB costs what one read costs. Feed only after
 * imap_parser_next() returned IMAP_PARSE_MORE, so that the buffer holds
 * at most the line being read plus one read's worth.
 */
#ifndef TERN_IMAP_PARSER_H
#define TERN_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

enum imap_arg_type {
	IMAP_ARG_ATOM,
	IMAP_ARG_NIL, /* the atom NIL, any case; str holds it as sent */
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL, /* flags say literal8 or streamed */
	IMAP_ARG_LIST
};

#define IMAP_ARG_BINARY 0x1u   /* literal8 (~{n}): may hold NUL bytes */
#define IMAP_ARG_STREAMED 0x2u /* the caller took the bytes: str is NULL */
#define IMAP_ARG_NUL 0x4u      /* a streamed literal (not literal8) held a NUL byte */
#define IMAP_ARG_NONSYNC 0x8u  /* the literal was {n+} */

struct imap_arg {
	enum imap_arg_type type;
	unsigned flags;
	/*
	 * Atom, NIL, quoted (unescaped), kept literal: the bytes, NUL-terminated
	 * (a literal8 may hold NULs of its own: use len). NULL for a list and a
	 * streamed literal.
	 */
	char *str;
	size_t len;
	uint64_t literal_size; /* a literal's size, also when streamed */
	struct imap_arg *list; /* IMAP_ARG_LIST: its elements */
	size_t count;
};

struct imap_command {
	char *tag;
	char *name; /* upper case */
	int uid;    /* 1: the command was "UID <name>" */
	struct imap_arg *args;
	size_t nargs;
};

struct imap_parser_limits {
	size_t line_max;      /* longest line, CR LF and literal bytes excluded */
	uint64_t command_max; /* a command in memory: lines, kept literals, 32 per argument */
	uint64_t nonsync_max; /* largest {n+}: 4096 with LITERAL-, UINT64_MAX with LITERAL+ */
	unsigned depth_max;   /* deepest nesting of lists */
};

/* imap_parser_limits_default - 64 KiB lines, 1 MiB commands, LITERAL- (4096), depth 32. */
void imap_parser_limits_default(struct imap_parser_limits *lim);

enum imap_parse_result {
	IMAP_PARSE_MORE,	 /* all input consumed: feed more */
	IMAP_PARSE_COMMAND,	 /* a complete command: imap_parser_command() */
	IMAP_PARSE_ERROR,	 /* the command is bad: ev->tag, ev->error, ev->code */
	IMAP_PARSE_LITERAL,	 /* a literal is announced: decide before the next call */
	IMAP_PARSE_LITERAL_DATA, /* bytes of a streamed literal: ev->data, ev->len */
	IMAP_PARSE_LITERAL_END,	 /* the streamed literal is complete */
	IMAP_PARSE_LINE		 /* imap_parser_next_line() only: ev->data, ev->len */
};

/* What imap_parser_next() reports; pointers valid until the next call into the parser. */
struct imap_parse_event {
	/* IMAP_PARSE_ERROR */
	const char *tag;   /* NULL: no tag was read, answer untagged "* BAD" */
	const char *error; /* human-readable, for the BAD reply */
	const char *code;  /* a response code such as "TOOBIG", or NULL */
	/* IMAP_PARSE_LITERAL */
	uint64_t literal_size;
	int literal_sync;	/* 1: {n}: the client waits for "+" */
	int literal_binary;	/* 1: literal8 */
	unsigned literal_depth; /* 0: an argument of the command; more: inside lists */
	size_t literal_index;	/* the literal's index in its list (or the command's args) */
	/* IMAP_PARSE_LITERAL_DATA, IMAP_PARSE_LINE */
	const char *data;
	size_t len;
};

struct imap_parser;

struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim);
void imap_parser_free(struct imap_parser **p);

/* imap_parser_set_nonsync_max - change the LITERAL+/LITERAL- limit (e.g. after ENABLE). */
void imap_parser_set_nonsync_max(struct imap_parser *p, uint64_t max);

/* imap_parser_feed - add received bytes (copied). */
void imap_parser_feed(struct imap_parser *p, const void *data, size_t len);

/*
 * imap_parser_next - parse on until something happens; *ev says what.
 * The previous command (and its arguments) is released here.
 */
enum imap_parse_result imap_parser_next(struct imap_parser *p, struct imap_parse_event *ev);

/*
 * imap_parser_command - the command being read: complete after
 * IMAP_PARSE_COMMAND; after IMAP_PARSE_LITERAL, the tag, name and
 * arguments read so far (to tell an APPEND's message from other literals).
 * Valid until the next imap_parser_next().
 */
const struct imap_command *imap_parser_command(const struct imap_parser *p);

/*
 * After IMAP_PARSE_LITERAL, exactly one of these:
 * imap_parser_literal_keep - read the literal into the argument. Returns
 *	0, or -1 when it would exceed command_max: the next call then
 *	reports IMAP_PARSE_ERROR (code TOOBIG) and skips the command.
 * imap_parser_literal_stream - hand the bytes out as
 *	IMAP_PARSE_LITERAL_DATA, then IMAP_PARSE_LITERAL_END; the argument
 *	gets IMAP_ARG_STREAMED and its size only.
 * imap_parser_literal_refuse - drop the command (skipping the bytes of a
 *	non-synchronizing literal); the caller answers it.
 */
int imap_parser_literal_keep(struct imap_parser *p);
void imap_parser_literal_stream(struct imap_parser *p);
void imap_parser_literal_refuse(struct imap_parser *p);

/*
 * imap_parser_next_line - read one raw line instead of a command (the
 * client's responses to AUTHENTICATE, "DONE" ending IDLE): IMAP_PARSE_LINE
 * with the line without its CR LF, IMAP_PARSE_MORE, or IMAP_PARSE_ERROR
 * (untagged) for a line longer than line_max, which is then skipped. Call
 * only between commands.
 */
enum imap_parse_result imap_parser_next_line(struct imap_parser *p, struct imap_parse_event *ev);

/*
 * imap_parser_take_pending - move the input not yet parsed to the end of
 * out, leaving the parser empty: after STARTTLS (the caller discards it)
 * or COMPRESS (the caller inflates it and feeds it back). Call only
 * between commands; imap_parser_pending() says how many bytes wait.
 */
size_t imap_parser_pending(const struct imap_parser *p);
void imap_parser_take_pending(struct imap_parser *p, struct strbuf *out);

/* imap_args_free - free an argument array (the parser frees its own). */
void imap_args_free(struct imap_arg *args, size_t count);

#endif
