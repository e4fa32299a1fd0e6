/*
 * dsn_testlib - helpers of the notice tests (see dsn_testlib.h).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/queue_file.h"
#include "mail/queue_writer.h"
#include "tests/unit/dsn_testlib.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

char *tl_queue_dir(void)
{
	static const char *const subs[] = {"incoming", "active", "deferred", "hold",  "bounce",
					   "defer",    "trace",	 "private",  "public"};
	char *dir = xstrdup("/tmp/test_dsn.XXXXXX");

	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);

		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
	}
	return dir;
}

void tl_remove_dir(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

static void write_envelope(struct queue_writer *w, const struct tl_spec *spec)
{
	char flags[32];

	queue_writer_rec(w, QREC_SENDER, spec->sender, strlen(spec->sender));
	snprintf(flags, sizeof(flags), "%u", spec->flags);
	queue_writer_rec(w, QREC_FLAGS, flags, strlen(flags));
	if (spec->envid != NULL)
		queue_writer_rec(w, QREC_ENVID, spec->envid, strlen(spec->envid));
	if (spec->ret != NULL)
		queue_writer_rec(w, QREC_RET, spec->ret, strlen(spec->ret));
	if (spec->client_name != NULL)
		queue_writer_attr(w, "client_name", spec->client_name);
	if (spec->client_addr != NULL)
		queue_writer_attr(w, "client_addr", spec->client_addr);
	if (spec->helo != NULL)
		queue_writer_attr(w, "helo", spec->helo);
	for (size_t i = 0; i < spec->nrcpts; i++)
		queue_writer_rcpt(w, spec->rcpts[i].address,
				  spec->rcpts[i].orcpt != NULL ? spec->rcpts[i].orcpt : "",
				  spec->rcpts[i].notify);
}

char *tl_queue_file(const char *queue_dir, const char *sub, const struct tl_spec *spec)
{
	char *in = xasprintf("%s/incoming", queue_dir), *err = NULL, *id, *from, *to;
	int dfd = open(in, O_RDONLY | O_DIRECTORY);
	struct queue_writer *w;
	bool body = false;

	assert_true(dfd >= 0);
	w = queue_writer_create(dfd, queue_writer_probe(dfd), NULL, &err);
	if (w == NULL)
		fail_msg("queue_writer_create: %s", err);
	write_envelope(w, spec);
	queue_writer_content(w);
	for (size_t i = 0; spec->lines[i] != NULL; i++) {
		queue_writer_line(w, spec->lines[i], strlen(spec->lines[i]), true);
		if (!body && spec->lines[i][0] == '\0') {
			queue_writer_body(w);
			body = true;
		}
	}
	queue_writer_extracted(w);
	queue_writer_attr(w, "message_id", spec->message_id != NULL ? spec->message_id : "");
	if (queue_writer_commit(w, NULL, &err) < 0)
		fail_msg("commit: %s", err);
	id = xstrdup(queue_writer_id(w));
	queue_writer_free(&w);
	close(dfd);
	from = xasprintf("%s/%s", in, id);
	to = xasprintf("%s/%s/%s", queue_dir, sub, id);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
	free(in);
	return id;
}

char *tl_file(const char *path, size_t *len_r)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		fail_msg("open %s", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_append(&sb, buf, (size_t)n);
	close(fd);
	if (len_r != NULL)
		*len_r = sb.len;
	return sb.data != NULL ? strbuf_detach(&sb) : xstrdup("");
}

void tl_check_lines(const char *text, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\r' && (i + 1 >= len || text[i + 1] != '\n'))
			fail_msg("bare CR at byte %zu", i);
		if (text[i] == '\n') {
			if (i == 0 || text[i - 1] != '\r')
				fail_msg("bare LF at byte %zu", i);
			if (i - 1 - start > 998)
				fail_msg("line of %zu bytes at byte %zu", i - 1 - start, start);
			start = i + 1;
		}
	}
	if (start != len)
		fail_msg("the text does not end with CRLF");
}

void tl_split(const char *text, struct tl_entity *e)
{
	const char *sep = strncmp(text, "\r\n", 2) == 0 ? text : strstr(text, "\r\n\r\n");

	if (sep == NULL) {
		e->header = xstrdup(text);
		e->body = xstrdup("");
	} else if (sep == text) {
		e->header = xstrdup("");
		e->body = xstrdup(text + 2);
	} else {
		e->header = xstrndup(text, (size_t)(sep - text) + 2);
		e->body = xstrdup(sep + 4);
	}
}

void tl_entity_free(struct tl_entity *e)
{
	XFREE(e->header);
	XFREE(e->body);
}

/* field_at - whether the line at p starts the field name. */
static bool field_at(const char *p, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(p, name, n) == 0 && p[n] == ':';
}

char *tl_header_nth(const char *header, const char *name, size_t nth)
{
	const char *p = header;

	while (*p) {
		const char *eol = strstr(p, "\r\n");

		assert_non_null(eol);
		if (field_at(p, name) && nth-- == 0) {
			struct strbuf sb = STRBUF_INIT;
			const char *v = p + strlen(name) + 1;

			for (;;) { /* unfold: drop each CRLF before white space */
				strbuf_append(&sb, v, (size_t)(eol - v));
				if (eol[2] != ' ' && eol[2] != '\t')
					break;
				v = eol + 2;
				eol = strstr(v, "\r\n");
			}
			v = sb.data;
			while (*v == ' ' || *v == '\t')
				v++;
			v = xstrdup(v);
			strbuf_free(&sb);
			return (char *)v;
		}
		p = eol + 2;
	}
	return NULL;
}

size_t tl_header_count(const char *header, const char *name)
{
	size_t n = 0;

	for (const char *p = header; *p;) {
		if (field_at(p, name))
			n++;
		p = strstr(p, "\r\n") + 2;
	}
	return n;
}

char *tl_param(const char *value, const char *param)
{
	size_t n = strlen(param);

	for (const char *p = strchr(value, ';'); p != NULL; p = strchr(p + 1, ';')) {
		const char *q = p + 1;

		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, param, n) == 0 && q[n] == '=') {
			q += n + 1;
			if (*q == '"')
				return xstrndup(q + 1, strcspn(q + 1, "\""));
			return xstrndup(q, strcspn(q, "; \t"));
		}
	}
	return NULL;
}

struct tl_entity *tl_parts(const char *body, const char *boundary, size_t *count_r)
{
	char *delim = xasprintf("\r\n--%s", boundary), *text = xasprintf("\r\n%s", body);
	struct tl_entity *parts = NULL;
	size_t count = 0, dlen = strlen(delim);
	const char *p = strstr(text, delim);

	assert_non_null(p);
	for (;;) {
		const char *start = p + dlen, *next;

		if (strncmp(start, "--", 2) == 0) { /* the closing delimiter */
			assert_true(strcmp(start + 2, "") == 0 || strcmp(start + 2, "\r\n") == 0);
			break;
		}
		assert_memory_equal(start, "\r\n", 2);
		start += 2;
		next = strstr(start, delim);
		assert_non_null(next);
		parts = xreallocarray(parts, count + 1, sizeof(*parts));
		{
			char *part = xstrndup(start, (size_t)(next - start));

			tl_split(part, &parts[count++]);
			free(part);
		}
		p = next;
	}
	free(delim);
	free(text);
	*count_r = count;
	return parts;
}

void tl_parts_free(struct tl_entity *parts, size_t count)
{
	for (size_t i = 0; i < count; i++)
		tl_entity_free(&parts[i]);
	free(parts);
}

char **tl_groups(const char *body, size_t *count_r)
{
	char **groups = NULL;
	size_t count = 0;
	const char *p = body;

	while (*p) {
		const char *end = strstr(p, "\r\n\r\n");
		size_t len = end != NULL ? (size_t)(end - p) + 2 : strlen(p);

		groups = xreallocarray(groups, count + 1, sizeof(*groups));
		groups[count++] = xstrndup(p, len);
		p += len;
		while (strncmp(p, "\r\n", 2) == 0)
			p += 2;
	}
	*count_r = count;
	return groups;
}

void tl_groups_free(char **groups, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(groups[i]);
	free(groups);
}
