# util/ IPC: buffered streams and the attribute codec.
util_libtern_util_a_SOURCES += \
	util/stream.c util/stream.h \
	util/attr.h util/attr_encode.c util/attr_decode.c util/attr_io.c

check_PROGRAMS += tests/unit/test_stream tests/unit/test_attr
TESTS += tests/unit/test_stream tests/unit/test_attr
tests_unit_test_stream_SOURCES = tests/unit/test_stream.c
tests_unit_test_stream_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_stream_LDADD = $(UNIT_LIBS)
tests_unit_test_attr_SOURCES = tests/unit/test_attr.c
tests_unit_test_attr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_attr_LDADD = $(UNIT_LIBS)

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_attr
tests_fuzz_fuzz_attr_SOURCES = tests/fuzz/fuzz_attr.c \
	util/attr_encode.c util/attr_decode.c
tests_fuzz_fuzz_attr_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_attr_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_attr_LDADD = $(TERN_LIBS)
endif
