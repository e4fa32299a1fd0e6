/*
 * status_log - append, read and remove the per-message bounce, defer and
 * trace logs (record format and durability rules in status_log.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/status_log.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/safe_file.h"
#include "util/strbuf.h"

/* The largest log file status_log_read() takes in, a guard against a runaway file. */
#define STATUS_LOG_FILE_MAX (256ll << 20)

/* The fields of a record, in their order. */
enum field {
	FLD_ADDRESS,
	FLD_ORCPT,
	FLD_NOTIFY,
	FLD_OFFSET,
	FLD_STATUS,
	FLD_ACTION,
	FLD_DSN,
	FLD_TIME,
	FLD_RELAY,
	FLD_TEXT,
	FLD_COUNT,
};

static const char *const field_names[FLD_COUNT] = {
    "address", "orcpt", "notify", "offset", "status", "action", "dsn", "time", "relay", "text",
};

const char *status_log_dir(enum status_log_kind kind)
{
	switch (kind) {
	case STATUS_LOG_BOUNCE:
		return "bounce";
	case STATUS_LOG_DEFER:
		return "defer";
	case STATUS_LOG_TRACE:
		return "trace";
	}
	msg_panic("status_log_dir: bad kind %d", (int)kind);
}

/* action_default - the DSN Action of a status when none is given. */
static const char *action_default(int status)
{
	return status == 2 ? "delivered" : status == 4 ? "delayed" : "failed";
}

/* action_valid - whether action may describe an outcome of status. */
static bool action_valid(const char *action, int status)
{
	if (status == 2)
		return strcmp(action, "delivered") == 0 || strcmp(action, "relayed") == 0 ||
		       strcmp(action, "expanded") == 0;
	return strcmp(action, action_default(status)) == 0;
}

/* crc32 - CRC-32/ISO-HDLC (reflected polynomial 0xEDB88320), four bits at a time. */
static uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	static const uint32_t nibble[16] = {
	    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	const unsigned char *p = data;

	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ nibble[crc & 15];
		crc = (crc >> 4) ^ nibble[crc & 15];
	}
	return ~crc;
}

/* put_value - append len bytes of value, escaping what must not appear in a record. */
static void put_value(struct strbuf *out, const char *value, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c > ' ' && c < 0x7f && c != '%') {
			strbuf_putc(out, c);
		} else {
			strbuf_putc(out, '%');
			strbuf_putc(out, hex[c >> 4]);
			strbuf_putc(out, hex[c & 15]);
		}
	}
}

static void put_field(struct strbuf *out, enum field f, const char *value, size_t len)
{
	strbuf_puts(out, field_names[f]);
	strbuf_putc(out, '=');
	put_value(out, value, len);
	strbuf_putc(out, ' ');
}

static void put_str(struct strbuf *out, enum field f, const char *value)
{
	if (value == NULL)
		value = "";
	put_field(out, f, value, strlen(value));
}

static void put_num(struct strbuf *out, enum field f, long long value)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", value);

	put_field(out, f, buf, (size_t)n);
}

void status_log_format(struct strbuf *out, const struct status_entry *entry)
{
	size_t start = out->len;
	const char *text = entry->text != NULL && *entry->text ? entry->text : "none";
	size_t text_len = strlen(text);
	uint32_t crc;

	if (text_len > STATUS_LOG_TEXT_MAX)
		text_len = STATUS_LOG_TEXT_MAX;
	put_str(out, FLD_ADDRESS, entry->address);
	put_str(out, FLD_ORCPT, entry->orcpt);
	put_num(out, FLD_NOTIFY, entry->notify);
	put_num(out, FLD_OFFSET, entry->offset < 0 ? -1 : entry->offset);
	put_num(out, FLD_STATUS, entry->status);
	put_str(out, FLD_ACTION,
		entry->action != NULL ? entry->action : action_default(entry->status));
	put_str(out, FLD_DSN, entry->dsn);
	put_num(out, FLD_TIME, (long long)entry->time);
	put_str(out, FLD_RELAY, entry->relay != NULL && *entry->relay ? entry->relay : "none");
	put_field(out, FLD_TEXT, text, text_len);
	crc = crc32_update(0, out->data + start, out->len - start);
	strbuf_printf(out, "crc=%08x\n", (unsigned)crc);
}

/* dsn_valid - "C.S.D" with class digit cls, 1 to 3 digits each of S and D. */
static bool dsn_valid(const char *dsn, int cls)
{
	const char *p = dsn;

	if (dsn == NULL || p[0] != '0' + cls || p[1] != '.')
		return false;
	p += 2;
	for (int part = 0; part < 2; part++) {
		size_t n = 0;

		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n < 1 || n > 3)
			return false;
		p += n;
		if (part == 0 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

static int entry_check(const struct status_entry *entry, char **error_r)
{
	if (entry->address == NULL || *entry->address == '\0') {
		*error_r = xstrdup("status entry without a recipient address");
		return -1;
	}
	if (entry->status != 2 && entry->status != 4 && entry->status != 5) {
		*error_r = xasprintf("status entry for <%s>: bad status %d", entry->address,
				     entry->status);
		return -1;
	}
	if (!dsn_valid(entry->dsn, entry->status)) {
		*error_r =
		    xasprintf("status entry for <%s>: bad dsn \"%s\" for status %d", entry->address,
			      entry->dsn != NULL ? entry->dsn : "(null)", entry->status);
		return -1;
	}
	if (entry->action != NULL && !action_valid(entry->action, entry->status)) {
		*error_r = xasprintf("status entry for <%s>: bad action \"%s\" for status %d",
				     entry->address, entry->action, entry->status);
		return -1;
	}
	return 0;
}

static char *log_path(const char *queue_dir, enum status_log_kind kind, const char *queue_id)
{
	return xasprintf("%s/%s/%s", queue_dir, status_log_dir(kind), queue_id);
}

/* queue_id_safe - a name that stays inside its directory. */
static int id_check(const char *queue_id, char **error_r)
{
	if (*queue_id == '\0' || strchr(queue_id, '/') != NULL || strcmp(queue_id, ".") == 0 ||
	    strcmp(queue_id, "..") == 0) {
		*error_r = xasprintf("bad queue ID \"%s\"", queue_id);
		return -1;
	}
	return 0;
}

/* write_record - under the lock: end a torn last line, then write the record in one go. */
static int write_record(int fd, const char *path, struct strbuf *rec, char **error_r)
{
	struct stat st;
	char last;

	if (fstat(fd, &st) < 0) {
		*error_r = xasprintf("fstat %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_size > 0) {
		ssize_t n = pread(fd, &last, 1, st.st_size - 1);

		if (n < 0) {
			*error_r = xasprintf("read %s: %s", path, strerror(errno));
			return -1;
		}
		if (n == 1 && last != '\n') { /* a torn record: end its line first */
			struct strbuf fixed = STRBUF_INIT;

			strbuf_reserve(&fixed, rec->len + 1);
			strbuf_putc(&fixed, '\n');
			strbuf_append(&fixed, rec->data, rec->len);
			strbuf_free(rec);
			*rec = fixed;
		}
	}
	for (size_t done = 0; done < rec->len;) {
		ssize_t n = write(fd, rec->data + done, rec->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("write %s: %s", path,
					     n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* open_log - open path for appending; *created_r when this call made the file. */
static int open_log(const char *path, bool *created_r, char **error_r)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);

	*created_r = false;
	if (fd < 0 && errno == ENOENT) {
		fd =
		    open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			*created_r = true;
		else if (errno == EEXIST)
			fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
	return fd;
}

int status_log_append(const char *queue_dir, enum status_log_kind kind, const char *queue_id,
		      const struct status_entry *entry, char **error_r)
{
	struct status_entry e = *entry;
	struct strbuf rec = STRBUF_INIT;
	char *path;
	bool created;
	int fd, ret = -1;

	if (id_check(queue_id, error_r) < 0 || entry_check(entry, error_r) < 0)
		return -1;
	if (e.time == 0)
		e.time = time(NULL);
	status_log_format(&rec, &e);
	path = log_path(queue_dir, kind, queue_id);
	if ((fd = open_log(path, &created, error_r)) < 0)
		goto out;
	if (flock(fd, LOCK_EX) < 0) {
		*error_r = xasprintf("lock %s: %s", path, strerror(errno));
		goto out;
	}
	if (write_record(fd, path, &rec, error_r) < 0)
		goto out;
	(void)flock(fd, LOCK_UN);
	if (fsync(fd) < 0) {
		*error_r = xasprintf("fsync %s: %s", path, strerror(errno));
		goto out;
	}
	if (created && safe_file_fsync_parent(path, error_r) < 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	strbuf_free(&rec);
	return ret;
}

/* ---- reading ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * decode_value - undo the escaping in place of the len bytes at s (NUL
 * written after); false when an escape is malformed, an unescaped byte is
 * not allowed, or a NUL would result.
 */
static bool decode_value(char *s, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return false;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			s[out++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c > ' ' && c < 0x7f) {
			s[out++] = (char)c;
		} else {
			return false;
		}
	}
	s[out] = '\0';
	return true;
}

/* parse_num - a decimal number (optionally negative) in [min, max]. */
static bool parse_num(const char *s, long long min, long long max, long long *value_r)
{
	char *end;
	long long v;

	if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*value_r = v;
	return true;
}

/* check_crc - the line (len bytes, no '\n') ends with " crc=XXXXXXXX" matching the rest. */
static bool check_crc(const char *line, size_t len, size_t *body_len_r)
{
	const size_t tail = sizeof("crc=") - 1 + 8;
	char hex[9];
	char *end;
	unsigned long want;

	if (len < tail + 1 || memcmp(line + len - tail, "crc=", 4) != 0 ||
	    line[len - tail - 1] != ' ')
		return false;
	memcpy(hex, line + len - 8, 8);
	hex[8] = '\0';
	for (int i = 0; i < 8; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return false;
	want = strtoul(hex, &end, 16);
	if (crc32_update(0, line, len - tail) != (uint32_t)want)
		return false;
	*body_len_r = len - tail;
	return true;
}

/* split_fields - the values of the fields, in order, NUL-terminated in place. */
static bool split_fields(char *line, size_t len, char *values[FLD_COUNT])
{
	char *p = line, *end = line + len;

	for (int f = 0; f < FLD_COUNT; f++) {
		size_t nlen = strlen(field_names[f]);
		char *sp;

		if ((size_t)(end - p) < nlen + 2 || memcmp(p, field_names[f], nlen) != 0 ||
		    p[nlen] != '=')
			return false;
		p += nlen + 1;
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL)
			return false;
		if (!decode_value(p, (size_t)(sp - p)))
			return false;
		values[f] = p;
		p = sp + 1;
	}
	return p == end;
}

/* parse_line - one record of len bytes (no '\n'), decoded in place into *e. */
static bool parse_line(char *line, size_t len, struct status_entry *e)
{
	char *v[FLD_COUNT];
	size_t body_len;
	long long notify, offset, status, when;

	if (!check_crc(line, len, &body_len) || !split_fields(line, body_len, v))
		return false;
	if (!parse_num(v[FLD_NOTIFY], 0, 0xffff, &notify) ||
	    !parse_num(v[FLD_OFFSET], -1, INT64_MAX, &offset) ||
	    !parse_num(v[FLD_STATUS], 2, 5, &status) ||
	    !parse_num(v[FLD_TIME], 0, INT64_MAX, &when))
		return false;
	*e = (struct status_entry){
	    .address = v[FLD_ADDRESS],
	    .orcpt = v[FLD_ORCPT],
	    .notify = (unsigned)notify,
	    .offset = offset,
	    .status = (int)status,
	    .action = v[FLD_ACTION],
	    .dsn = v[FLD_DSN],
	    .time = (time_t)when,
	    .relay = v[FLD_RELAY],
	    .text = v[FLD_TEXT],
	};
	if (*e->address == '\0' || (status != 2 && status != 4 && status != 5) ||
	    !dsn_valid(e->dsn, e->status) || !action_valid(e->action, e->status) ||
	    *e->relay == '\0' || *e->text == '\0')
		return false;
	return true;
}

void status_log_parse(const void *data, size_t len, struct status_log *log)
{
	size_t cap = 0;
	char *p, *end;

	*log = (struct status_log){.data_ = xmalloc(len + 1)};
	memcpy(log->data_, data, len);
	log->data_[len] = '\0';
	p = log->data_;
	end = p + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		struct status_entry e;

		if (nl == NULL) { /* the last line, torn */
			log->skipped++;
			break;
		}
		if (nl == p) { /* an empty line ends a torn record: nothing lost */
			p = nl + 1;
			continue;
		}
		if ((size_t)(nl - p) <= STATUS_LOG_LINE_MAX &&
		    parse_line(p, (size_t)(nl - p), &e)) {
			if (log->count == cap) {
				cap = cap ? 2 * cap : 8;
				log->entries = xreallocarray(log->entries, cap, sizeof(e));
			}
			log->entries[log->count++] = e;
		} else {
			log->skipped++;
		}
		p = nl + 1;
	}
}

/* read_all - the whole file open on fd into buf. */
static int read_all(int fd, const char *path, struct strbuf *buf, char **error_r)
{
	for (;;) {
		ssize_t n;

		if ((long long)buf->len > STATUS_LOG_FILE_MAX) {
			*error_r =
			    xasprintf("%s: larger than %lld bytes", path, STATUS_LOG_FILE_MAX);
			return -1;
		}
		strbuf_reserve(buf, 65536);
		n = read(fd, buf->data + buf->len, buf->size - buf->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = xasprintf("read %s: %s", path, strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		buf->len += (size_t)n;
		buf->data[buf->len] = '\0';
	}
}

int status_log_read(const char *queue_dir, enum status_log_kind kind, const char *queue_id,
		    struct status_log *log, char **error_r)
{
	struct strbuf buf = STRBUF_INIT;
	char *path;
	int fd, ret = -1;

	*log = (struct status_log){0};
	if (id_check(queue_id, error_r) < 0)
		return -1;
	path = log_path(queue_dir, kind, queue_id);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			status_log_parse("", 0, log);
			ret = 0;
		} else {
			*error_r = xasprintf("open %s: %s", path, strerror(errno));
		}
		free(path);
		return ret;
	}
	if (read_all(fd, path, &buf, error_r) == 0) {
		status_log_parse(buf.data != NULL ? buf.data : "", buf.len, log);
		if (log->skipped > 0)
			msg_warn("%s: %s: skipped %zu damaged record(s)", queue_id, path,
				 log->skipped);
		ret = 0;
	}
	close(fd);
	strbuf_free(&buf);
	free(path);
	return ret;
}

void status_log_free(struct status_log *log)
{
	free(log->entries);
	free(log->data_);
	*log = (struct status_log){0};
}

const struct status_entry *status_log_last(const struct status_log *log, const char *address,
					   const char *orcpt, long long offset)
{
	for (size_t i = log->count; i-- > 0;) {
		const struct status_entry *e = &log->entries[i];

		if (offset >= 0 && e->offset >= 0) {
			if (e->offset == offset)
				return e;
			continue;
		}
		if (strcmp(e->address, address) == 0 &&
		    (orcpt == NULL || strcmp(e->orcpt, orcpt) == 0))
			return e;
	}
	return NULL;
}

int status_log_remove(const char *queue_dir, enum status_log_kind kind, const char *queue_id,
		      char **error_r)
{
	char *path;
	int ret = 0;

	if (id_check(queue_id, error_r) < 0)
		return -1;
	path = log_path(queue_dir, kind, queue_id);
	if (unlink(path) < 0 && errno != ENOENT) {
		*error_r = xasprintf("remove %s: %s", path, strerror(errno));
		ret = -1;
	}
	free(path);
	return ret;
}

int status_log_remove_all(const char *queue_dir, const char *queue_id, char **error_r)
{
	static const enum status_log_kind kinds[] = {STATUS_LOG_BOUNCE, STATUS_LOG_DEFER,
						     STATUS_LOG_TRACE};
	int ret = 0;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char *err = NULL;

		if (status_log_remove(queue_dir, kinds[i], queue_id, &err) < 0) {
			if (ret == 0)
				*error_r = err;
			else
				free(err);
			ret = -1;
		}
	}
	return ret;
}
