/*
 * ternadmin_progress - the progress bar of ternadmin's import and export,
 * drawn on standard error when it is a terminal (and not at all
 * otherwise): a bar, the units done of the total, the messages done and
 * their rate per second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tools/ternadmin/ternadmin_mail.h"
#include "util/mymalloc.h"

#define BAR_WIDTH 24
/* Redraw at most this often (seconds). */
#define REDRAW_INTERVAL 0.1

struct ta_progress {
	const char *what;
	uint64_t total, done, messages;
	int bytes;    /* the units are bytes, not messages */
	int tty;      /* standard error is a terminal */
	int drawn;    /* a bar is on the screen */
	double start; /* monotonic seconds */
	double last;  /* when it was last drawn */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ta_progress *ta_progress_new(const char *what, uint64_t total, int bytes)
{
	struct ta_progress *p = xcalloc(1, sizeof(*p));

	p->what = what;
	p->total = total;
	p->bytes = bytes;
	p->tty = isatty(STDERR_FILENO);
	p->start = p->last = now();
	return p;
}

void ta_progress_add_total(struct ta_progress *p, uint64_t units)
{
	p->total += units;
}

double ta_progress_elapsed(const struct ta_progress *p)
{
	return now() - p->start;
}

/* draw - one line, overwriting the last one. */
static void draw(struct ta_progress *p, double t)
{
	double elapsed = t - p->start, frac = 0;
	char bar[BAR_WIDTH + 1];
	int i, full;

	if (p->total > 0)
		frac = p->done >= p->total ? 1.0 : (double)p->done / (double)p->total;
	full = (int)(frac * BAR_WIDTH);
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < full ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%%", p->what, bar, (int)(frac * 100));
	if (!p->bytes && p->total > 0)
		fprintf(stderr, "  %llu/%llu messages", (unsigned long long)p->messages,
			(unsigned long long)p->total);
	else
		fprintf(stderr, "  %llu messages", (unsigned long long)p->messages);
	if (elapsed > 0.05)
		fprintf(stderr, "  %.0f/s", (double)p->messages / elapsed);
	fputs("\033[K", stderr);
	fflush(stderr);
	p->drawn = 1;
	p->last = t;
}

void ta_progress_update(struct ta_progress *p, uint64_t units_done, uint64_t messages)
{
	double t;

	p->done = units_done;
	p->messages = messages;
	if (!p->tty)
		return;
	t = now();
	if (p->drawn && t - p->last < REDRAW_INTERVAL)
		return;
	draw(p, t);
}

void ta_progress_clear(struct ta_progress *p)
{
	if (p == NULL || !p->drawn)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->drawn = 0;
}

void ta_progress_free(struct ta_progress **pp)
{
	struct ta_progress *p = *pp;

	if (p == NULL)
		return;
	ta_progress_clear(p);
	free(p);
	*pp = NULL;
}
