/*
 * smtp_content - message lines as the smtp agent puts them on the wire
 * (RFC 5321 sections 4.5.2 and 4.5.3.1.6): CRLF after every line, a '.'
 * doubled at the start of a line, lines longer than SMTP_LINE_MAX bytes
 * broken in pieces of that size. And the delays of the log line.
 */
#include <stdio.h>
#include <string.h>

#include "smtp/smtp.h"

void smtp_line_put(struct strbuf *out, const char *data, size_t len, bool last, size_t *col)
{
	size_t room;

	while (len > 0) {
		if (*col == 0 && data[0] == '.') {
			strbuf_putc(out, '.');
			*col = 1;
		}
		room = SMTP_LINE_MAX - *col;
		if (len > room) {
			strbuf_append(out, data, room);
			strbuf_puts(out, "\r\n");
			data += room;
			len -= room;
			*col = 0;
			continue;
		}
		strbuf_append(out, data, len);
		*col += len;
		len = 0;
	}
	if (last) {
		strbuf_puts(out, "\r\n");
		*col = 0;
	}
}

bool smtp_has_8bit(const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)data[i] & 0x80)
			return true;
	return false;
}

void smtp_delay_format(struct strbuf *out, double seconds)
{
	char buf[64];
	size_t n;

	if (seconds < 0.005) {
		strbuf_putc(out, '0');
		return;
	}
	snprintf(buf, sizeof(buf), "%.*f", seconds < 10 ? 2 : seconds < 100 ? 1 : 0, seconds);
	n = strlen(buf);
	if (strchr(buf, '.') != NULL) {
		while (n > 0 && buf[n - 1] == '0')
			n--;
		if (n > 0 && buf[n - 1] == '.')
			n--;
	}
	strbuf_append(out, buf, n);
}
