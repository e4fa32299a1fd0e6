/*
 * imap_fetch - the data items of FETCH (RFC 9051 section 6.4.5, RFC 3501's
 * RFC822 forms, BINARY of RFC 3516, MODSEQ of RFC 7162): the macros ALL,
 * FAST and FULL, one item, or a list of them, parsed into attributes with
 * their sections ("1.2.HEADER.FIELDS (From To)") and partial ranges
 * ("<0.100>"). imap_parser.h keeps "BODY[...]<...>" as one atom; this
 * reads it. The name a response item carries is written back by
 * imap_fetch_att_name().
 */
#ifndef TERN_IMAP_FETCH_H
#define TERN_IMAP_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"

struct strbuf;

enum imap_fetch_type {
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_RFC822,	  /* = BODY[] */
	IMAP_FETCH_RFC822_HEADER, /* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_TEXT,	  /* = BODY[TEXT] */
	IMAP_FETCH_BODY,	  /* BODY without a section: the non-extensible BODYSTRUCTURE */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_UID,
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_SECTION,    /* BODY[...] or BODY.PEEK[...] */
	IMAP_FETCH_BINARY,     /* BINARY[...] or BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE /* BINARY.SIZE[...] */
};

enum imap_section_text {
	IMAP_SECTION_ALL,		/* the whole part ("BODY[]", "BODY[1.2]") */
	IMAP_SECTION_HEADER,		/* HEADER */
	IMAP_SECTION_HEADER_FIELDS,	/* HEADER.FIELDS (names) */
	IMAP_SECTION_HEADER_FIELDS_NOT, /* HEADER.FIELDS.NOT (names) */
	IMAP_SECTION_TEXT,		/* TEXT */
	IMAP_SECTION_MIME		/* MIME (only after a part number) */
};

#define IMAP_SECTION_PARTS_MAX 32 /* deepest part number "1.2.3..." */

struct imap_fetch_att {
	enum imap_fetch_type type;
	int peek; /* .PEEK: do not set \Seen */
	/* SECTION, BINARY, BINARY_SIZE: */
	uint32_t part[IMAP_SECTION_PARTS_MAX]; /* "1.2" is {1, 2} */
	size_t nparts;			       /* 0: the message itself */
	enum imap_section_text text;
	char **fields; /* HEADER.FIELDS[.NOT]: the names, as sent */
	size_t nfields;
	/* SECTION, BINARY: */
	int partial; /* "<offset.length>" was given */
	uint64_t offset;
	uint64_t length; /* > 0 */
};

struct imap_fetch {
	struct imap_fetch_att *atts;
	size_t count;
	int changes_seen; /* some attribute (BODY[...], RFC822, RFC822.TEXT, BINARY[...]) sets \Seen */
};

/*
 * imap_fetch_parse - the data items argument of FETCH (a macro, an item,
 * or a list of items). Fills *fetch (free it either way): 0, or -1 with
 * *error_r (malloc'd) naming the bad item.
 */
int imap_fetch_parse(const struct imap_arg *arg, struct imap_fetch *fetch, char **error_r);

void imap_fetch_free(struct imap_fetch *fetch);

/*
 * imap_fetch_att_name - append the name of att as a FETCH response gives
 * it: "FLAGS", "RFC822.HEADER", "BODY[1.HEADER.FIELDS (From To)]<0>" (no
 * PEEK, the partial's offset only), "BINARY.SIZE[1]".
 */
void imap_fetch_att_name(struct strbuf *out, const struct imap_fetch_att *att);

#endif
