# qmgr: fragment of Makefile.am
