/*
 * ternadmin_mbox - reading and writing mbox files.
 *
 * Reading takes mboxrd and mboxo: a message begins with a "From " line at
 * the start of the file or after an empty line; one '>' is removed from
 * each line that is ">From ", ">>From ", ... (mboxrd's rule; in an mboxo
 * file only a line that was ">From " to begin with comes out changed).
 * The headers that mbox programs keep their state in (Status:,
 * X-Status:, X-Keywords:, X-UID:, X-IMAPbase:, X-IMAP:, Content-Length:)
 * give the flags, keywords and UIDs, and are removed from the message.
 *
 * Writing is mboxrd, with those headers at the end of each message's
 * header and the From_ line's date in local time with its numeric zone,
 * so that reading the file again gives the same messages, flags, keywords,
 * UIDs and dates.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tools/ternadmin/ternadmin_mail.h"
#include "util/mymalloc.h"

/* A header longer than this is taken to end there (the rest is body). */
#define MBOX_HEADER_MAX (1024 * 1024)

static const char *const reserved_fields[] = {"status",	    "x-status", "x-keywords",	  "x-uid",
					      "x-imapbase", "x-imap",	"content-length", NULL};

int mbox_is_reserved_field(const char *name, size_t len)
{
	size_t i;

	for (i = 0; reserved_fields[i] != NULL; i++) {
		if (strlen(reserved_fields[i]) == len &&
		    strncasecmp(name, reserved_fields[i], len) == 0)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ From_ lines */

static int token_index(const char *tok, size_t len, const char *const *names)
{
	int i;

	for (i = 0; names[i] != NULL; i++) {
		if (len == 3 && strncasecmp(tok, names[i], 3) == 0)
			return i;
	}
	return -1;
}

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", NULL};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
				     "Aug", "Sep", "Oct", "Nov", "Dec", NULL};

#define MAX_TOKENS 32

/* parse_zone - a numeric zone "+hhmm"/"-hhmm" (seconds east), "UTC"/"GMT" (0); 0 when none. */
static int parse_zone(const char *t, size_t n, long *off_r)
{
	if (n == 5 && (t[0] == '+' || t[0] == '-') && isdigit((unsigned char)t[1]) &&
	    isdigit((unsigned char)t[2]) && isdigit((unsigned char)t[3]) &&
	    isdigit((unsigned char)t[4])) {
		long h = (t[1] - '0') * 10 + (t[2] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');

		if (h > 23 || m > 59)
			return 0;
		*off_r = (h * 3600 + m * 60) * (t[0] == '-' ? -1 : 1);
		return 1;
	}
	if (n == 3 && (strncasecmp(t, "UTC", 3) == 0 || strncasecmp(t, "GMT", 3) == 0)) {
		*off_r = 0;
		return 1;
	}
	return 0;
}

/* parse_number - all digits of t[0..n) into *v; -1 when not. */
static int parse_number(const char *t, size_t n, long *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)t[i]))
			return -1;
		*v = *v * 10 + (t[i] - '0');
	}
	return 0;
}

/* parse_clock - "hh:mm" or "hh:mm:ss". */
static int parse_clock(const char *t, size_t n, struct tm *tm)
{
	long h, m, s = 0;
	const char *c1 = memchr(t, ':', n), *c2;

	if (c1 == NULL || parse_number(t, (size_t)(c1 - t), &h) < 0)
		return -1;
	c2 = memchr(c1 + 1, ':', (size_t)(t + n - c1 - 1));
	if (parse_number(c1 + 1, (size_t)((c2 != NULL ? c2 : t + n) - c1 - 1), &m) < 0 ||
	    (c2 != NULL && parse_number(c2 + 1, (size_t)(t + n - c2 - 1), &s) < 0))
		return -1;
	if (h > 23 || m > 59 || s > 60)
		return -1;
	tm->tm_hour = (int)h;
	tm->tm_min = (int)m;
	tm->tm_sec = (int)s;
	return 0;
}

/*
 * parse_date_at - "Www Mmm dd hh:mm[:ss] [zone] yyyy [zone]" in the tokens
 * from i on.
 */
static time_t parse_date_at(const char *const *tok, const size_t *len, size_t ntok, size_t i)
{
	struct tm tm;
	long day, year, off = 0;
	int zone = 0, mon;
	size_t j;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (i + 4 > ntok || (mon = token_index(tok[i + 1], len[i + 1], months)) < 0 ||
	    parse_number(tok[i + 2], len[i + 2], &day) < 0 || day < 1 || day > 31 ||
	    parse_clock(tok[i + 3], len[i + 3], &tm) < 0)
		return -1;
	j = i + 4;
	if (j < ntok && parse_zone(tok[j], len[j], &off))
		zone = 1, j++;
	if (j >= ntok || parse_number(tok[j], len[j], &year) < 0 || year < 1970 || year > 9999)
		return -1;
	j++;
	if (!zone && j < ntok && parse_zone(tok[j], len[j], &off))
		zone = 1;
	tm.tm_mday = (int)day;
	tm.tm_mon = mon;
	tm.tm_year = (int)year - 1900;
	if (zone) {
		t = timegm(&tm);
		return t == (time_t)-1 ? -1 : t - off;
	}
	tm.tm_isdst = -1;
	t = mktime(&tm);
	return t;
}

time_t mbox_parse_from_date(const char *line, size_t len)
{
	const char *tok[MAX_TOKENS];
	size_t tlen[MAX_TOKENS], n = 0, i = 0, start;
	time_t t;

	while (i < len && n < MAX_TOKENS) {
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !isspace((unsigned char)line[i]))
			i++;
		tok[n] = line + start;
		tlen[n++] = i - start;
	}
	/* Token 0 is the sender; the date starts at a weekday followed by a month. */
	for (i = 1; i < n; i++) {
		if (token_index(tok[i], tlen[i], wdays) < 0)
			continue;
		if ((t = parse_date_at(tok, tlen, n, i)) >= 0)
			return t;
	}
	return -1;
}

/* --------------------------------------------------------------- reading */

struct reader {
	FILE *fp;
	const char *path;
	const struct mbox_reader_ops *ops;
	void *ctx;
	struct mbox_folder_info *info;
	size_t lineno;
	size_t nmessages; /* From_ lines seen */
	struct mbox_message msg;
	struct strbuf header;
	int in_header;
	int skip;	     /* the current message is not handed over */
	int pseudo;	     /* the current message is Dovecot's folder data */
	struct strbuf blank; /* an empty line held back: it may precede a From_ line */
	int have_blank;
};

/* is_blank - an empty line ("\n" or "\r\n"). */
static int is_blank(const char *line, size_t len)
{
	return (len == 1 && line[0] == '\n') || (len == 2 && line[0] == '\r' && line[1] == '\n');
}

/* unquote - the length of a ">+From " prefix's first '>' to drop (0 or 1). */
static size_t unquote(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] == '>')
		i++;
	return i > 0 && len - i >= 5 && memcmp(line + i, "From ", 5) == 0 ? 1 : 0;
}

static void keywords_add(struct mbox_message *m, const char *value, size_t len)
{
	size_t i = 0, start;

	while (i < len) {
		while (i < len && (isspace((unsigned char)value[i]) || value[i] == ','))
			i++;
		start = i;
		while (i < len && !isspace((unsigned char)value[i]) && value[i] != ',')
			i++;
		if (i == start)
			continue;
		char *kw = xstrndup(value + start, i - start);
		size_t k;

		for (k = 0; k < m->nkeywords && strcmp(m->keywords[k], kw) != 0; k++)
			;
		if (!ta_keyword_valid(kw) || k < m->nkeywords) {
			free(kw);
			continue;
		}
		m->keywords = xreallocarray(m->keywords, m->nkeywords + 1, sizeof(char *));
		m->keywords[m->nkeywords++] = kw;
	}
}

/* folder_data - "<uidvalidity> <uidnext> [keywords]" of X-IMAPbase: or X-IMAP:. */
static void folder_data(struct reader *r, const char *value)
{
	const char *p = value;
	char *end;
	unsigned long uv, next;

	while (isspace((unsigned char)*p))
		p++;
	uv = strtoul(p, &end, 10);
	if (end == p || uv == 0 || uv > UINT32_MAX)
		return;
	p = end;
	next = strtoul(p, &end, 10);
	if (end == p || next > UINT32_MAX)
		next = 0;
	r->info->uidvalidity = (uint32_t)uv;
	r->info->uidnext = (uint32_t)next;
}

/* name_is - whether the field name f[0..len) is name (ASCII case ignored). */
static int name_is(const char *f, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(f, name, len) == 0;
}

/* field - one header field (name: value, unfolded); reserved ones are parsed, 1 to drop it. */
static int field(struct reader *r, const char *f, size_t len)
{
	const char *colon = memchr(f, ':', len);
	size_t nlen;
	char *value;

	if (colon == NULL)
		return 0;
	nlen = (size_t)(colon - f);
	while (nlen > 0 && (f[nlen - 1] == ' ' || f[nlen - 1] == '\t'))
		nlen--;
	if (!mbox_is_reserved_field(f, nlen))
		return 0;
	value = xstrndup(colon + 1, len - (size_t)(colon + 1 - f));
	if (name_is(f, nlen, "status")) {
		if (strchr(value, 'R') != NULL)
			r->msg.flags |= STORE_SEEN;
	} else if (name_is(f, nlen, "x-status")) {
		if (strchr(value, 'A') != NULL)
			r->msg.flags |= STORE_ANSWERED;
		if (strchr(value, 'F') != NULL)
			r->msg.flags |= STORE_FLAGGED;
		if (strchr(value, 'T') != NULL)
			r->msg.flags |= STORE_DRAFT;
		if (strchr(value, 'D') != NULL)
			r->msg.flags |= STORE_DELETED;
	} else if (name_is(f, nlen, "x-keywords")) {
		keywords_add(&r->msg, value, strlen(value));
	} else if (name_is(f, nlen, "x-uid")) {
		const char *p = value;
		char *end;
		unsigned long uid;

		while (isspace((unsigned char)*p))
			p++;
		uid = strtoul(p, &end, 10);
		r->msg.uid = end != p && uid <= UINT32_MAX ? (uint32_t)uid : 0;
	} else if (name_is(f, nlen, "x-imapbase")) {
		if (r->nmessages == 1)
			folder_data(r, value);
	} else if (name_is(f, nlen, "x-imap")) {
		r->pseudo = 1;
		if (r->nmessages == 1)
			folder_data(r, value);
	}
	free(value);
	return 1;
}

/*
 * header_done - go through the header's fields, keep all but the reserved
 * ones, and hand the message over.
 */
static int header_done(struct reader *r, int blank_line, const char *blank, size_t blank_len)
{
	struct strbuf kept = STRBUF_INIT;
	const char *h = r->header.data, *end = h + r->header.len, *f = h, *nl;
	int ret = 0;

	r->in_header = 0;
	while (f < end) {
		const char *fe = f;
		struct strbuf unfolded = STRBUF_INIT;

		/* A field is its first line and the lines that begin with white space. */
		do {
			nl = memchr(fe, '\n', (size_t)(end - fe));
			fe = nl != NULL ? nl + 1 : end;
		} while (fe < end && (*fe == ' ' || *fe == '\t'));
		for (const char *p = f; p < fe; p++) {
			if (*p != '\r' && *p != '\n')
				strbuf_putc(&unfolded, *p);
		}
		if (!field(r, unfolded.data != NULL ? unfolded.data : "", unfolded.len))
			strbuf_append(&kept, f, (size_t)(fe - f));
		strbuf_free(&unfolded);
		f = fe;
	}
	if (blank_line)
		strbuf_append(&kept, blank, blank_len);
	if (r->pseudo) {
		r->skip = 1;
	} else if (r->ops->begin(&r->msg, r->ctx) < 0 ||
		   (kept.len > 0 && r->ops->data(kept.data, kept.len, r->ctx) < 0)) {
		r->skip = 1;
		ret = -1;
	}
	strbuf_free(&kept);
	strbuf_reset(&r->header);
	return ret;
}

static void message_free(struct mbox_message *m)
{
	size_t i;

	for (i = 0; i < m->nkeywords; i++)
		free(m->keywords[i]);
	free(m->keywords);
	memset(m, 0, sizeof(*m));
}

/* message_end - the current message is complete (its trailing empty line dropped). */
static void message_end(struct reader *r)
{
	if (r->in_header)
		header_done(r, 0, NULL, 0);
	if (!r->pseudo)
		r->ops->end(&r->msg, r->skip, r->ctx);
	message_free(&r->msg);
	r->have_blank = 0;
	r->skip = r->pseudo = 0;
}

/* message_start - a From_ line. */
static void message_start(struct reader *r, const char *line, size_t len, uint64_t offset)
{
	time_t t = mbox_parse_from_date(line + 5, len - 5);

	r->nmessages++;
	memset(&r->msg, 0, sizeof(r->msg));
	r->msg.date = t < 0 ? 0 : t;
	r->msg.offset = offset;
	r->msg.line = r->lineno;
	r->in_header = 1;
	strbuf_reset(&r->header);
}

/* body_line - a line after the header. */
static void body_line(struct reader *r, const char *line, size_t len)
{
	size_t drop = unquote(line, len);

	if (r->skip)
		return;
	if (r->ops->data(line + drop, len - drop, r->ctx) < 0)
		r->skip = 1;
}

/* take_line - one line of the file (with its LF, if any). */
static void take_line(struct reader *r, const char *line, size_t len, uint64_t offset)
{
	int from = len >= 5 && memcmp(line, "From ", 5) == 0;

	if (from && (r->have_blank || r->nmessages == 0 || (r->in_header && r->header.len == 0))) {
		if (r->nmessages > 0)
			message_end(r);
		message_start(r, line, len, offset);
		return;
	}
	if (r->in_header) {
		if (is_blank(line, len)) {
			header_done(r, 1, line, len);
			return;
		}
		if (r->header.len + len > MBOX_HEADER_MAX) {
			header_done(r, 0, NULL, 0);
			body_line(r, line, len);
			return;
		}
		/* A From_-like line in a header is quoted too. */
		size_t drop = unquote(line, len);

		strbuf_append(&r->header, line + drop, len - drop);
		return;
	}
	if (r->have_blank) {
		body_line(r, r->blank.data, r->blank.len);
		r->have_blank = 0;
	}
	if (is_blank(line, len)) {
		strbuf_set(&r->blank, "");
		strbuf_append(&r->blank, line, len);
		r->have_blank = 1;
		return;
	}
	body_line(r, line, len);
}

int mbox_read(FILE *fp, const char *path, const struct mbox_reader_ops *ops, void *ctx,
	      struct mbox_folder_info *info, char **error_r)
{
	struct reader r;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t offset = 0;
	int ret = 0;

	memset(&r, 0, sizeof(r));
	memset(info, 0, sizeof(*info));
	r.fp = fp;
	r.path = path;
	r.ops = ops;
	r.ctx = ctx;
	r.info = info;
	while ((n = getline(&line, &cap, fp)) > 0) {
		r.lineno++;
		if (r.lineno == 1 && (n < 5 || memcmp(line, "From ", 5) != 0)) {
			*error_r = xasprintf("%s: not an mbox file (it does not begin with "
					     "\"From \")",
					     path);
			ret = -1;
			break;
		}
		take_line(&r, line, (size_t)n, offset);
		offset += (uint64_t)n;
	}
	if (ret == 0 && ferror(fp)) {
		*error_r = xasprintf("read %s: %s", path, strerror(errno));
		ret = -1;
	}
	if (r.nmessages > 0)
		message_end(&r);
	free(line);
	strbuf_free(&r.header);
	strbuf_free(&r.blank);
	return ret;
}

/* --------------------------------------------------------------- writing */

/* from_sender - the address of Return-Path: for the From_ line, or MAILER-DAEMON. */
static char *from_sender(const char *value)
{
	const char *p = value, *end;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '<')
		p++;
	end = p + strcspn(p, ">");
	n = (size_t)(end - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 512)
		return xstrdup("MAILER-DAEMON");
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f)
			return xstrdup("MAILER-DAEMON");
	}
	return xstrndup(p, n);
}

/* put_line - a line of the message into out: CR LF as LF, mboxrd quoting of ">*From ". */
static void put_line(struct strbuf *out, const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] == '>')
		i++;
	if (len - i >= 5 && memcmp(line + i, "From ", 5) == 0)
		strbuf_putc(out, '>');
	if (len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n') {
		strbuf_append(out, line, len - 2);
		strbuf_putc(out, '\n');
	} else {
		strbuf_append(out, line, len);
	}
}

/* from_line - "From <sender> <local asctime> <zone>". */
static void from_line(struct strbuf *out, const char *sender, time_t date)
{
	struct tm tm;
	char buf[64];

	if (localtime_r(&date, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y %z", &tm) == 0) {
		gmtime_r(&date, &tm);
		strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y +0000", &tm);
	}
	strbuf_printf(out, "From %s %s\n", sender, buf);
}

/* state_headers - the headers that keep what the store knows of the message. */
static void state_headers(struct mbox_writer *w, struct strbuf *out,
			  const struct store_message *msg)
{
	if (w->first) {
		strbuf_printf(out, "X-IMAPbase: %u %010u", w->uidvalidity, w->uidnext);
		if (w->keywords != NULL && w->keywords[0] != '\0')
			strbuf_printf(out, " %s", w->keywords);
		strbuf_putc(out, '\n');
		w->first = 0;
	}
	strbuf_printf(out, "X-UID: %u\n", msg->uid);
	strbuf_printf(out, "Status: %s\n", msg->flags & STORE_SEEN ? "RO" : "O");
	if (msg->flags & (STORE_ANSWERED | STORE_FLAGGED | STORE_DRAFT | STORE_DELETED))
		strbuf_printf(out, "X-Status: %s%s%s%s\n", msg->flags & STORE_ANSWERED ? "A" : "",
			      msg->flags & STORE_DELETED ? "D" : "",
			      msg->flags & STORE_FLAGGED ? "F" : "",
			      msg->flags & STORE_DRAFT ? "T" : "");
	if (msg->keywords != NULL && msg->keywords[0] != '\0')
		strbuf_printf(out, "X-Keywords: %s\n", msg->keywords);
}

/* flush_out - write out to the file when it has grown (or always with force). */
static int flush_out(struct mbox_writer *w, struct strbuf *out, int force, char **error_r)
{
	if (out->len == 0 || (!force && out->len < 65536))
		return 0;
	if (fwrite(out->data, 1, out->len, w->fp) != out->len) {
		*error_r = xasprintf("write %s: %s", w->path, strerror(errno));
		return -2;
	}
	strbuf_reset(out);
	return 0;
}

int mbox_write_message(struct mbox_writer *w, int fd, const struct store_message *msg,
		       char **error_r)
{
	struct strbuf out = STRBUF_INIT, header = STRBUF_INIT;
	char *line = NULL, *sender = NULL;
	size_t cap = 0;
	ssize_t n;
	int in_header = 1, drop = 0, ret = 0, last_nl = 1;
	FILE *in;
	int dfd = dup(fd);

	if (dfd < 0 || (in = fdopen(dfd, "r")) == NULL) {
		*error_r = xasprintf("read blob %s: %s", msg->blob, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	/* The header first: it names the sender, and its mbox fields are dropped. */
	while (in_header && (n = getline(&line, &cap, in)) > 0) {
		if (is_blank(line, (size_t)n)) {
			in_header = 0;
			break;
		}
		if (line[0] != ' ' && line[0] != '\t') {
			size_t nlen = strcspn(line, ":\r\n");

			drop = line[nlen] == ':' && mbox_is_reserved_field(line, nlen);
			if (sender == NULL && nlen == 11 &&
			    strncasecmp(line, "Return-Path", 11) == 0 && line[nlen] == ':')
				sender = from_sender(line + nlen + 1);
		}
		if (!drop)
			put_line(&header, line, (size_t)n);
	}
	if (header.len > 0 && header.data[header.len - 1] != '\n')
		strbuf_putc(&header, '\n');
	if (sender == NULL)
		sender = xstrdup("MAILER-DAEMON");
	from_line(&out, sender, msg->internal_date);
	if (header.len > 0)
		strbuf_append(&out, header.data, header.len);
	state_headers(w, &out, msg);
	strbuf_putc(&out, '\n');
	while (!ferror(in) && (n = getline(&line, &cap, in)) > 0) {
		put_line(&out, line, (size_t)n);
		last_nl = line[n - 1] == '\n';
		if ((ret = flush_out(w, &out, 0, error_r)) < 0)
			break;
	}
	if (ret == 0 && ferror(in)) {
		*error_r = xasprintf("read blob %s: %s", msg->blob, strerror(errno));
		ret = -1;
	}
	if (ret == 0) {
		if (!last_nl)
			strbuf_putc(&out, '\n');
		strbuf_putc(&out, '\n');
		ret = flush_out(w, &out, 1, error_r);
	}
	fclose(in);
	free(line);
	free(sender);
	strbuf_free(&out);
	strbuf_free(&header);
	return ret;
}
