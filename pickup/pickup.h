/*
 * pickup - the work of the pickup daemon, apart from the daemon skeleton:
 * scanning the maildrop directory and handing each file to cleanup.
 */
#ifndef TERN_PICKUP_H
#define TERN_PICKUP_H

struct cleanup_client;
struct mail_conf;

/* A file with a final name that ends early is left alone this long (seconds): it may be
 * still being written by something other than postdrop; after that it is corrupt. */
#define PICKUP_WRITING_GRACE 3600
/* Temporary files of postdrop older than this (seconds) are left over from a crash. */
#define PICKUP_TEMP_MAX_AGE 86400

struct pickup {
	char *queue_dir;
	char *maildrop_dir; /* $queue_directory/maildrop */
	char *corrupt_dir;  /* $queue_directory/corrupt */
	char *origin;	    /* $myorigin, normalised, for addresses without a domain */
	long long size_limit;
	int timeout_ms; /* ipc_timeout: for each write to cleanup and each wait for it */
	struct cleanup_client *cleanup; /* during a scan, once a file needed it */
};

/* pickup_init - the settings of conf; fatal when myorigin is not a domain. */
void pickup_init(struct pickup *p, const struct mail_conf *conf);
void pickup_free(struct pickup *p);

/*
 * pickup_scan - hand every complete file now in the maildrop directory to
 * cleanup, oldest first. Stops early when cleanup cannot be reached (the
 * files wait for the next scan).
 */
void pickup_scan(struct pickup *p);

#endif
