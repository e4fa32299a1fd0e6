# imap/: the IMAP protocol core (no I/O, no store): command parser, argument
# readers, FETCH items, sequence sets, modified UTF-7, search programs, writers.
noinst_LIBRARIES += imap/libtern_imap.a
imap_libtern_imap_a_SOURCES = \
	imap/imap_parser.c imap/imap_parser.h \
	imap/imap_arg.c imap/imap_arg.h \
	imap/imap_date.c imap/imap_date.h \
	imap/imap_mailbox.c imap/imap_mailbox.h \
	imap/imap_seqset.c imap/imap_seqset.h \
	imap/imap_utf7.c imap/imap_utf7.h \
	imap/imap_search.c imap/imap_search.h \
	imap/imap_write.c imap/imap_write.h \
	imap/imap_subject.c imap/imap_subject.h \
	imap/imap_fetch.c imap/imap_fetch.h
imap_libtern_imap_a_CFLAGS = $(AM_CFLAGS)

# For the IMAP programs: before $(TERN_LIBS).
IMAP_LIBS = imap/libtern_imap.a

IMAP_UNIT_TESTS = tests/unit/test_imap_parser tests/unit/test_imap_arg \
	tests/unit/test_imap_seqset tests/unit/test_imap_utf7 tests/unit/test_imap_search \
	tests/unit/test_imap_write tests/unit/test_imap_fetch
check_PROGRAMS += $(IMAP_UNIT_TESTS)
TESTS += $(IMAP_UNIT_TESTS)
tests_unit_test_imap_parser_SOURCES = tests/unit/test_imap_parser.c
tests_unit_test_imap_parser_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_parser_LDADD = $(IMAP_LIBS) $(UNIT_LIBS)
tests_unit_test_imap_arg_SOURCES = tests/unit/test_imap_arg.c
tests_unit_test_imap_arg_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_arg_LDADD = $(IMAP_LIBS) $(UNIT_LIBS)
tests_unit_test_imap_seqset_SOURCES = tests/unit/test_imap_seqset.c
tests_unit_test_imap_seqset_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_seqset_LDADD = $(IMAP_LIBS) $(UNIT_LIBS)
tests_unit_test_imap_utf7_SOURCES = tests/unit/test_imap_utf7.c
tests_unit_test_imap_utf7_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_utf7_LDADD = $(IMAP_LIBS) $(UNIT_LIBS)
tests_unit_test_imap_search_SOURCES = tests/unit/test_imap_search.c
tests_unit_test_imap_search_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_search_LDADD = $(IMAP_LIBS) $(UNIT_LIBS)
tests_unit_test_imap_write_SOURCES = tests/unit/test_imap_write.c
tests_unit_test_imap_write_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_write_LDADD = $(IMAP_LIBS) $(UNIT_LIBS)
tests_unit_test_imap_fetch_SOURCES = tests/unit/test_imap_fetch.c
tests_unit_test_imap_fetch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_imap_fetch_LDADD = $(IMAP_LIBS) $(UNIT_LIBS)

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_imap_parser tests/fuzz/fuzz_imap_search
tests_fuzz_fuzz_imap_parser_SOURCES = tests/fuzz/fuzz_imap_parser.c \
	imap/imap_parser.c imap/imap_arg.c imap/imap_date.c imap/imap_mailbox.c \
	imap/imap_utf7.c imap/imap_write.c imap/imap_fetch.c
tests_fuzz_fuzz_imap_parser_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_imap_parser_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_imap_parser_LDADD = $(TERN_LIBS)
tests_fuzz_fuzz_imap_search_SOURCES = tests/fuzz/fuzz_imap_search.c \
	imap/imap_parser.c imap/imap_arg.c imap/imap_date.c imap/imap_mailbox.c \
	imap/imap_utf7.c imap/imap_seqset.c imap/imap_search.c imap/imap_write.c \
	imap/imap_subject.c
tests_fuzz_fuzz_imap_search_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_imap_search_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_imap_search_LDADD = $(TERN_LIBS)
endif
