/*
 * base64 - RFC 4648 base64 encoding, strict decoding and lenient
 * streaming decoding. See base64.h.
 */
#include <stdint.h>
#include <string.h>

#include "util/base64.h"
#include "util/mymalloc.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* sextet - the value of an alphabet character, or -1. */
static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t base64_encoded_len(size_t len)
{
	size_t groups = len / 3 + (len % 3 != 0);

	if (groups > SIZE_MAX / 4)
		return SIZE_MAX;
	return groups * 4;
}

size_t base64_decoded_len(size_t len)
{
	return len / 4 * 3;
}

void base64_encode(struct strbuf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;
	char *w;

	strbuf_reserve(out, base64_encoded_len(len));
	w = out->data + out->len;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*w++ = base64_alphabet[v >> 18];
		*w++ = base64_alphabet[(v >> 12) & 63];
		*w++ = base64_alphabet[(v >> 6) & 63];
		*w++ = base64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		*w++ = base64_alphabet[v >> 18];
		*w++ = base64_alphabet[(v >> 12) & 63];
		*w++ = '=';
		*w++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		*w++ = base64_alphabet[v >> 18];
		*w++ = base64_alphabet[(v >> 12) & 63];
		*w++ = base64_alphabet[(v >> 6) & 63];
		*w++ = '=';
	}
	out->len = (size_t)(w - out->data);
	out->data[out->len] = '\0';
}

/* bad_char - the error for the character at offset pos. */
static int bad_char(const char *in, size_t pos, char **error_r)
{
	unsigned char c = (unsigned char)in[pos];

	if (c > 0x20 && c < 0x7f)
		*error_r =
		    xasprintf("invalid base64: unexpected character '%c' at offset %zu", c, pos);
	else
		*error_r =
		    xasprintf("invalid base64: unexpected byte 0x%02x at offset %zu", c, pos);
	return -1;
}

/*
 * decode_last - the final group at in (4 characters, offset pos), which may
 * carry padding; appends its 1 to 3 bytes to w. Returns the count, or -1.
 */
static int decode_last(const char *in, size_t pos, unsigned char *w, char **error_r)
{
	int v[4], i, pad = 0;

	if (in[3] == '=')
		pad = in[2] == '=' ? 2 : 1;
	for (i = 0; i < 4 - pad; i++)
		if ((v[i] = sextet((unsigned char)in[i])) < 0)
			return bad_char(in - pos, pos + (size_t)i, error_r);
	if (pad == 2 && (v[1] & 15) != 0) {
		*error_r =
		    xasprintf("invalid base64: non-zero padding bits at offset %zu", pos + 1);
		return -1;
	}
	if (pad == 1 && (v[2] & 3) != 0) {
		*error_r =
		    xasprintf("invalid base64: non-zero padding bits at offset %zu", pos + 2);
		return -1;
	}
	w[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
	if (pad == 2)
		return 1;
	w[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
	if (pad == 1)
		return 2;
	w[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	return 3;
}

int base64_decode(struct strbuf *out, const char *in, size_t len, char **error_r)
{
	size_t start = out->len, pos;
	unsigned char *w;
	int v[4], i, n;

	if (len % 4 != 0) {
		*error_r = xasprintf("invalid base64: length %zu is not a multiple of 4", len);
		return -1;
	}
	if (len == 0)
		return 0;
	strbuf_reserve(out, base64_decoded_len(len));
	w = (unsigned char *)out->data + out->len;
	for (pos = 0; pos + 4 < len; pos += 4) {
		for (i = 0; i < 4; i++) {
			if ((v[i] = sextet((unsigned char)in[pos + (size_t)i])) < 0) {
				out->data[start] = '\0';
				return bad_char(in, pos + (size_t)i, error_r);
			}
		}
		*w++ = (unsigned char)(v[0] << 2 | v[1] >> 4);
		*w++ = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		*w++ = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	if ((n = decode_last(in + pos, pos, w, error_r)) < 0) {
		out->data[start] = '\0';
		return -1;
	}
	w += n;
	out->len = (size_t)((char *)w - out->data);
	out->data[out->len] = '\0';
	return 0;
}

size_t base64_lenient_decode(struct base64_lenient *st, struct strbuf *out, const char *in,
			     size_t len)
{
	size_t i, junk = 0;
	int v;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if ((v = sextet(c)) >= 0) {
			st->acc = (st->acc << 6) | (uint32_t)v;
			st->bits += 6;
			if (st->bits >= 8) {
				st->bits -= 8;
				strbuf_putc(out, (int)((st->acc >> st->bits) & 0xff));
			}
		} else if (c == '=') {
			st->acc = 0;
			st->bits = 0;
		} else if (c != '\r' && c != '\n' && c != ' ' && c != '\t') {
			junk++;
		}
	}
	return junk;
}

int base64_lenient_pending(const struct base64_lenient *st)
{
	return st->bits >= 6;
}
