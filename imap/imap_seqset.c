/*
 * imap_seqset - parsing, evaluation, iteration and writing of IMAP
 * sequence sets. See imap_seqset.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_seqset.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

void imap_seqset_free(struct imap_seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->count = set->cap = 0;
	set->dollar = 0;
}

void imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	if (set->count == set->cap) {
		set->cap = set->cap == 0 ? 4 : set->cap * 2;
		set->ranges = xreallocarray(set->ranges, set->cap, sizeof(*set->ranges));
	}
	set->ranges[set->count].lo = lo;
	set->ranges[set->count].hi = hi;
	set->count++;
}

/* parse_number - an nz-number or "*" at s[*pos]. */
static int parse_number(const char *s, size_t len, size_t *pos, uint32_t *n)
{
	uint64_t v = 0;
	size_t start = *pos;

	if (*pos < len && s[*pos] == '*') {
		(*pos)++;
		*n = IMAP_SEQ_STAR;
		return 0;
	}
	if (*pos >= len || s[*pos] < '1' || s[*pos] > '9')
		return -1;
	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		v = v * 10 + (uint64_t)(s[*pos] - '0');
		if (v > UINT32_MAX || *pos - start >= 10)
			return -1;
		(*pos)++;
	}
	*n = (uint32_t)v;
	return 0;
}

int imap_seqset_parse(const char *s, size_t len, unsigned flags, struct imap_seqset *set,
		      char **error_r)
{
	size_t pos = 0;
	uint32_t lo, hi;

	imap_seqset_free(set);
	if (len == 1 && s[0] == '$') {
		if ((flags & IMAP_SEQSET_DOLLAR) == 0) {
			*error_r = xstrdup("\"$\" not allowed here");
			return -1;
		}
		set->dollar = 1;
		return 0;
	}
	for (;;) {
		if (parse_number(s, len, &pos, &lo) < 0)
			goto bad;
		hi = lo;
		if (pos < len && s[pos] == ':') {
			pos++;
			if (parse_number(s, len, &pos, &hi) < 0)
				goto bad;
		}
		imap_seqset_add(set, lo, hi);
		if (pos == len)
			return 0;
		if (s[pos] != ',')
			goto bad;
		pos++;
	}
bad:
	imap_seqset_free(set);
	*error_r = xstrdup("Invalid sequence set");
	return -1;
}

int imap_seqset_has_star(const struct imap_seqset *set)
{
	size_t i;

	for (i = 0; i < set->count; i++)
		if (set->ranges[i].lo == IMAP_SEQ_STAR || set->ranges[i].hi == IMAP_SEQ_STAR)
			return 1;
	return 0;
}

int imap_seqset_check(const struct imap_seqset *set, uint32_t max)
{
	size_t i;

	for (i = 0; i < set->count; i++) {
		if (max == 0 || set->ranges[i].lo > max || set->ranges[i].hi > max)
			return -1;
	}
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

void imap_seqset_normalize(struct imap_seqset *set)
{
	size_t i, n = 0;

	if (set->count == 0)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges), range_cmp);
	for (i = 1; i < set->count; i++) {
		struct imap_seq_range *last = &set->ranges[n];

		if (set->ranges[i].lo <= (uint64_t)last->hi + 1) {
			if (set->ranges[i].hi > last->hi)
				last->hi = set->ranges[i].hi;
		} else {
			set->ranges[++n] = set->ranges[i];
		}
	}
	set->count = n + 1;
}

void imap_seqset_eval(const struct imap_seqset *set, uint32_t max, struct imap_seqset *out)
{
	uint32_t lo, hi, t;
	size_t i;

	imap_seqset_free(out);
	for (i = 0; i < set->count; i++) {
		lo = set->ranges[i].lo;
		hi = set->ranges[i].hi;
		if (lo == IMAP_SEQ_STAR || hi == IMAP_SEQ_STAR) {
			if (max == 0)
				continue;
			if (lo == IMAP_SEQ_STAR)
				lo = max;
			if (hi == IMAP_SEQ_STAR)
				hi = max;
		}
		if (lo > hi) {
			t = lo;
			lo = hi;
			hi = t;
		}
		imap_seqset_add(out, lo, hi);
	}
	imap_seqset_normalize(out);
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

int imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

uint32_t imap_seqset_min(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[0].lo;
}

uint32_t imap_seqset_max(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[set->count - 1].hi;
}

void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set)
{
	it->set = set;
	it->range = 0;
	it->next = set->count > 0 ? set->ranges[0].lo : 0;
}

int imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n)
{
	if (it->range >= it->set->count)
		return 0;
	*n = (uint32_t)it->next;
	if (it->next >= it->set->ranges[it->range].hi) {
		it->range++;
		if (it->range < it->set->count)
			it->next = it->set->ranges[it->range].lo;
	} else {
		it->next++;
	}
	return 1;
}

static void write_number(struct strbuf *out, uint32_t n)
{
	if (n == IMAP_SEQ_STAR)
		strbuf_putc(out, '*');
	else
		strbuf_printf(out, "%u", n);
}

void imap_seqset_write(struct strbuf *out, const struct imap_seqset *set)
{
	size_t i;

	if (set->dollar) {
		strbuf_putc(out, '$');
		return;
	}
	for (i = 0; i < set->count; i++) {
		if (i > 0)
			strbuf_putc(out, ',');
		write_number(out, set->ranges[i].lo);
		if (set->ranges[i].hi != set->ranges[i].lo) {
			strbuf_putc(out, ':');
			write_number(out, set->ranges[i].hi);
		}
	}
}

void imap_seqset_write_list(struct strbuf *out, const uint32_t *v, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		j = i;
		while (j + 1 < n && v[j] != UINT32_MAX && v[j + 1] == v[j] + 1)
			j++;
		if (i > 0)
			strbuf_putc(out, ',');
		strbuf_printf(out, "%u", v[i]);
		if (j > i)
			strbuf_printf(out, ":%u", v[j]);
		i = j + 1;
	}
}
