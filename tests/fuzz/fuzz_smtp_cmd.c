/*
 * fuzz_smtp_cmd - libFuzzer harness for the parsers of client input that
 * smtpd and lmtp share (mail/smtp_cmd.h, mail/smtp_decode.h): the SMTP
 * command parser with the ESMTP parameter decoders, and the
 * DATA/BDAT content decoder.
 *
 * The first byte chooses: even - the rest is one command line, parsed and,
 * for MAIL and RCPT, its parameters decoded with the extensions in bits
 * 1-5 of that byte; odd - the rest is message content, decoded in DATA
 * (bit 1 clear) or BDAT mode whole and again in pieces cut by the next
 * byte's value. The harness aborts when a promise is broken: a refusal
 * without a proper reply, a decoded value with a control character, a
 * decoder whose result depends on how its input was cut, content that
 * holds a bare CR or LF, or an end of data anywhere but after CRLF.CRLF.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/smtp_cmd.h"
#include "mail/smtp_decode.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_smtp_cmd: %s\n", what);
		abort();
	}
}

static void check_text(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		check((unsigned char)*s >= 0x20 && *s != 0x7f, "control character in a value");
}

static void fuzz_params(const struct smtp_cmd *cmd, unsigned ext)
{
	struct smtp_mail_opts mo;
	struct smtp_rcpt_opts ro;
	struct smtp_cmd_error err;

	if (cmd->verb == SMTP_CMD_MAIL) {
		if (smtp_mail_opts_parse(cmd, ext, &mo, &err) == 0) {
			check_text(mo.envid);
			check_text(mo.auth);
			check(mo.size >= -1, "negative SIZE");
		} else {
			check(err.code == 501 || err.code == 555, "bad parameter reply code");
		}
		smtp_mail_opts_free(&mo);
	} else if (cmd->verb == SMTP_CMD_RCPT) {
		if (smtp_rcpt_opts_parse(cmd, ext, ext & 1, &ro, &err) == 0)
			check_text(ro.orcpt);
		else
			check(err.code == 501 || err.code == 555, "bad parameter reply code");
		smtp_rcpt_opts_free(&ro);
	}
}

static void fuzz_command(const char *line, size_t len, unsigned ext)
{
	struct smtp_cmd cmd;
	struct smtp_cmd_error err;
	size_t i;

	if (smtp_cmd_parse(line, len, &cmd, &err) == 0) {
		check(cmd.verb != SMTP_CMD_UNKNOWN, "unknown verb accepted");
		check(cmd.arg != NULL, "no argument string");
		check(cmd.nparams <= SMTP_PARAMS_MAX, "too many parameters");
		check((cmd.verb != SMTP_CMD_MAIL && cmd.verb != SMTP_CMD_RCPT) || cmd.path != NULL,
		      "MAIL or RCPT without a path");
		check(cmd.verb != SMTP_CMD_AUTH || cmd.mech != NULL, "AUTH without a mechanism");
		for (i = 0; i < cmd.nparams; i++) {
			check(cmd.params[i].keyword[0] != '\0', "empty keyword");
			check(cmd.params[i].value == NULL || cmd.params[i].value[0] != '\0',
			      "empty value");
		}
		fuzz_params(&cmd, ext);
	} else {
		check(err.code == 500 || err.code == 501, "bad reply code");
		check(err.dsn != NULL && err.text != NULL && err.text[0] != '\0', "no reply text");
	}
	smtp_cmd_free(&cmd);
}

/* check_content - only CR LF line endings in what the decoder passes on from DATA. */
static void check_content(const struct strbuf *out)
{
	size_t i;

	for (i = 0; i < out->len; i++) {
		if (out->data[i] == '\r')
			check(i + 1 < out->len && out->data[i + 1] == '\n', "bare CR passed on");
		if (out->data[i] == '\n')
			check(i > 0 && out->data[i - 1] == '\r', "bare LF passed on");
	}
}

static void fuzz_content(const uint8_t *in, size_t len, enum smtp_decode_mode mode, size_t step)
{
	struct strbuf whole = STRBUF_INIT, parts = STRBUF_INIT;
	struct smtp_decoder a, b;
	size_t used_a, used_b = 0, n;

	smtp_decoder_init(&a, mode, 80);
	used_a = smtp_decoder_feed(&a, in, len, &whole);
	smtp_decoder_init(&b, mode, 80);
	while (used_b < len && !b.done) {
		n = len - used_b < step ? len - used_b : step;
		used_b += smtp_decoder_feed(&b, in + used_b, n, &parts);
	}
	check(used_a == used_b && a.done == b.done && a.seen == b.seen, "cut changed the result");
	check(whole.len == parts.len &&
		  (whole.len == 0 || memcmp(whole.data, parts.data, whole.len) == 0),
	      "cut changed the content");
	check(a.out_bytes == whole.len, "byte count");
	if (mode == SMTP_DECODE_DATA) {
		check_content(&whole);
		if (a.done)
			check((used_a == 3 && memcmp(in, ".\r\n", 3) == 0) ||
				  (used_a >= 5 && memcmp(in + used_a - 5, "\r\n.\r\n", 5) == 0),
			      "end of data without CRLF.CRLF");
		else
			check(used_a == len, "input left over without an end");
	} else {
		check(used_a == len && whole.len == len &&
			  (len == 0 || memcmp(whole.data, in, len) == 0),
		      "BDAT content changed");
	}
	strbuf_free(&whole);
	strbuf_free(&parts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if ((data[0] & 1) == 0) {
		fuzz_command((const char *)data + 1, size - 1, (data[0] >> 1) & 0x1f);
		return 0;
	}
	fuzz_content(data + 2, size - 2, (data[0] & 2) ? SMTP_DECODE_BDAT : SMTP_DECODE_DATA,
		     data[1] == 0 ? 1 : data[1]);
	return 0;
}
