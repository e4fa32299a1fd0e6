# smtp: fragment of Makefile.am
