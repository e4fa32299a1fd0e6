# cleanup: fragment of Makefile.am
