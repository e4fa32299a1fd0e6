# tests/integration: fragment of Makefile.am - the pytest fixtures and the
# tests of master and ternctl (run by tests/run against the installed tree),
# and the connect-latency benchmark.
EXTRA_DIST += \
	tests/integration/conftest.py \
	tests/integration/test_master.py \
	tests/integration/test_ternctl.py \
	tests/integration/test_ternconf.py \
	tests/integration/test_ternmap.py \
	bench/connect_latency.py
