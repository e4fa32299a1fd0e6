# store/: the mailbox store library (store.h): per-user SQLite index and blobs.
store_libtern_store_a_SOURCES += \
	store/store.h store/store_impl.h \
	store/store.c \
	store/store_sql.c \
	store/store_name.c \
	store/store_mailbox.c \
	store/store_blob.c \
	store/store_append.c \
	store/store_message.c \
	store/store_search.c \
	store/store_gc.c

check_PROGRAMS += tests/unit/test_store tests/unit/test_store_concurrency
TESTS += tests/unit/test_store tests/unit/test_store_concurrency
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/test_store_util.h
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_store_LDADD = $(STORE_LIBS) $(UNIT_LIBS)
tests_unit_test_store_concurrency_SOURCES = tests/unit/test_store_concurrency.c \
	tests/unit/test_store_util.h
tests_unit_test_store_concurrency_CFLAGS = $(UNIT_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_store_concurrency_LDADD = $(STORE_LIBS) $(UNIT_LIBS)
