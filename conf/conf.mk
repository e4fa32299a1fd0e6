# conf: fragment of Makefile.am
