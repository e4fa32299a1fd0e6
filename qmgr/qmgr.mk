# qmgr: fragment of Makefile.am -- the queue manager, its man page and tests.
pkglibexec_PROGRAMS += qmgr/qmgr
qmgr_qmgr_SOURCES = \
	qmgr/qmgr.c qmgr/qmgr.h \
	qmgr/qmgr_queue.c \
	qmgr/qmgr_message.c \
	qmgr/qmgr_active.c \
	qmgr/qmgr_split.c \
	qmgr/qmgr_status.c \
	qmgr/qmgr_deliver.c \
	qmgr/qmgr_agent.c qmgr/qmgr_agent.h \
	qmgr/qmgr_sched.c qmgr/qmgr_sched.h \
	qmgr/qmgr_policy.c qmgr/qmgr_policy.h \
	qmgr/qmgr_resolve.c qmgr/qmgr_resolve.h \
	qmgr/qmgr_maps.c qmgr/qmgr_maps.h
qmgr_qmgr_LDADD = $(TERN_LIBS)

dist_man_MANS += man/qmgr.8

check_PROGRAMS += tests/unit/test_qmgr_sched tests/unit/test_qmgr_policy \
	tests/unit/test_qmgr_resolve
TESTS += tests/unit/test_qmgr_sched tests/unit/test_qmgr_policy tests/unit/test_qmgr_resolve
tests_unit_test_qmgr_sched_SOURCES = tests/unit/test_qmgr_sched.c \
	qmgr/qmgr_sched.c qmgr/qmgr_sched.h
tests_unit_test_qmgr_sched_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_qmgr_sched_LDADD = $(UNIT_LIBS)
tests_unit_test_qmgr_policy_SOURCES = tests/unit/test_qmgr_policy.c \
	qmgr/qmgr_policy.c qmgr/qmgr_policy.h
tests_unit_test_qmgr_policy_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_qmgr_policy_LDADD = $(UNIT_LIBS)
tests_unit_test_qmgr_resolve_SOURCES = tests/unit/test_qmgr_resolve.c \
	qmgr/qmgr_resolve.c qmgr/qmgr_resolve.h qmgr/qmgr_maps.c qmgr/qmgr_maps.h
tests_unit_test_qmgr_resolve_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_qmgr_resolve_LDADD = $(UNIT_LIBS)

EXTRA_DIST += tests/integration/test_qmgr.py tests/integration/test_qmgr_crash.py \
	tests/integration/qmgr_helpers.py
