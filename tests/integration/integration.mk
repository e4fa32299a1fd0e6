# tests/integration: fragment of Makefile.am
