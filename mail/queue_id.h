/*
 * queue_id - queue IDs: unique, sortable by arrival time, safe as file names.
 *
 * A queue ID is the arrival time in microseconds since the epoch, written as
 * QUEUE_ID_TIME_LEN characters in base 32, then the inode number of the
 * queue file in base 32 (1 to 13 characters). The digits are
 *
 *	0123456789ABCDEFGHJKMNPQRSTVWXYZ
 *
 * (no I, L, O, U), in ASCII order, so that comparing two IDs with strcmp()
 * orders them by arrival time (the time part has a fixed width). An inode
 * number belongs to one file at a time on a file system, so two queue files
 * that exist at the same moment never share an ID, whichever process or
 * host boot made them, as long as the queue lives on one file system.
 * Example: "1NV0J3K6Q2W7G4F" (12 or more characters, at most
 * QUEUE_ID_MAX_LEN). Every log line about a message starts with "QID: ".
 */
#ifndef TERN_QUEUE_ID_H
#define TERN_QUEUE_ID_H

#include <stdbool.h>
#include <stddef.h>

#define QUEUE_ID_TIME_LEN 11 /* base-32 digits of the time: enough until the year 3112 */
#define QUEUE_ID_INO_MAX 13  /* base-32 digits of a 64-bit inode number */
#define QUEUE_ID_MAX_LEN (QUEUE_ID_TIME_LEN + QUEUE_ID_INO_MAX)
#define QUEUE_ID_SIZE 32 /* a buffer for any queue ID and its NUL */

/* queue_id_make - the ID for arrival time usec (>= 0) and inode number ino, into buf. */
void queue_id_make(char buf[QUEUE_ID_SIZE], long long usec, unsigned long long ino);

/* queue_id_valid - whether name has the form of a queue ID (so qmgr may take such a file). */
bool queue_id_valid(const char *name);

/* queue_id_time - the arrival time of a valid ID in microseconds; 0, or -1 when not valid. */
int queue_id_time(const char *id, long long *usec_r);

#endif
