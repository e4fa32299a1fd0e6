# pickup: fragment of Makefile.am
