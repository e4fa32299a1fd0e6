# cleanup: fragment of Makefile.am - queue files (format, reader, writer,
# queue IDs), the RFC 5322 header parser, the cleanup client library, the
# cleanup daemon, its man page and tests.
mail_libtern_mail_a_SOURCES += \
	mail/queue_id.c mail/queue_id.h \
	mail/queue_file.c mail/queue_file.h \
	mail/queue_read.c \
	mail/queue_mark.c \
	mail/queue_writer.c mail/queue_writer.h \
	mail/header.c mail/header.h \
	mail/cleanup_client.c mail/cleanup_client.h

pkglibexec_PROGRAMS += cleanup/cleanup
cleanup_cleanup_SOURCES = \
	cleanup/cleanup.c cleanup/cleanup.h \
	cleanup/cleanup_envelope.c \
	cleanup/cleanup_message.c \
	cleanup/cleanup_addhdr.c \
	cleanup/cleanup_finish.c
cleanup_cleanup_LDADD = $(TERN_LIBS)

dist_man_MANS += man/cleanup.8

check_PROGRAMS += tests/unit/test_queue_file tests/unit/test_header \
	tests/unit/test_cleanup_client
TESTS += tests/unit/test_queue_file tests/unit/test_header tests/unit/test_cleanup_client
tests_unit_test_queue_file_SOURCES = tests/unit/test_queue_file.c
tests_unit_test_queue_file_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_queue_file_LDADD = $(UNIT_LIBS)
tests_unit_test_header_SOURCES = tests/unit/test_header.c
tests_unit_test_header_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_header_LDADD = $(UNIT_LIBS)
tests_unit_test_cleanup_client_SOURCES = tests/unit/test_cleanup_client.c
tests_unit_test_cleanup_client_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cleanup_client_LDADD = $(UNIT_LIBS)

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_queue_file
tests_fuzz_fuzz_queue_file_SOURCES = tests/fuzz/fuzz_queue_file.c \
	mail/queue_file.c mail/queue_read.c
tests_fuzz_fuzz_queue_file_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_queue_file_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_queue_file_LDADD = $(TERN_LIBS)
endif

EXTRA_DIST += tests/integration/test_cleanup.py tests/integration/queue_file.py

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_header
tests_fuzz_fuzz_header_SOURCES = tests/fuzz/fuzz_header.c mail/header.c
tests_fuzz_fuzz_header_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_header_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_header_LDADD = $(TERN_LIBS)
endif
