# anvil: fragment of Makefile.am
