/*
 * queue_writer - write a new queue file so that it shows up in its
 * directory (incoming/) only when it is complete and on disk.
 *
 * The file is made without a name (O_TMPFILE) where the system allows it,
 * otherwise under a temporary name that starts with QUEUE_TEMP_PREFIX.
 * Records are buffered (one write(2) per QUEUE_WRITE_CHUNK bytes, and the
 * Z record, whose numbers are known only at the end, is patched in the
 * buffer while it is still there, else with one pwrite). Commit writes
 * the E record, fdatasyncs the file, gives it its queue ID as name (link
 * of the unnamed file, or rename of the temporary one, never replacing
 * an existing file), and fsyncs the directory: only then is the message
 * acknowledged. So per message there is one fdatasync and one directory
 * fsync.
 *
 * What a crash leaves. A process killed before commit leaves nothing
 * (unnamed file: the kernel frees it) or a temporary file whose name
 * starts with QUEUE_TEMP_PREFIX: a name that is not a queue ID, which
 * qmgr never takes (it takes only names for which queue_id_valid() is
 * true). The writer holds an flock(2) lock on its temporary file until it
 * is renamed or removed; queue_temp_sweep() removes temporary files whose
 * lock is free (their writer is gone), for qmgr at its start and for
 * "ternctl check". A file that has its queue ID as name is complete.
 *
 * Write errors are remembered and reported by queue_writer_commit(); the
 * record functions themselves do not fail. Using the functions out of the
 * order of queue_file.h (envelope, content, extracted) is a programming
 * error (msg_panic).
 */
#ifndef TERN_QUEUE_WRITER_H
#define TERN_QUEUE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define QUEUE_TEMP_PREFIX ".tmp."
#define QUEUE_WRITE_CHUNK 65536 /* bytes buffered before a write(2) */

/* How queue_writer_create() makes the file; queue_writer_probe() picks one. */
#define QUEUE_WRITER_NAMED 0x1u	     /* a temporary name, renamed at commit */
#define QUEUE_WRITER_EMPTY_PATH 0x2u /* unnamed, linked with linkat(AT_EMPTY_PATH) */
/* neither: unnamed, linked through /proc/self/fd */

struct queue_writer;

/*
 * queue_writer_probe - the best way to make queue files in the directory
 * dirfd on this system: unnamed files when O_TMPFILE and a way to link
 * them work there, else named temporary files. Call it once per process.
 */
unsigned queue_writer_probe(int dirfd);

/*
 * queue_writer_create - start a queue file in dirfd (flags from
 * queue_writer_probe()). The arrival time is now; the queue ID is made from
 * it and the file's inode. The V, Z (placeholder) and T records are
 * written. NULL with *error_r when the file cannot be made; *errno_r
 * (may be NULL) then holds the errno (ENOSPC: the disk is full).
 */
struct queue_writer *queue_writer_create(int dirfd, unsigned flags, int *errno_r, char **error_r);

/* queue_writer_id - the queue ID. */
const char *queue_writer_id(const struct queue_writer *w);
/* queue_writer_arrival - the arrival time. */
struct timespec queue_writer_arrival(const struct queue_writer *w);

/* Envelope: any record of the envelope other than V, Z, T, R (S, F, I, P, A). */
void queue_writer_rec(struct queue_writer *w, int type, const void *data, size_t len);
/* queue_writer_attr - an A record "name=value" (envelope or extracted section). */
void queue_writer_attr(struct queue_writer *w, const char *name, const char *value);
/* queue_writer_rcpt - an R record. */
void queue_writer_rcpt(struct queue_writer *w, const char *address, const char *orcpt,
		       unsigned notify);
/* queue_writer_nrcpt - R records written. */
long long queue_writer_nrcpt(const struct queue_writer *w);

/* queue_writer_content - end the envelope: the M record. */
void queue_writer_content(struct queue_writer *w);
/*
 * queue_writer_line - len bytes of a content line (no line ending; no
 * LF); last: they end the line. A line may come in any number of calls.
 */
void queue_writer_line(struct queue_writer *w, const void *data, size_t len, bool last);
/* queue_writer_body - the next line begins the body (at a line boundary). */
void queue_writer_body(struct queue_writer *w);
/* queue_writer_size - message bytes so far (each finished line with CRLF). */
long long queue_writer_size(const struct queue_writer *w);

/* queue_writer_extracted - end the content: the X record (then A records). */
void queue_writer_extracted(struct queue_writer *w);

/*
 * queue_writer_commit - finish the file (E record, Z patched), fdatasync
 * it, name it with its queue ID, fsync the directory. 0 when the message
 * is safely in the queue; -1 with *error_r (and *errno_r, may be NULL)
 * when not, and then nothing is left in the directory.
 */
int queue_writer_commit(struct queue_writer *w, int *errno_r, char **error_r);

/* queue_writer_free - close; a file not committed is removed. Sets *w NULL. */
void queue_writer_free(struct queue_writer **w);

/*
 * queue_temp_sweep - remove the temporary files in dirfd that no writer
 * holds (their lock is free) and that were last changed at least min_age
 * seconds ago (a margin against a writer between creating and locking its
 * file; 60 is plenty). *removed_r (may be NULL) counts them. 0, or -1
 * with *error_r when the directory cannot be read.
 */
int queue_temp_sweep(int dirfd, time_t min_age, unsigned *removed_r, char **error_r);

#endif
