# pickup: fragment of Makefile.am - local submission: the maildrop file
# format (mail), sendmail(1) and its set-group-ID helper postdrop(1), the
# pickup daemon, their man pages, unit tests and integration test.
mail_libtern_mail_a_SOURCES += \
	mail/maildrop.c mail/maildrop.h

sbin_PROGRAMS += tools/sendmail/sendmail tools/postdrop/postdrop
tools_sendmail_sendmail_SOURCES = \
	tools/sendmail/sendmail.c tools/sendmail/sendmail.h \
	tools/sendmail/sendmail_addr.c \
	tools/sendmail/sendmail_input.c \
	tools/sendmail/sendmail_post.c \
	tools/sendmail/sendmail_queue.c
tools_sendmail_sendmail_LDADD = $(TERN_LIBS)
tools_postdrop_postdrop_SOURCES = tools/postdrop/postdrop.c
tools_postdrop_postdrop_LDADD = $(TERN_LIBS)

pkglibexec_PROGRAMS += pickup/pickup
pickup_pickup_SOURCES = \
	pickup/pickup.c pickup/pickup.h \
	pickup/pickup_file.c
pickup_pickup_LDADD = $(TERN_LIBS)

dist_man_MANS += man/sendmail.1 man/postdrop.1 man/pickup.8

# postdrop is set-group-ID to the group terndrop (the default setgid_group)
# when "make install" runs as root and that group exists; otherwise it is
# installed as an ordinary program, which serves a maildrop directory that
# its users may write to (tests, an unprivileged demo). Create the group
# (groupadd --system terndrop) before installing as root to get the usual
# setup, or later: chgrp terndrop postdrop && chmod 2755 postdrop.
TERN_SETGID_GROUP = terndrop
install-exec-hook: install-exec-hook-postdrop
install-exec-hook-postdrop:
	@if test "`id -u`" = 0 && getent group $(TERN_SETGID_GROUP) >/dev/null 2>&1; then \
		echo " chgrp $(TERN_SETGID_GROUP) + chmod 2755 $(DESTDIR)$(sbindir)/postdrop"; \
		chgrp $(TERN_SETGID_GROUP) "$(DESTDIR)$(sbindir)/postdrop" && \
		chmod 2755 "$(DESTDIR)$(sbindir)/postdrop"; \
	else \
		echo " postdrop: not made set-group-ID $(TERN_SETGID_GROUP) (needs root and that group)"; \
	fi
.PHONY: install-exec-hook-postdrop

check_PROGRAMS += tests/unit/test_maildrop
TESTS += tests/unit/test_maildrop
tests_unit_test_maildrop_SOURCES = tests/unit/test_maildrop.c \
	tools/sendmail/sendmail_addr.c tools/sendmail/sendmail_input.c
tests_unit_test_maildrop_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildrop_LDADD = $(UNIT_LIBS)

EXTRA_DIST += tests/integration/test_sendmail.py

if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_maildrop
tests_fuzz_fuzz_maildrop_SOURCES = tests/fuzz/fuzz_maildrop.c mail/maildrop.c
tests_fuzz_fuzz_maildrop_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_maildrop_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_maildrop_LDADD = $(TERN_LIBS)
endif
