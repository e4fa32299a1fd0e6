/*
 * fuzz_queue_file - libFuzzer harness for the queue file reader.
 *
 * The input is a queue file. The reader must keep its promises, or the
 * harness aborts: every record it hands out has its data NUL-terminated and
 * lies inside the input, in increasing order; a failure comes with a
 * message and a kind (incomplete or corrupt, never I/O for memory); the
 * memory reader, the descriptor reader (over a memfd, with its own
 * buffering) and queue_mem_check() agree; a complete file's summary
 * matches its length, and the file without its last byte is incomplete.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mail/queue_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_queue_file: %s\n", what);
		abort();
	}
}

/* walk - read every record; returns the final status, the kind of error and the count. */
static enum queue_read_status walk(struct queue_reader *r, size_t size, enum queue_error *kind_r,
				   size_t *count_r)
{
	enum queue_read_status st;
	struct queue_rec rec;
	long long last = -1;
	char *err = NULL;

	*count_r = 0;
	while ((st = queue_reader_next(r, &rec, &err)) != QUEUE_READ_ERROR) {
		check(rec.data[rec.len] == '\0', "record data not NUL-terminated");
		check(rec.offset > last, "record offsets not increasing");
		check((size_t)rec.offset + 1 + rec.len <= size, "record beyond the input");
		check(rec.len <= QUEUE_REC_MAX, "record over the limit");
		last = rec.offset;
		(*count_r)++;
		if (st == QUEUE_READ_END) {
			check(rec.type == QREC_END, "end without an E record");
			break;
		}
	}
	*kind_r = queue_reader_error(r);
	if (st == QUEUE_READ_ERROR) {
		check(err != NULL && err[0] != '\0', "error without a message");
		check(*kind_r == QUEUE_ERR_INCOMPLETE || *kind_r == QUEUE_ERR_CORRUPT,
		      "bad error kind");
		free(err);
	} else {
		check(*kind_r == QUEUE_ERR_NONE, "error kind set on success");
	}
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_reader *r;
	struct queue_summary sum;
	enum queue_read_status st_mem, st_fd;
	enum queue_error kind_mem, kind_fd, kind_check;
	size_t n_mem, n_fd;
	char *err = NULL;
	int fd, ret;

	r = queue_reader_mem(data, size);
	st_mem = walk(r, size, &kind_mem, &n_mem);
	queue_reader_free(&r);

	fd = memfd_create("fuzz_queue_file", MFD_CLOEXEC);
	check(fd >= 0, "memfd_create");
	check(size == 0 || write(fd, data, size) == (ssize_t)size, "write to memfd");
	r = queue_reader_fd(fd);
	st_fd = walk(r, size, &kind_fd, &n_fd);
	queue_reader_free(&r);
	close(fd);
	check(st_mem == st_fd && kind_mem == kind_fd && n_mem == n_fd,
	      "memory and descriptor readers disagree");

	ret = queue_mem_check(data, size, &sum, &kind_check, &err);
	check((ret == 0) == (st_mem == QUEUE_READ_END), "check and reader disagree");
	if (ret < 0) {
		check(kind_check == kind_mem, "check and reader disagree on the kind");
		free(err);
		return 0;
	}
	check(sum.file_size == (long long)size, "summary size is not the input size");
	check(sum.sizes.nrcpt >= 1 && sum.ndone <= sum.sizes.nrcpt, "recipient counts");
	check(queue_mem_check(data, size - 1, NULL, &kind_check, &err) < 0 &&
		  kind_check == QUEUE_ERR_INCOMPLETE,
	      "a complete file without its last byte is not incomplete");
	free(err);
	return 0;
}
