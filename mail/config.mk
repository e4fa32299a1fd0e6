# mail: fragment of Makefile.am -- configuration: main.cf syntax, the
# parameter table, master.cf, and ternconf.
util_libtern_util_a_SOURCES += \
	util/config.c util/config.h

mail_libtern_mail_a_SOURCES += \
	mail/mail_params.c \
	mail/mail_conf.c mail/mail_conf.h \
	mail/master_conf.c mail/master_conf.h

sbin_PROGRAMS += tools/ternconf/ternconf
tools_ternconf_ternconf_SOURCES = \
	tools/ternconf/ternconf.c tools/ternconf/ternconf.h \
	tools/ternconf/ternconf_edit.c \
	tools/ternconf/ternconf_man.c
tools_ternconf_ternconf_LDADD = $(TERN_LIBS)

check_PROGRAMS += tests/unit/test_config tests/unit/test_mail_conf tests/unit/test_master_conf
TESTS += tests/unit/test_config tests/unit/test_mail_conf tests/unit/test_master_conf
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LIBS)
tests_unit_test_mail_conf_SOURCES = tests/unit/test_mail_conf.c
tests_unit_test_mail_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mail_conf_LDADD = $(UNIT_LIBS)
tests_unit_test_master_conf_SOURCES = tests/unit/test_master_conf.c
tests_unit_test_master_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_master_conf_LDADD = $(UNIT_LIBS)

dist_man_MANS += man/ternconf.1 man/main.cf.5 man/master.cf.5

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_config
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c \
	util/config.c mail/mail_params.c mail/mail_conf.c mail/master_conf.c
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_config_LDADD = $(TERN_LIBS)
endif
