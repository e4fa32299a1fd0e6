/*
 * mime_partmap - where each part of a message lies, in a compact text
 * that the store keeps beside the message, and the lookup of an IMAP
 * section number in it.
 *
 * The map lists the parts in depth-first order, each as a letter and
 * comma-separated lower-case hexadecimal numbers:
 *
 *   M h,b,l,n   a multipart with n parts (they follow)
 *   R h,b,l     a message/rfc822 part whose message was parsed (it follows)
 *   L h,b,l     any other part
 *
 * h is where the part's header starts, counted from the previous part's
 * header (the first part: from the start of the blob), b where its body
 * starts counted from its header, and l the length of its body. A
 * one-part text message is "L0,<header size>,<body size>".
 */
#include <stdlib.h>
#include <string.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/mymalloc.h"

/* Highest part number taken in a section. */
#define SECTION_PART_MAX 1000000

static void encode_part(const struct mime_part *part, uint64_t *prev, struct strbuf *out)
{
	const struct mime_part *child;
	size_t n = 0;
	char kind = 'L';

	if (strcmp(part->type, "multipart") == 0)
		kind = 'M';
	else if (strcmp(part->type, "message") == 0 && part->children != NULL)
		kind = 'R';
	strbuf_printf(out, "%c%llx,%llx,%llx", kind,
		      (unsigned long long)(part->header_offset - *prev),
		      (unsigned long long)(part->body_offset - part->header_offset),
		      (unsigned long long)(part->body_end - part->body_offset));
	*prev = part->header_offset;
	if (kind == 'M') {
		for (child = part->children; child != NULL; child = child->next)
			n++;
		strbuf_printf(out, ",%zx", n);
	}
	for (child = part->children; child != NULL; child = child->next)
		encode_part(child, prev, out);
}

void mime_partmap_encode(const struct mime_message *msg, struct strbuf *out)
{
	uint64_t prev = 0;

	encode_part(msg->root, &prev, out);
}

/* One part of a decoded map. */
struct node {
	char kind;
	uint64_t h, b, e; /* header, body, body end: absolute */
	size_t nchildren;
	size_t first, next; /* first child, next sibling: indexes, or SIZE_MAX */
};

/* Parts whose children are being read while decoding. */
struct open_node {
	size_t node, left, last;
};

/* hex - a number at *p (at most 16 digits); -1 when there is none. */
static int hex(const char **p, const char *end, uint64_t *v)
{
	int n = 0, d;

	*v = 0;
	while (*p < end && n < 17) {
		char c = **p;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		*v = (*v << 4) | (uint64_t)d;
		(*p)++;
		n++;
	}
	return n > 0 && n <= 16 ? 0 : -1;
}

/* read_node - one entry at *p into nd; prev: the previous header offset. */
static int read_node(const char **p, const char *end, uint64_t prev, struct node *nd)
{
	uint64_t h, b, l, n = 0;

	nd->kind = **p;
	(*p)++;
	if (hex(p, end, &h) < 0 || *p == end || *(*p)++ != ',' || hex(p, end, &b) < 0 ||
	    *p == end || *(*p)++ != ',' || hex(p, end, &l) < 0)
		return -1;
	if (nd->kind == 'M' && (*p == end || *(*p)++ != ',' || hex(p, end, &n) < 0))
		return -1;
	if (h > UINT64_MAX / 4 - prev || b > UINT64_MAX / 4 || l > UINT64_MAX / 4)
		return -1;
	nd->h = prev + h;
	nd->b = nd->h + b;
	nd->e = nd->b + l;
	nd->nchildren = nd->kind == 'R' ? 1 : (size_t)n;
	nd->first = nd->next = SIZE_MAX;
	return 0;
}

/* decode - the map into nodes (node 0 is the message); the count, or 0 when the map is bad. */
static size_t decode(const char *map, size_t len, struct node **nodes_r)
{
	const char *p = map, *end = map + len;
	struct node *nodes;
	struct open_node *stack;
	size_t count = 0, n = 0, depth = 0, i;
	uint64_t prev = 0;

	for (i = 0; i < len; i++) {
		if (map[i] == 'M' || map[i] == 'R' || map[i] == 'L')
			count++;
	}
	if (count == 0)
		return 0;
	nodes = xcalloc(count, sizeof(*nodes));
	stack = xcalloc(count, sizeof(*stack));
	while (p < end) {
		if (n == count || (n > 0 && depth == 0) ||
		    read_node(&p, end, prev, &nodes[n]) < 0 || nodes[n].nchildren > count)
			goto bad;
		prev = nodes[n].h;
		if (depth > 0) {
			struct open_node *top = &stack[depth - 1];

			if (top->last == SIZE_MAX)
				nodes[top->node].first = n;
			else
				nodes[top->last].next = n;
			top->last = n;
			top->left--;
		}
		if (nodes[n].nchildren > 0)
			stack[depth++] = (struct open_node){n, nodes[n].nchildren, SIZE_MAX};
		while (depth > 0 && stack[depth - 1].left == 0)
			depth--;
		n++;
	}
	if (depth > 0 || n == 0)
		goto bad;
	free(stack);
	*nodes_r = nodes;
	return n;
bad:
	free(stack);
	free(nodes);
	return 0;
}

/* child - the k-th (from 1) child of node i, or SIZE_MAX. */
static size_t child(const struct node *nodes, size_t i, unsigned long k)
{
	size_t c = nodes[i].first;

	while (c != SIZE_MAX && --k > 0)
		c = nodes[c].next;
	return c;
}

static void result_of(const struct node *nodes, size_t i, struct mime_section *r)
{
	memset(r, 0, sizeof(*r));
	r->header_offset = nodes[i].h;
	r->body_offset = nodes[i].b;
	r->body_end = nodes[i].e;
	if (nodes[i].kind == 'R') {
		r->is_message = 1;
		r->msg_header_offset = nodes[nodes[i].first].h;
		r->msg_body_offset = nodes[nodes[i].first].b;
	}
}

/* next_number - the next part number of a section ("2" of "2.3"); 0 when bad. */
static unsigned long next_number(const char **s)
{
	unsigned long n = 0;

	if (**s < '1' || **s > '9')
		return 0;
	while (**s >= '0' && **s <= '9') {
		n = n * 10 + (unsigned long)(**s - '0');
		if (n > SECTION_PART_MAX)
			return 0;
		(*s)++;
	}
	if (**s == '.' && (*s)[1] != '\0')
		(*s)++;
	else if (**s != '\0')
		return 0;
	return n;
}

/*
 * walk - the node section names, or SIZE_MAX; *empty_r set when it names
 * the missing part 1 of a multipart that has none (an empty part).
 */
static size_t walk(const struct node *nodes, const char *section, bool *empty_r)
{
	size_t i = 0;
	bool at_message = true; /* i is a message whose part number comes next */
	unsigned long k;

	*empty_r = false;
	while (*section != '\0') {
		if ((k = next_number(&section)) == 0 || *empty_r)
			return SIZE_MAX;
		if (!at_message && nodes[i].kind == 'R') {
			i = nodes[i].first;
			at_message = true;
		}
		if (nodes[i].kind == 'M') {
			if (nodes[i].nchildren == 0 && k == 1) {
				*empty_r = true;
			} else if ((i = child(nodes, i, k)) == SIZE_MAX) {
				return SIZE_MAX;
			}
		} else if (!at_message || k != 1) {
			return SIZE_MAX;
		}
		at_message = false;
	}
	return i;
}

int mime_partmap_lookup(const char *map, size_t len, const char *section,
			struct mime_section *result)
{
	struct node *nodes = NULL;
	size_t n = decode(map, len, &nodes), i;
	bool empty;

	if (n == 0)
		return -1;
	if (section[0] == '\0') {
		result_of(nodes, 0, result);
		result->is_message = 1;
		result->msg_header_offset = nodes[0].h;
		result->msg_body_offset = nodes[0].b;
		free(nodes);
		return 0;
	}
	i = walk(nodes, section, &empty);
	if (i == SIZE_MAX) {
		free(nodes);
		return -1;
	}
	result_of(nodes, i, result);
	if (empty) {
		memset(result, 0, sizeof(*result));
		result->header_offset = result->body_offset = result->body_end = nodes[i].b;
	}
	free(nodes);
	return 0;
}
