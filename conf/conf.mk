# conf/: default configuration files and init scripts.
#
# Pristine copies of main.cf and master.cf are installed in $(pkgdatadir); the
# live copies in $(sysconfdir)/tern are created only when missing, so that an
# upgrade never overwrites an administrator's configuration. Uninstall removes
# a live copy only while it is still identical to the pristine one.

ternconfdir = $(sysconfdir)/tern
dist_pkgdata_DATA = conf/main.cf conf/master.cf

systemdsystemunitdir = $(prefix)/lib/systemd/system
systemdsystemunit_DATA = conf/tern.service
initddir = $(sysconfdir)/init.d
initd_SCRIPTS = conf/tern
rcddir = $(pkgdatadir)/rc.d
rcd_SCRIPTS = conf/rc.d/tern

EXTRA_DIST += conf/tern.service.in conf/tern.init.in conf/tern.rc.in
CLEANFILES += conf/tern.service conf/tern conf/rc.d/tern

conf_edit = sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g'

conf/tern.service: $(srcdir)/conf/tern.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && $(conf_edit) $(srcdir)/conf/tern.service.in > $@
conf/tern: $(srcdir)/conf/tern.init.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && $(conf_edit) $(srcdir)/conf/tern.init.in > $@ && chmod +x $@
conf/rc.d/tern: $(srcdir)/conf/tern.rc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/rc.d && $(conf_edit) $(srcdir)/conf/tern.rc.in > $@ && chmod +x $@

install-data-local:
	$(MKDIR_P) $(DESTDIR)$(ternconfdir)
	for f in main.cf master.cf; do \
		test -f $(DESTDIR)$(ternconfdir)/$$f || \
			$(INSTALL_DATA) $(srcdir)/conf/$$f $(DESTDIR)$(ternconfdir)/$$f; \
	done

uninstall-local:
	for f in main.cf master.cf; do \
		if cmp -s $(srcdir)/conf/$$f $(DESTDIR)$(ternconfdir)/$$f; then \
			rm -f $(DESTDIR)$(ternconfdir)/$$f; \
		fi; \
	done
	-rmdir $(DESTDIR)$(ternconfdir) 2>/dev/null
