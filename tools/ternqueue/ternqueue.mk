# tools/ternqueue: fragment of Makefile.am -- the per-message status logs,
# bounce and DSN notices, and the ternqueue command.
mail_libtern_mail_a_SOURCES += \
	mail/status_log.c mail/status_log.h \
	mail/bounce.c mail/bounce.h \
	mail/dsn.h mail/dsn_impl.h \
	mail/dsn_compose.c mail/dsn_original.c mail/dsn_send.c mail/dsn_text.c

check_PROGRAMS += tests/unit/test_status_log
TESTS += tests/unit/test_status_log
tests_unit_test_status_log_SOURCES = tests/unit/test_status_log.c
tests_unit_test_status_log_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_status_log_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_dsn
TESTS += tests/unit/test_dsn
tests_unit_test_dsn_SOURCES = tests/unit/test_dsn.c \
	tests/unit/dsn_testlib.c tests/unit/dsn_testlib.h
tests_unit_test_dsn_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dsn_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_bounce
TESTS += tests/unit/test_bounce
tests_unit_test_bounce_SOURCES = tests/unit/test_bounce.c \
	tests/unit/dsn_testlib.c tests/unit/dsn_testlib.h
tests_unit_test_bounce_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_bounce_LDADD = $(UNIT_LIBS)

sbin_PROGRAMS += tools/ternqueue/ternqueue
tools_ternqueue_ternqueue_SOURCES = \
	tools/ternqueue/ternqueue.c tools/ternqueue/ternqueue.h \
	tools/ternqueue/ternqueue_env.c \
	tools/ternqueue/ternqueue_list.c \
	tools/ternqueue/ternqueue_move.c \
	tools/ternqueue/ternqueue_requeue.c \
	tools/ternqueue/ternqueue_scan.c \
	tools/ternqueue/ternqueue_show.c
tools_ternqueue_ternqueue_LDADD = $(TERN_LIBS)

dist_man_MANS += man/ternqueue.1

EXTRA_DIST += tests/integration/test_ternqueue.py tests/integration/test_dsn_notices.py

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_status_log
tests_fuzz_fuzz_status_log_SOURCES = tests/fuzz/fuzz_status_log.c mail/status_log.c
tests_fuzz_fuzz_status_log_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_status_log_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_status_log_LDADD = $(TERN_LIBS)
endif
