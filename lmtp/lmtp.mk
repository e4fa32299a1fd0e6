# lmtp: the LMTP server (RFC 2033), the one door into the mailbox store.
