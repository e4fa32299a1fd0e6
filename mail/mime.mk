# mail/: the MIME parser (mime.h): structure, ENVELOPE and BODYSTRUCTURE, text for search.
MIME_SOURCES = \
	mail/mime.c mail/mime.h mail/mime_impl.h \
	mail/mime_field.c \
	mail/mime_words.c \
	mail/mime_charset.c \
	mail/mime_address.c \
	mail/mime_date.c \
	mail/mime_envelope.c \
	mail/mime_text.c \
	mail/mime_imap.c \
	mail/mime_partmap.c
mail_libtern_mail_a_SOURCES += $(MIME_SOURCES)
EXTRA_DIST += \
	tests/data/mime/torture.eml \
	tests/data/mime/no-blank-line.eml \
	tests/data/mime/header-only.eml \
	tests/data/mime/missing-close.eml \
	tests/data/mime/boundary-never.eml \
	tests/data/mime/empty-multipart.eml \
	tests/data/mime/lf-only.eml \
	tests/data/mime/nul-bytes.eml \
	tests/data/mime/8bit-header.eml

check_PROGRAMS += tests/unit/test_mime tests/unit/test_mime_decode
TESTS += tests/unit/test_mime tests/unit/test_mime_decode
tests_unit_test_mime_SOURCES = tests/unit/test_mime.c \
	tests/unit/test_mime_check.c tests/unit/test_mime_check.h
tests_unit_test_mime_CFLAGS = $(UNIT_CFLAGS) -DMIME_TESTDATA='"$(abs_top_srcdir)/tests/data/mime"'
tests_unit_test_mime_LDADD = $(UNIT_LIBS)
tests_unit_test_mime_decode_SOURCES = tests/unit/test_mime_decode.c
tests_unit_test_mime_decode_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mime_decode_LDADD = $(UNIT_LIBS)

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_mime
tests_fuzz_fuzz_mime_SOURCES = tests/fuzz/fuzz_mime.c \
	tests/unit/test_mime_check.c tests/unit/test_mime_check.h $(MIME_SOURCES)
tests_fuzz_fuzz_mime_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_mime_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_mime_LDADD = $(TERN_LIBS)
endif
