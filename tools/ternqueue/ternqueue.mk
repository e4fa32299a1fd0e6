# tools/ternqueue: fragment of Makefile.am
