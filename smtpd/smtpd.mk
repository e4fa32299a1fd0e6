# smtpd: fragment of Makefile.am - the SMTP server (smtp, submission and
# submissions services), its man page, unit tests, the fuzz harness of its
# command parser, integration tests and the acceptance benchmark.

# The command parser, the DATA/BDAT decoder and the connection's I/O,
# replies and command loop step, shared with lmtp.
mail_libtern_mail_a_SOURCES += \
	mail/smtp_cmd.c mail/smtp_cmd.h \
	mail/smtp_esmtp.c \
	mail/smtp_decode.c mail/smtp_decode.h \
	mail/smtp_server_io.c mail/smtp_server_io.h \
	mail/smtp_server_reply.c mail/smtp_server_reply.h

pkglibexec_PROGRAMS += smtpd/smtpd
smtpd_smtpd_SOURCES = \
	smtpd/smtpd.c smtpd/smtpd.h \
	smtpd/smtpd_session.c \
	smtpd/smtpd_reply.c \
	smtpd/smtpd_helo.c \
	smtpd/smtpd_mail.c \
	smtpd/smtpd_data.c \
	smtpd/smtpd_tls.c \
	smtpd/smtpd_sasl.c \
	smtpd/smtpd_check.c \
	smtpd/smtpd_peer.c \
	smtpd/smtpd_net.c smtpd/smtpd_net.h
smtpd_smtpd_CFLAGS = $(AM_CFLAGS) $(SSL_CFLAGS)
smtpd_smtpd_LDADD = $(TERN_LIBS)

dist_man_MANS += man/smtpd.8

check_PROGRAMS += tests/unit/test_smtp_cmd tests/unit/test_smtp_decode tests/unit/test_smtpd_net
TESTS += tests/unit/test_smtp_cmd tests/unit/test_smtp_decode tests/unit/test_smtpd_net
tests_unit_test_smtp_cmd_SOURCES = tests/unit/test_smtp_cmd.c
tests_unit_test_smtp_cmd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_smtp_cmd_LDADD = $(UNIT_LIBS)
tests_unit_test_smtp_decode_SOURCES = tests/unit/test_smtp_decode.c
tests_unit_test_smtp_decode_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_smtp_decode_LDADD = $(UNIT_LIBS)
tests_unit_test_smtpd_net_SOURCES = tests/unit/test_smtpd_net.c \
	smtpd/smtpd_net.c smtpd/smtpd_net.h
tests_unit_test_smtpd_net_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_smtpd_net_LDADD = $(UNIT_LIBS)

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_smtp_cmd
tests_fuzz_fuzz_smtp_cmd_SOURCES = tests/fuzz/fuzz_smtp_cmd.c \
	mail/smtp_cmd.c mail/smtp_esmtp.c mail/smtp_decode.c mail/address.c
tests_fuzz_fuzz_smtp_cmd_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_smtp_cmd_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_smtp_cmd_LDADD = $(TERN_LIBS)
endif

EXTRA_DIST += \
	tests/integration/smtp_helpers.py \
	tests/integration/test_smtpd.py \
	tests/integration/test_smtpd_relay.py \
	tests/integration/test_smtpd_limits.py \
	tests/integration/test_smtpd_tls_auth.py \
	tests/integration/test_smtpd_clients.py \
	tests/integration/test_smtpd_queue.py \
	bench/smtpd_accept.sh
