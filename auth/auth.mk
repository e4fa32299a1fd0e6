# auth: fragment of Makefile.am - base64 (util), the SASL server library and
# the auth protocol client (mail), the auth daemon, its man page, unit tests,
# fuzz harness, integration test and benchmark.
util_libtern_util_a_SOURCES += \
	util/base64.c util/base64.h

mail_libtern_mail_a_SOURCES += \
	mail/sasl.c mail/sasl.h \
	mail/sasl_plain.c \
	mail/sasl_login.c \
	mail/auth_client.c mail/auth_client.h

pkglibexec_PROGRAMS += auth/auth
auth_auth_SOURCES = \
	auth/auth.c auth/auth.h \
	auth/auth_conn.c \
	auth/auth_request.c \
	auth/auth_sasl.c \
	auth/auth_lookup.c \
	auth/auth_penalty.c auth/auth_penalty.h \
	auth/auth_verify.c auth/auth_verify.h
auth_auth_CFLAGS = $(AM_CFLAGS) -pthread
auth_auth_LDFLAGS = -pthread
auth_auth_LDADD = $(TERN_LIBS)

dist_man_MANS += man/auth.8

check_PROGRAMS += tests/unit/test_base64 tests/unit/test_sasl tests/unit/test_auth_client \
	tests/unit/test_auth_penalty
TESTS += tests/unit/test_base64 tests/unit/test_sasl tests/unit/test_auth_client \
	tests/unit/test_auth_penalty
tests_unit_test_base64_SOURCES = tests/unit/test_base64.c
tests_unit_test_base64_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_base64_LDADD = $(UNIT_LIBS)
tests_unit_test_sasl_SOURCES = tests/unit/test_sasl.c
tests_unit_test_sasl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sasl_LDADD = $(UNIT_LIBS)
tests_unit_test_auth_client_SOURCES = tests/unit/test_auth_client.c
tests_unit_test_auth_client_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_client_LDADD = $(UNIT_LIBS)
tests_unit_test_auth_penalty_SOURCES = tests/unit/test_auth_penalty.c \
	auth/auth_penalty.c auth/auth_penalty.h
tests_unit_test_auth_penalty_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_penalty_LDADD = $(UNIT_LIBS)

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_sasl
tests_fuzz_fuzz_sasl_SOURCES = tests/fuzz/fuzz_sasl.c \
	mail/sasl.c mail/sasl_plain.c mail/sasl_login.c util/base64.c \
	auth/auth_request.c
tests_fuzz_fuzz_sasl_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_sasl_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_sasl_LDADD = $(TERN_LIBS)
endif

EXTRA_DIST += \
	tests/integration/test_auth.py \
	bench/auth_bench.py
