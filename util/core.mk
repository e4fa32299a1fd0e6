# util/ core: allocation, logging, growable strings.
util_libtern_util_a_SOURCES += \
	util/mymalloc.c util/mymalloc.h \
	util/msg.c util/msg.h \
	util/strbuf.c util/strbuf.h

check_PROGRAMS += tests/unit/test_strbuf
TESTS += tests/unit/test_strbuf
tests_unit_test_strbuf_SOURCES = tests/unit/test_strbuf.c
tests_unit_test_strbuf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_strbuf_LDADD = $(UNIT_LIBS)
