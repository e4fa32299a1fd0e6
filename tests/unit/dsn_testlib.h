/*
 * dsn_testlib - helpers of the notice tests (test_dsn, test_bounce): queue
 * files made with the queue writer in a temporary queue directory, and a
 * small MIME reader that takes a composed notice apart again.
 */
#ifndef TERN_TEST_DSN_TESTLIB_H
#define TERN_TEST_DSN_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>

/* A temporary queue directory with incoming/ active/ deferred/ bounce/ defer/ trace/. */
char *tl_queue_dir(void);
void tl_remove_dir(char *dir);

struct tl_rcpt {
	const char *address;
	const char *orcpt; /* NULL: none */
	unsigned notify;
};

/* What a test queue file holds. */
struct tl_spec {
	const char *sender;
	unsigned flags;
	const char *envid;			      /* NULL: none */
	const char *ret;			      /* "FULL", "HDRS" or NULL */
	const char *client_name, *client_addr, *helo; /* NULL: left out */
	const struct tl_rcpt *rcpts;
	size_t nrcpts;
	const char *const *lines; /* the message, NULL-terminated; the first "" ends the header */
	const char *message_id;	  /* the extracted message_id, NULL: "" */
};

/*
 * tl_queue_file - write the queue file into queue_dir/incoming and move it
 * to queue_dir/sub; the queue ID (malloc'd).
 */
char *tl_queue_file(const char *queue_dir, const char *sub, const struct tl_spec *spec);

/* tl_file - the contents of a file (malloc'd, NUL-ended), *len_r bytes (may be NULL). */
char *tl_file(const char *path, size_t *len_r);

/* tl_check_lines - every line of text ends with CRLF, none is longer than 998 bytes. */
void tl_check_lines(const char *text, size_t len);

/* A header block and the body after it. */
struct tl_entity {
	char *header; /* the header lines, each with CRLF */
	char *body;
};

/* tl_split - text at its first empty line (the body is "" without one). */
void tl_split(const char *text, struct tl_entity *e);
void tl_entity_free(struct tl_entity *e);

/* tl_header - the unfolded value (leading white space dropped) of the nth field name; NULL. */
char *tl_header_nth(const char *header, const char *name, size_t nth);
#define tl_header(h, name) tl_header_nth((h), (name), 0)
/* tl_header_count - how many fields of that name. */
size_t tl_header_count(const char *header, const char *name);

/* tl_param - the value of a parameter of a Content-Type value (quotes removed), or NULL. */
char *tl_param(const char *value, const char *param);

/*
 * tl_parts - the body parts of a multipart body with boundary; the text
 * after the closing delimiter must be empty or one CRLF. *count_r parts.
 */
struct tl_entity *tl_parts(const char *body, const char *boundary, size_t *count_r);
void tl_parts_free(struct tl_entity *parts, size_t count);

/*
 * tl_groups - the field groups of a delivery-status body, separated by
 * empty lines: group 0 the per-message fields, then one per recipient.
 */
char **tl_groups(const char *body, size_t *count_r);
void tl_groups_free(char **groups, size_t count);

#endif
