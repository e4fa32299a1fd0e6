# mail/: directory, addresses, passwords, SASL; the auth daemon and ternadmin.
