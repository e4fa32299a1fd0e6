/*
 * cleanup_addhdr - the header fields cleanup adds: Received: first, then at
 * the end of the header section Message-ID: and Date: when the message has
 * none, and From: for local submissions without one.
 *
 * Received: follows RFC 5321 section 4.4 with the "tls" clause of RFC 8314
 * section 4.3 (the IANA name of the cipher suite; the clause is registered
 * in its section 7), and Postfix's layout:
 *
 *   Received: from HELO (NAME [ADDR])
 *           (using TLS-INFO)
 *           by MYHOSTNAME (Tern) with PROTOCOL id QID
 *           for <RCPT>
 *           tls CIPHER; DATE
 *
 * NAME is left out when the client's name is not known, "for" only when
 * the message has one recipient (so that Bcc recipients stay hidden from
 * each other), "(using ...)" and "tls" only with TLS. An authenticated
 * client shows as such only in PROTOCOL (ESMTPA, ESMTPSA: RFC 3848): the
 * account is named, as "(authenticated sender: USER)", only when
 * received_sasl_username is yes, because a Received: header travels with
 * the message to every recipient and would tell them the login name of the
 * sender's account. A local submission gets
 *
 *   Received: by MYHOSTNAME (Tern, from user LOGIN)
 *           id QID; DATE
 *
 * Every value from the client is made safe for its place in the field:
 * tokens lose white space and delimiters, comments keep their parentheses
 * only where they nest and get the others and backslashes quoted, control
 * characters become '?', and each is at most VALUE_MAX
 * bytes, so that no line of the field exceeds the 998 bytes of RFC 5322.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup/cleanup.h"
#include "mail/address.h"
#include "mail/cleanup_client.h"
#include "util/mymalloc.h"

#define VALUE_MAX 255
/* Encoded-words of RFC 2047 are at most 75 bytes. */
#define ENCODED_WORD_MAX 75

/* emit - write the lines of text (separated by '\n') as content lines. */
static void emit(struct cleanup_msg *m, const struct strbuf *text)
{
	const char *p = text->data, *end, *nl;

	if (text->len == 0)
		return;
	end = p + text->len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		queue_writer_line(m->w, p, (size_t)(nl - p), true);
		p = nl + 1;
	}
}

/* byte_ok - whether byte c may appear in a header field of this message. */
static int byte_ok(const struct cleanup_msg *m, unsigned char c)
{
	if (c >= 0x80)
		return (m->env->flags & CLEANUP_FLAG_SMTPUTF8) != 0;
	return c >= 0x20 && c != 0x7f;
}

/* token - s as one token: no white space, parentheses, angle brackets, ';' or quotes. */
static void token(const struct cleanup_msg *m, struct strbuf *sb, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < VALUE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		strbuf_putc(sb,
			    byte_ok(m, c) && c != ' ' && strchr("()<>;\"\\", c) == NULL ? c : '?');
	}
}

/* balanced - whether the parentheses in s (up to max bytes) nest properly. */
static int balanced(const char *s, size_t max)
{
	long depth = 0;
	size_t i;

	for (i = 0; s[i] != '\0' && i < max && depth >= 0; i++)
		depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
	return depth == 0;
}

/*
 * comment - s as the text of a comment: parentheses kept when they nest
 * (a comment may hold comments), else quoted, as are backslashes.
 */
static void comment(const struct cleanup_msg *m, struct strbuf *sb, const char *s)
{
	int nested = balanced(s, VALUE_MAX);
	size_t i;

	for (i = 0; s[i] != '\0' && i < VALUE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || (!nested && (c == '(' || c == ')')))
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, byte_ok(m, c) ? c : '?');
	}
}

/* tls_cipher - the IANA cipher suite name: given, or found in tls_info; NULL if none. */
static char *tls_cipher(const struct cleanup_env *env)
{
	const char *s =
	    env->tls_cipher.len > 0 ? strbuf_str(&env->tls_cipher) : strbuf_str(&env->tls_info);
	const char *p = s;
	size_t n;

	while ((p = strstr(p, "TLS_")) != NULL) {
		n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if ((p == s || p[-1] == ' ' || p[-1] == '(') && n > 4 && n <= 64 &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ')'))
			return xstrndup(p, n);
		p += 4;
	}
	return NULL;
}

/* address_literal - ADDR as an RFC 5321 address literal: [192.0.2.1], [IPv6:2001:db8::1]. */
static void address_literal(const struct cleanup_msg *m, struct strbuf *sb, const char *addr)
{
	strbuf_puts(sb, strchr(addr, ':') != NULL ? "[IPv6:" : "[");
	token(m, sb, addr);
	strbuf_putc(sb, ']');
}

/* from_part - "from HELO (NAME [ADDR])" and the comments that follow it. */
static void from_part(const struct cleanup_msg *m, struct strbuf *sb)
{
	const struct cleanup_env *env = m->env;
	const char *name = strbuf_str(&env->client_name);
	int known = name[0] != '\0' && strcmp(name, "unknown") != 0;

	strbuf_puts(sb, "Received: from ");
	if (env->helo.len > 0)
		token(m, sb, env->helo.data);
	else if (known)
		token(m, sb, name);
	else
		address_literal(m, sb, env->client_addr.data);
	strbuf_puts(sb, " (");
	if (known) {
		token(m, sb, name);
		strbuf_putc(sb, ' ');
	}
	address_literal(m, sb, env->client_addr.data);
	strbuf_putc(sb, ')');
	if (env->tls_info.len > 0) {
		strbuf_puts(sb, "\n\t(using ");
		comment(m, sb, env->tls_info.data);
		strbuf_putc(sb, ')');
	}
	if (m->conf->received_sasl_username && env->sasl_username.len > 0) {
		strbuf_puts(sb, "\n\t(authenticated sender: ");
		comment(m, sb, env->sasl_username.data);
		strbuf_putc(sb, ')');
	}
	strbuf_puts(sb, "\n\t");
}

void cleanup_add_received(struct cleanup_msg *m)
{
	const struct cleanup_env *env = m->env;
	struct strbuf sb = STRBUF_INIT;
	char *cipher = tls_cipher(env);
	size_t i;

	if (env->client_addr.len > 0) {
		from_part(m, &sb);
		strbuf_puts(&sb, "by ");
		token(m, &sb, m->conf->myhostname);
		strbuf_puts(&sb, " (Tern)");
	} else {
		strbuf_puts(&sb, "Received: by ");
		token(m, &sb, m->conf->myhostname);
		strbuf_puts(&sb, " (Tern");
		if (env->local_user.len > 0) {
			strbuf_puts(&sb, ", from user ");
			comment(m, &sb, env->local_user.data);
		}
		strbuf_putc(&sb, ')');
	}
	if (env->protocol.len > 0) {
		strbuf_puts(&sb, " with ");
		for (i = 0; i < env->protocol.len && i < 32; i++)
			strbuf_putc(&sb,
				    strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789-",
					   env->protocol.data[i]) != NULL
					? env->protocol.data[i]
					: '?');
	}
	strbuf_printf(&sb, "%sid %s", env->client_addr.len > 0 ? " " : "\n\t", m->id);
	if (m->nrcpt == 1) {
		strbuf_puts(&sb, "\n\tfor <");
		token(m, &sb, m->first_rcpt);
		strbuf_putc(&sb, '>');
	}
	if (cipher != NULL)
		strbuf_printf(&sb, "\n\ttls %s", cipher);
	strbuf_puts(&sb, "; ");
	cleanup_date(&sb, queue_writer_arrival(m->w).tv_sec);
	emit(m, &sb);
	strbuf_free(&sb);
	free(cipher);
}

void cleanup_date(struct strbuf *sb, time_t t)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off;
	size_t i;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	strbuf_printf(sb, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday], tm.tm_mday,
		      months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		      off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	if (tm.tm_zone == NULL || tm.tm_zone[0] == '\0')
		return;
	for (i = 0; tm.tm_zone[i] != '\0'; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-",
			   tm.tm_zone[i]) == NULL)
			return;
	strbuf_printf(sb, " (%s)", tm.tm_zone);
}

/* random_part - 8 base-32 characters for the Message-ID. */
static void random_part(struct strbuf *sb)
{
	static const char digits[] = "0123456789abcdefghjkmnpqrstvwxyz";
	unsigned char r[8];
	struct timespec ts;
	size_t i;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		for (i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(ts.tv_nsec >> (i * 3));
	}
	for (i = 0; i < sizeof(r); i++)
		strbuf_putc(sb, digits[r[i] & 31]);
}

/* phrase_ascii - the display name as an atom sequence or a quoted string. */
static void phrase_ascii(struct strbuf *sb, const char *name)
{
	const char *atext = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "!#$%&'*+-/=?^_`{|}~ ";
	const char *p;

	if (strspn(name, atext) == strlen(name) && name[0] != ' ') {
		strbuf_puts(sb, name);
		return;
	}
	strbuf_putc(sb, '"');
	for (p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, *p);
	}
	strbuf_putc(sb, '"');
}

/* utf8_len - the length of the UTF-8 sequence that starts with byte c (1 for anything odd). */
static size_t utf8_len(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/*
 * phrase_encoded - the display name as RFC 2047 encoded-words ("Q"
 * encoding, UTF-8), each on its own line, never splitting a character.
 */
static void phrase_encoded(struct strbuf *sb, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)name;
	size_t word_start, n, i, room;

	while (*p != '\0') {
		if (sb->len > 0 && sb->data[sb->len - 1] != ' ')
			strbuf_puts(sb, "\n ");
		word_start = sb->len;
		strbuf_puts(sb, "=?UTF-8?Q?");
		while (*p != '\0') {
			n = utf8_len(*p);
			for (i = 1; i < n; i++)
				if (p[i] == '\0')
					n = i;
			room = ENCODED_WORD_MAX - 2 - (sb->len - word_start);
			if (room < 3 * n)
				break;
			for (i = 0; i < n; i++) {
				if (p[i] == ' ')
					strbuf_putc(sb, '_');
				else if (strchr(
					     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789!*+-/",
					     p[i]) != NULL)
					strbuf_putc(sb, p[i]);
				else
					strbuf_printf(sb, "=%c%c", hex[p[i] >> 4], hex[p[i] & 15]);
			}
			p += n;
		}
		strbuf_puts(sb, "?=");
	}
}

/* add_from - "From: NAME <LOGIN@MYORIGIN>" for a local submission. */
static void add_from(struct cleanup_msg *m, struct strbuf *sb)
{
	const struct cleanup_env *env = m->env;
	char *name = cleanup_safe_text(strbuf_str(&env->full_name), 256), *local;
	const unsigned char *p;
	int ascii = 1;

	for (p = (const unsigned char *)name; *p != '\0'; p++)
		ascii &= *p < 0x80;
	strbuf_puts(sb, "From: ");
	if (name[0] != '\0' && ascii)
		phrase_ascii(sb, name);
	else if (name[0] != '\0' && (env->flags & CLEANUP_FLAG_SMTPUTF8) &&
		 address_utf8_valid(name, strlen(name)))
		phrase_ascii(sb, name); /* RFC 6532: UTF-8 in a quoted string */
	else if (name[0] != '\0')
		phrase_encoded(sb, name);
	if (env->local_user.len > 0) {
		local = address_quote_local(env->local_user.data);
		strbuf_printf(sb, "%s<%s@%s>", name[0] != '\0' ? " " : "", local,
			      m->conf->myorigin);
		free(local);
	} else {
		strbuf_printf(sb, "%s<%s>", name[0] != '\0' ? " " : "",
			      env->sender.len > 0 ? env->sender.data : "MAILER-DAEMON");
	}
	strbuf_putc(sb, '\n');
	free(name);
}

void cleanup_add_missing(struct cleanup_msg *m)
{
	struct strbuf sb = STRBUF_INIT;

	if (!m->have_msgid) {
		strbuf_printf(&sb, "<%s.", m->id);
		random_part(&sb);
		strbuf_printf(&sb, "@%s>", m->conf->myhostname);
		m->message_id = strbuf_detach(&sb);
		strbuf_printf(&sb, "Message-ID: %s\n", m->message_id);
	}
	if (!m->have_date) {
		strbuf_puts(&sb, "Date: ");
		cleanup_date(&sb, queue_writer_arrival(m->w).tv_sec);
		strbuf_putc(&sb, '\n');
	}
	if ((m->env->flags & CLEANUP_FLAG_LOCAL) && !m->have_from)
		add_from(m, &sb);
	emit(m, &sb);
	strbuf_free(&sb);
}
