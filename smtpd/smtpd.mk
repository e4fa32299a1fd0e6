# smtpd: fragment of Makefile.am
