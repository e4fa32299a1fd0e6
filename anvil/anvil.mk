# anvil: fragment of Makefile.am - the anvil protocol client (mail), the
# anvil daemon (per-client connection counts and rates for smtpd), its man
# page, unit tests and integration test.
mail_libtern_mail_a_SOURCES += \
	mail/anvil_client.c mail/anvil_client.h

pkglibexec_PROGRAMS += anvil/anvil
anvil_anvil_SOURCES = \
	anvil/anvil.c anvil/anvil.h \
	anvil/anvil_conn.c \
	anvil/anvil_table.c anvil/anvil_table.h
anvil_anvil_LDADD = $(TERN_LIBS)

dist_man_MANS += man/anvil.8

check_PROGRAMS += tests/unit/test_anvil_table tests/unit/test_anvil_client
TESTS += tests/unit/test_anvil_table tests/unit/test_anvil_client
tests_unit_test_anvil_table_SOURCES = tests/unit/test_anvil_table.c \
	anvil/anvil_table.c anvil/anvil_table.h
tests_unit_test_anvil_table_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_anvil_table_LDADD = $(UNIT_LIBS)
tests_unit_test_anvil_client_SOURCES = tests/unit/test_anvil_client.c \
	anvil/anvil_conn.c anvil/anvil_table.c
tests_unit_test_anvil_client_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_anvil_client_LDADD = $(UNIT_LIBS)

EXTRA_DIST += tests/integration/test_anvil.py
