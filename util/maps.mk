# util: fragment of Makefile.am
