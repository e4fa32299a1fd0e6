# master: fragment of Makefile.am - the event loop and sockets (util), the
# master/child contract and the daemon skeleton (mail), the master
# supervisor, the health service, ternctl, their man pages and unit tests.
util_libtern_util_a_SOURCES += \
	util/event.c util/event.h \
	util/sock.c util/sock.h

mail_libtern_mail_a_SOURCES += \
	mail/master_proto.c mail/master_proto.h \
	mail/daemon.c mail/daemon.h

pkglibexec_PROGRAMS += master/master health/health
master_master_SOURCES = \
	master/master.c master/master.h \
	master/master_service.c \
	master/master_child.c \
	master/master_throttle.c \
	master/master_wakeup.c \
	master/master_signal.c \
	master/master_pid.c
master_master_LDADD = $(TERN_LIBS)
health_health_SOURCES = health/health.c
health_health_LDADD = $(TERN_LIBS)

sbin_PROGRAMS += tools/ternctl/ternctl
tools_ternctl_ternctl_SOURCES = \
	tools/ternctl/ternctl.c tools/ternctl/ternctl.h \
	tools/ternctl/ternctl_check.c \
	tools/ternctl/ternctl_manifest.c
tools_ternctl_ternctl_LDADD = $(TERN_LIBS)

dist_man_MANS += man/master.8 man/ternctl.1

# The manifest of directories that ternctl check creates, installed in
# $(pkgdatadir), the default meta_directory (conf/conf.mk owns
# dist_pkgdata_DATA, hence a directory variable of its own).
manifestdir = $(pkgdatadir)
dist_manifest_DATA = conf/tern.manifest

check_PROGRAMS += tests/unit/test_event tests/unit/test_sock
TESTS += tests/unit/test_event tests/unit/test_sock
tests_unit_test_event_SOURCES = tests/unit/test_event.c
tests_unit_test_event_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_event_LDADD = $(UNIT_LIBS)
tests_unit_test_sock_SOURCES = tests/unit/test_sock.c
tests_unit_test_sock_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sock_LDADD = $(UNIT_LIBS)
