# mail: fragment of Makefile.am
