# master: fragment of Makefile.am
