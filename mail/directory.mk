# mail/: directory, addresses, passwords; the ternadmin command.
mail_libtern_mail_a_SOURCES += \
	mail/address.c mail/address.h \
	mail/password.c mail/password.h \
	mail/directory.c mail/directory.h mail/directory_impl.h \
	mail/directory_write.c \
	mail/dir_internal.c

check_PROGRAMS += tests/unit/test_address tests/unit/test_password tests/unit/test_directory
TESTS += tests/unit/test_address tests/unit/test_password tests/unit/test_directory
tests_unit_test_address_SOURCES = tests/unit/test_address.c
tests_unit_test_address_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_address_LDADD = $(UNIT_LIBS)
tests_unit_test_password_SOURCES = tests/unit/test_password.c
tests_unit_test_password_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_password_LDADD = $(UNIT_LIBS)
tests_unit_test_directory_SOURCES = tests/unit/test_directory.c
tests_unit_test_directory_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_directory_LDADD = $(UNIT_LIBS)

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_address
tests_fuzz_fuzz_address_SOURCES = tests/fuzz/fuzz_address.c mail/address.c
tests_fuzz_fuzz_address_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_address_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_address_LDADD = $(TERN_LIBS)
endif

sbin_PROGRAMS += tools/ternadmin/ternadmin
tools_ternadmin_ternadmin_SOURCES = \
	tools/ternadmin/ternadmin.c tools/ternadmin/ternadmin.h \
	tools/ternadmin/ternadmin_opts.c \
	tools/ternadmin/ternadmin_out.c \
	tools/ternadmin/ternadmin_password.c \
	tools/ternadmin/ternadmin_store.c \
	tools/ternadmin/ternadmin_domain.c \
	tools/ternadmin/ternadmin_user.c \
	tools/ternadmin/ternadmin_alias.c \
	tools/ternadmin/ternadmin_mail.h \
	tools/ternadmin/ternadmin_mailstore.c \
	tools/ternadmin/ternadmin_mailutil.c \
	tools/ternadmin/ternadmin_progress.c \
	tools/ternadmin/ternadmin_maildir.c \
	tools/ternadmin/ternadmin_mbox.c \
	tools/ternadmin/ternadmin_import.c \
	tools/ternadmin/ternadmin_export.c
tools_ternadmin_ternadmin_LDADD = $(STORE_LIBS) $(TERN_LIBS)

dist_man_MANS += man/ternadmin.1
EXTRA_DIST += tests/integration/test_ternadmin.py \
	tests/integration/test_ternadmin_import.py
