# smtp: fragment of Makefile.am -- the DNS resolver (util/dns*), the smtp
# delivery agent (SMTP and LMTP client), their tests.
util_libtern_util_a_SOURCES += \
	util/dns.c util/dns.h util/dns_impl.h \
	util/dns_name.c \
	util/dns_packet.c \
	util/dns_server.c \
	util/dns_exchange.c

check_PROGRAMS += tests/unit/test_dns tests/unit/test_dns_exchange tests/unit/test_dns_dnsmasq
TESTS += tests/unit/test_dns tests/unit/test_dns_exchange tests/unit/test_dns_dnsmasq
tests_unit_test_dns_SOURCES = tests/unit/test_dns.c
tests_unit_test_dns_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dns_LDADD = $(UNIT_LIBS)
tests_unit_test_dns_exchange_SOURCES = tests/unit/test_dns_exchange.c
tests_unit_test_dns_exchange_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dns_exchange_LDADD = $(UNIT_LIBS)
tests_unit_test_dns_dnsmasq_SOURCES = tests/unit/test_dns_dnsmasq.c
tests_unit_test_dns_dnsmasq_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dns_dnsmasq_LDADD = $(UNIT_LIBS)

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_dns
tests_fuzz_fuzz_dns_SOURCES = tests/fuzz/fuzz_dns.c \
	util/dns.c util/dns_name.c util/dns_packet.c
tests_fuzz_fuzz_dns_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_dns_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_dns_LDADD = $(TERN_LIBS)
endif

EXTRA_DIST += mail/deliver_proto.h
pkglibexec_PROGRAMS += smtp/smtp
smtp_smtp_SOURCES = \
	smtp/smtp.c smtp/smtp.h \
	smtp/smtp_deliver.c \
	smtp/smtp_resolve.c \
	smtp/smtp_session.c \
	smtp/smtp_trans.c \
	smtp/smtp_status.c \
	smtp/smtp_reply.c \
	smtp/smtp_content.c \
	smtp/smtp_sasl.c
smtp_smtp_LDADD = $(TERN_LIBS)
dist_man_MANS += man/smtp.8

check_PROGRAMS += tests/unit/test_smtp_reply tests/unit/test_smtp_content \
	tests/unit/test_smtp_resolve
TESTS += tests/unit/test_smtp_reply tests/unit/test_smtp_content tests/unit/test_smtp_resolve
tests_unit_test_smtp_reply_SOURCES = tests/unit/test_smtp_reply.c smtp/smtp_reply.c smtp/smtp.h
tests_unit_test_smtp_reply_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_smtp_reply_LDADD = $(UNIT_LIBS)
tests_unit_test_smtp_content_SOURCES = tests/unit/test_smtp_content.c smtp/smtp_content.c \
	smtp/smtp.h
tests_unit_test_smtp_content_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_smtp_content_LDADD = $(UNIT_LIBS)
tests_unit_test_smtp_resolve_SOURCES = tests/unit/test_smtp_resolve.c smtp/smtp_resolve.c \
	smtp/smtp.h
tests_unit_test_smtp_resolve_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_smtp_resolve_LDADD = $(UNIT_LIBS)

EXTRA_DIST += \
	tests/integration/dns_helpers.py \
	tests/integration/test_smtp_client.py
