# mail/: the MIME parser (mime.h): structure, ENVELOPE and BODYSTRUCTURE, text for search.
