# util/ maps and files: safe file replacement, type:name lookup tables, TLS helpers;
# the ternmap command.
util_libtern_util_a_SOURCES += \
	util/safe_file.c util/safe_file.h \
	util/dict.c util/dict.h util/dict_impl.h \
	util/dict_texthash.c \
	util/dict_db.c \
	util/tls.c util/tls.h \
	util/tls_cert.c

check_PROGRAMS += tests/unit/test_safe_file tests/unit/test_dict tests/unit/test_tls
TESTS += tests/unit/test_safe_file tests/unit/test_dict tests/unit/test_tls
tests_unit_test_safe_file_SOURCES = tests/unit/test_safe_file.c
tests_unit_test_safe_file_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_safe_file_LDADD = $(UNIT_LIBS)
tests_unit_test_dict_SOURCES = tests/unit/test_dict.c
tests_unit_test_dict_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dict_LDADD = $(UNIT_LIBS)
tests_unit_test_tls_SOURCES = tests/unit/test_tls.c
tests_unit_test_tls_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tls_LDADD = $(UNIT_LIBS)

sbin_PROGRAMS += tools/ternmap/ternmap
tools_ternmap_ternmap_SOURCES = tools/ternmap/ternmap.c
tools_ternmap_ternmap_LDADD = $(TERN_LIBS)
dist_man_MANS += man/ternmap.1
