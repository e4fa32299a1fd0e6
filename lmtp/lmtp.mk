# lmtp: the LMTP server (RFC 2033), the one door into the mailbox store;
# its man page, the unit test of its content spool and Received: parser,
# and its integration tests.
pkglibexec_PROGRAMS += lmtp/lmtp
lmtp_lmtp_SOURCES = \
	lmtp/lmtp.c lmtp/lmtp.h \
	lmtp/lmtp_session.c \
	lmtp/lmtp_reply.c \
	lmtp/lmtp_cmd.c \
	lmtp/lmtp_rcpt.c \
	lmtp/lmtp_data.c \
	lmtp/lmtp_deliver.c \
	lmtp/lmtp_stores.c lmtp/lmtp_stores.h \
	lmtp/lmtp_content.c lmtp/lmtp_content.h \
	lmtp/lmtp_filter.c lmtp/lmtp_filter.h
lmtp_lmtp_LDADD = $(STORE_LIBS) $(TERN_LIBS)

dist_man_MANS += man/lmtp.8

check_PROGRAMS += tests/unit/test_lmtp_content
TESTS += tests/unit/test_lmtp_content
tests_unit_test_lmtp_content_SOURCES = tests/unit/test_lmtp_content.c \
	lmtp/lmtp_content.c lmtp/lmtp_content.h
tests_unit_test_lmtp_content_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lmtp_content_LDADD = $(UNIT_LIBS)

EXTRA_DIST += \
	tests/integration/lmtp_helpers.py \
	tests/integration/test_lmtp.py \
	tests/integration/test_lmtp_clients.py \
	tests/integration/test_lmtp_store.py \
	bench/lmtp_vs_dovecot.sh \
	bench/dovecot_instance.sh
