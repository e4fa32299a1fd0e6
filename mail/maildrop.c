/*
 * maildrop - encoding and strict decoding of maildrop files and of the
 * stream from sendmail to postdrop. See maildrop.h for the format.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

#include "mail/maildrop.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* Longest decimal value record (U, T, F, E). */
#define NUMBER_MAX 20

/* Where a reader is: what it expects next. */
enum phase { PH_MAGIC, PH_ENVELOPE, PH_CONTENT, PH_DONE, PH_FAILED };

struct maildrop_reader {
	FILE *fp;
	bool with_origin;
	long long limit; /* content bytes */
	long long total; /* content bytes so far */
	enum phase phase;
	struct strbuf data; /* the current record's data */
};

void maildrop_envelope_init(struct maildrop_envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->uid = -1;
	env->time = -1;
}

void maildrop_envelope_free(struct maildrop_envelope *env)
{
	size_t i;

	free(env->sender);
	free(env->full_name);
	free(env->envid);
	for (i = 0; i < env->nrcpts; i++)
		free(env->rcpts[i]);
	free(env->rcpts);
	maildrop_envelope_init(env);
}

void maildrop_envelope_add_rcpt(struct maildrop_envelope *env, const char *rcpt)
{
	env->rcpts = xreallocarray(env->rcpts, env->nrcpts + 1, sizeof(*env->rcpts));
	env->rcpts[env->nrcpts++] = xstrdup(rcpt);
}

/* ---- checks ---- */

/* text_ok - no control characters (bytes below 0x20, and DEL) in len bytes, at most max. */
static bool text_ok(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len > max)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool ascii_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= max || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return i > 0;
}

int maildrop_envelope_check(const struct maildrop_envelope *env, bool with_origin, char **error_r)
{
	size_t i;

	if (with_origin && (env->uid < 0 || env->time < 0)) {
		*error_r = xstrdup("uid or time missing");
		return -1;
	}
	if (!with_origin && (env->uid >= 0 || env->time >= 0)) {
		*error_r = xstrdup("uid and time are not the submitter's to give");
		return -1;
	}
	if (env->sender == NULL || !text_ok(env->sender, strlen(env->sender), MAILDROP_ADDR_MAX)) {
		*error_r = xstrdup("sender missing or malformed");
		return -1;
	}
	if (env->full_name != NULL &&
	    !text_ok(env->full_name, strlen(env->full_name), MAILDROP_NAME_MAX)) {
		*error_r = xstrdup("malformed full name");
		return -1;
	}
	if (env->envid != NULL && !ascii_ok(env->envid, MAILDROP_ENVID_MAX)) {
		*error_r = xstrdup("malformed envelope ID");
		return -1;
	}
	if ((env->flags & ~MAILDROP_FLAGS_ALL) != 0 ||
	    (env->flags & MAILDROP_FLAG_RET_FULL && env->flags & MAILDROP_FLAG_RET_HDRS)) {
		*error_r = xstrdup("bad flags");
		return -1;
	}
	if (env->nrcpts == 0 || env->nrcpts > MAILDROP_RCPT_MAX) {
		*error_r =
		    xasprintf("%zu recipients: must be 1 to %d", env->nrcpts, MAILDROP_RCPT_MAX);
		return -1;
	}
	for (i = 0; i < env->nrcpts; i++) {
		if (env->rcpts[i][0] == '\0' ||
		    !text_ok(env->rcpts[i], strlen(env->rcpts[i]), MAILDROP_ADDR_MAX)) {
			*error_r = xstrdup("empty or malformed recipient");
			return -1;
		}
	}
	return 0;
}

/* ---- writing ---- */

static void put_record(struct strbuf *out, int type, const void *data, size_t len)
{
	unsigned char hdr[5];

	if (len > UINT32_MAX)
		msg_panic("maildrop record of %zu bytes", len);
	hdr[0] = (unsigned char)type;
	hdr[1] = (unsigned char)(len >> 24);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = (unsigned char)(len >> 8);
	hdr[4] = (unsigned char)len;
	strbuf_append(out, hdr, sizeof(hdr));
	strbuf_append(out, data, len);
}

static void put_str(struct strbuf *out, int type, const char *s)
{
	put_record(out, type, s, strlen(s));
}

static void put_num(struct strbuf *out, int type, long long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lld", n);

	put_record(out, type, buf, (size_t)len);
}

void maildrop_encode_envelope(struct strbuf *out, const struct maildrop_envelope *env)
{
	char *error = NULL;
	size_t i;

	if (maildrop_envelope_check(env, env->uid >= 0, &error) < 0)
		msg_panic("maildrop_encode_envelope: %s", error);
	strbuf_append(out, MAILDROP_MAGIC, MAILDROP_MAGIC_LEN);
	if (env->uid >= 0) {
		put_num(out, 'U', env->uid);
		put_num(out, 'T', env->time);
	}
	put_str(out, 'S', env->sender);
	if (env->full_name != NULL)
		put_str(out, 'N', env->full_name);
	if (env->envid != NULL)
		put_str(out, 'I', env->envid);
	put_num(out, 'F', (long long)env->flags);
	for (i = 0; i < env->nrcpts; i++)
		put_str(out, 'R', env->rcpts[i]);
	put_record(out, 'M', "", 0);
}

void maildrop_encode_content(struct strbuf *out, const void *data, size_t len)
{
	const char *p = data;
	size_t n;

	while (len > 0) {
		n = len > MAILDROP_CHUNK_MAX ? MAILDROP_CHUNK_MAX : len;
		put_record(out, 'C', p, n);
		p += n;
		len -= n;
	}
}

void maildrop_encode_end(struct strbuf *out, long long total)
{
	put_num(out, 'E', total);
}

/* ---- reading ---- */

struct maildrop_reader *maildrop_reader_create(FILE *fp, bool with_origin, long long content_limit)
{
	struct maildrop_reader *r = xcalloc(1, sizeof(*r));

	r->fp = fp;
	r->with_origin = with_origin;
	r->limit = content_limit;
	r->phase = PH_MAGIC;
	return r;
}

void maildrop_reader_free(struct maildrop_reader **rp)
{
	struct maildrop_reader *r = *rp;

	if (r == NULL)
		return;
	strbuf_free(&r->data);
	free(r);
	*rp = NULL;
}

const char *maildrop_status_str(enum maildrop_status status)
{
	switch (status) {
	case MAILDROP_OK:
		return "ok";
	case MAILDROP_END:
		return "end";
	case MAILDROP_TRUNCATED:
		return "truncated";
	case MAILDROP_INVALID:
		return "malformed";
	case MAILDROP_TOO_BIG:
		return "too big";
	case MAILDROP_IO_ERROR:
		return "read error";
	}
	return "unknown";
}

/* fail - remember that the reader is done for, and say why. */
static enum maildrop_status fail(struct maildrop_reader *r, enum maildrop_status st, char **error_r,
				 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum maildrop_status fail(struct maildrop_reader *r, enum maildrop_status st, char **error_r,
				 const char *fmt, ...)
{
	va_list ap;

	r->phase = PH_FAILED;
	va_start(ap, fmt);
	*error_r = xvasprintf(fmt, ap);
	va_end(ap);
	return st;
}

/* read_exact - len bytes into buf: MAILDROP_OK, MAILDROP_TRUNCATED or MAILDROP_IO_ERROR. */
static enum maildrop_status read_exact(struct maildrop_reader *r, void *buf, size_t len,
				       char **error_r)
{
	if (len == 0 || fread(buf, 1, len, r->fp) == len)
		return MAILDROP_OK;
	if (ferror(r->fp))
		return fail(r, MAILDROP_IO_ERROR, error_r, "read: %s", strerror(errno));
	return fail(r, MAILDROP_TRUNCATED, error_r, "the input ends before the end record");
}

/* record_max - the longest data a record of type may have; 0 for an unknown type. */
static size_t record_max(int type)
{
	switch (type) {
	case 'U':
	case 'T':
	case 'F':
	case 'E':
		return NUMBER_MAX;
	case 'S':
	case 'R':
		return MAILDROP_ADDR_MAX;
	case 'N':
		return MAILDROP_NAME_MAX;
	case 'I':
		return MAILDROP_ENVID_MAX;
	case 'M':
		return 1; /* must be empty; checked by its user */
	case 'C':
		return MAILDROP_CHUNK_MAX;
	default:
		return 0;
	}
}

/* read_record - the next record: its type in *type_r, its data in r->data. */
static enum maildrop_status read_record(struct maildrop_reader *r, int *type_r, char **error_r)
{
	unsigned char hdr[5];
	enum maildrop_status st;
	size_t len, max;

	if ((st = read_exact(r, hdr, sizeof(hdr), error_r)) != MAILDROP_OK)
		return st;
	len = (size_t)hdr[1] << 24 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 8 | hdr[4];
	max = record_max(hdr[0]);
	if (max == 0)
		return fail(r, MAILDROP_INVALID, error_r, "unknown record type 0x%02x", hdr[0]);
	if (len > max)
		return fail(r, MAILDROP_INVALID, error_r, "record '%c' of %zu bytes (at most %zu)",
			    hdr[0], len, max);
	strbuf_reset(&r->data);
	strbuf_reserve(&r->data, len);
	if ((st = read_exact(r, r->data.data, len, error_r)) != MAILDROP_OK)
		return st;
	r->data.len = len;
	r->data.data[len] = '\0';
	*type_r = hdr[0];
	return MAILDROP_OK;
}

/* number - the data of a decimal record (0 to LLONG_MAX, no sign, no leading zero); -1 if bad. */
static long long number(const struct strbuf *data)
{
	long long n = 0;
	size_t i;

	if (data->len == 0 || (data->len > 1 && data->data[0] == '0'))
		return -1;
	for (i = 0; i < data->len; i++) {
		if (data->data[i] < '0' || data->data[i] > '9' ||
		    n > (LLONG_MAX - (data->data[i] - '0')) / 10)
			return -1;
		n = n * 10 + (data->data[i] - '0');
	}
	return n;
}

/* string - the data of a text record, which must hold no NUL byte; NULL if it does. */
static char *string(const struct strbuf *data)
{
	if (memchr(data->data, '\0', data->len) != NULL)
		return NULL;
	return xstrndup(data->data, data->len);
}

/* order - the position of an envelope record type; -1 for one that has none. */
static int order(int type)
{
	static const char types[] = "UTSNIFRM";
	const char *p = strchr(types, type);

	return type != '\0' && p != NULL ? (int)(p - types) : -1;
}

/* take - store one envelope record into env; -1 when its value is not acceptable. */
static int take(struct maildrop_reader *r, int type, struct maildrop_envelope *env)
{
	long long n;

	switch (type) {
	case 'U':
		return (env->uid = number(&r->data)) < 0 ? -1 : 0;
	case 'T':
		return (env->time = number(&r->data)) < 0 ? -1 : 0;
	case 'F':
		n = number(&r->data);
		env->flags = (unsigned)(n & MAILDROP_FLAGS_ALL);
		return n < 0 || n > MAILDROP_FLAGS_ALL ? -1 : 0;
	case 'S':
		return (env->sender = string(&r->data)) == NULL ? -1 : 0;
	case 'N':
		return (env->full_name = string(&r->data)) == NULL ? -1 : 0;
	case 'I':
		return (env->envid = string(&r->data)) == NULL ? -1 : 0;
	case 'R':
		if (env->nrcpts >= MAILDROP_RCPT_MAX || memchr(r->data.data, '\0', r->data.len))
			return -1;
		maildrop_envelope_add_rcpt(env, r->data.data);
		return 0;
	case 'M':
		return r->data.len == 0 ? 0 : -1;
	}
	return -1;
}

enum maildrop_status maildrop_read_envelope(struct maildrop_reader *r,
					    struct maildrop_envelope *env, char **error_r)
{
	char magic[MAILDROP_MAGIC_LEN];
	enum maildrop_status st;
	int type = 0, pos, last = -1;
	unsigned seen = 0;
	char *error = NULL;

	if (r->phase != PH_MAGIC)
		msg_panic("maildrop_read_envelope: called twice");
	if ((st = read_exact(r, magic, sizeof(magic), error_r)) != MAILDROP_OK)
		return st;
	if (memcmp(magic, MAILDROP_MAGIC, sizeof(magic)) != 0)
		return fail(r, MAILDROP_INVALID, error_r, "not a maildrop file (no magic line)");
	r->phase = PH_ENVELOPE;
	while (type != 'M') {
		if ((st = read_record(r, &type, error_r)) != MAILDROP_OK)
			return st;
		pos = order(type);
		if (pos < 0 || pos < last || (pos == last && type != 'R'))
			return fail(r, MAILDROP_INVALID, error_r, "record '%c' out of order", type);
		if ((type == 'U' || type == 'T') && !r->with_origin)
			return fail(r, MAILDROP_INVALID, error_r, "record '%c' is postdrop's",
				    type);
		if (take(r, type, env) < 0)
			return fail(r, MAILDROP_INVALID, error_r, "bad value in record '%c'", type);
		last = pos;
		seen |= 1u << pos;
	}
	if (!(seen & 1u << order('F')))
		return fail(r, MAILDROP_INVALID, error_r, "no flags record");
	if (maildrop_envelope_check(env, r->with_origin, &error) < 0) {
		st = fail(r, MAILDROP_INVALID, error_r, "%s", error);
		free(error);
		return st;
	}
	r->phase = PH_CONTENT;
	return MAILDROP_OK;
}

enum maildrop_status maildrop_read_content(struct maildrop_reader *r, struct strbuf *chunk,
					   char **error_r)
{
	enum maildrop_status st;
	unsigned char extra;
	int type;

	if (r->phase != PH_CONTENT)
		msg_panic("maildrop_read_content: not in the content");
	if ((st = read_record(r, &type, error_r)) != MAILDROP_OK)
		return st;
	if (type == 'C') {
		if (r->data.len == 0)
			return fail(r, MAILDROP_INVALID, error_r, "empty content record");
		if ((long long)r->data.len > r->limit - r->total)
			return fail(r, MAILDROP_TOO_BIG, error_r,
				    "message content exceeds %lld bytes", r->limit);
		r->total += (long long)r->data.len;
		strbuf_reset(chunk);
		strbuf_append(chunk, r->data.data, r->data.len);
		return MAILDROP_OK;
	}
	if (type != 'E')
		return fail(r, MAILDROP_INVALID, error_r, "record '%c' in the content", type);
	if (number(&r->data) != r->total)
		return fail(r, MAILDROP_INVALID, error_r,
			    "end record says %s bytes, the content has %lld", r->data.data,
			    r->total);
	if (fread(&extra, 1, 1, r->fp) != 0 || ferror(r->fp))
		return fail(r, MAILDROP_INVALID, error_r, "data after the end record");
	r->phase = PH_DONE;
	return MAILDROP_END;
}

/* ---- file names ---- */

char *maildrop_file_name(void)
{
	struct timeval tv;
	uint64_t rnd = 0;

	gettimeofday(&tv, NULL);
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		msg_fatal("getrandom: %s", strerror(errno));
	return xasprintf("%08llX%05lX%012llX", (unsigned long long)tv.tv_sec & 0xffffffffULL,
			 (unsigned long)tv.tv_usec, (unsigned long long)(rnd & 0xffffffffffffULL));
}

bool maildrop_name_valid(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++)
		if (i >= MAILDROP_FILE_NAME_LEN ||
		    !((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'F')))
			return false;
	return i == MAILDROP_FILE_NAME_LEN;
}
