/*
 * queue_id - make and check queue IDs (see queue_id.h).
 */
#include <string.h>

#include "mail/queue_id.h"
#include "util/msg.h"

static const char digits32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* digit_value - the value of a base-32 digit, or -1. */
static int digit_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(digits32, c);
	return p != NULL ? (int)(p - digits32) : -1;
}

void queue_id_make(char buf[QUEUE_ID_SIZE], long long usec, unsigned long long ino)
{
	unsigned long long t = (unsigned long long)usec;
	char rev[QUEUE_ID_INO_MAX];
	size_t i, n = 0;

	if (usec < 0 || t >> (5 * QUEUE_ID_TIME_LEN) != 0)
		msg_panic("queue_id_make: time %lld out of range", usec);
	for (i = QUEUE_ID_TIME_LEN; i > 0; i--) {
		buf[i - 1] = digits32[t & 31];
		t >>= 5;
	}
	do {
		rev[n++] = digits32[ino & 31];
		ino >>= 5;
	} while (ino != 0);
	for (i = 0; i < n; i++)
		buf[QUEUE_ID_TIME_LEN + i] = rev[n - 1 - i];
	buf[QUEUE_ID_TIME_LEN + n] = '\0';
}

bool queue_id_valid(const char *name)
{
	size_t len = strlen(name), i;

	if (len <= QUEUE_ID_TIME_LEN || len > QUEUE_ID_MAX_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (digit_value(name[i]) < 0)
			return false;
	/* the inode part has no leading zero (except the inode 0 itself) */
	if (name[QUEUE_ID_TIME_LEN] == '0' && len > QUEUE_ID_TIME_LEN + 1)
		return false;
	/* 13 digits hold 65 bits: the first holds 4 of the 64 (0 to F) */
	if (len == QUEUE_ID_MAX_LEN && digit_value(name[QUEUE_ID_TIME_LEN]) > 15)
		return false;
	return true;
}

int queue_id_time(const char *id, long long *usec_r)
{
	unsigned long long t = 0;
	size_t i;

	if (!queue_id_valid(id))
		return -1;
	for (i = 0; i < QUEUE_ID_TIME_LEN; i++)
		t = (t << 5) | (unsigned long long)digit_value(id[i]);
	*usec_r = (long long)t;
	return 0;
}
