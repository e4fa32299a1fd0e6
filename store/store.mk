# store/: the mailbox store library (store.h): per-user SQLite index and blobs.
