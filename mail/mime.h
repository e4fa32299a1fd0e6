/*
 * mime - a streaming parser of RFC 5322 messages with their RFC 2045-2049
 * MIME structure, for the mailbox store: it computes what IMAP serves
 * without reading a message twice (ENVELOPE, BODYSTRUCTURE, where each body
 * part lies) and the decoded text that the store's full-text index takes.
 *
 * The caller feeds the message's bytes, any number at a time (the result
 * does not depend on how the input is cut), and then finishes. Memory is
 * bounded whatever the input: at most MIME_DEPTH_MAX nested multiparts and
 * message/rfc822 parts, at most MIME_PARTS_MAX parts (past them, what would
 * be a part is body text of the part that holds it), header fields longer
 * than MIME_FIELD_MAX are cut, and the text handed to the text callback
 * stops at mime_options.text_limit bytes.
 *
 * The parser never fails: broken input (a missing boundary, a header
 * without its blank line, bad encodings, bytes that are not UTF-8, a
 * multipart without parts, an unknown charset) still gives a structure, the
 * one a careful reader would see, so that a delivery never fails because a
 * message is malformed. Lines may end in CR LF (the store's blobs do) or in
 * a bare LF; offsets and sizes count the bytes as they are in the input.
 *
 * Decoding: RFC 2047 encoded words (in unstructured fields and in phrases;
 * Q and B, any charset iconv knows, adjacent words joined), RFC 2231
 * parameters (continuations, charset and language), quoted-printable and
 * base64 bodies, and charset conversion to UTF-8 through iconv(3). What
 * cannot be converted is kept as it is when it is valid UTF-8, and replaced
 * by U+FFFD otherwise.
 */
#ifndef TERN_MIME_H
#define TERN_MIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/strbuf.h"

/* Deepest nesting of multipart and message/rfc822 parts. */
#define MIME_DEPTH_MAX 32
/* Most parts in one message (all levels together). */
#define MIME_PARTS_MAX 1000
/* Longest header field the parser keeps (longer ones are cut). */
#define MIME_FIELD_MAX 65536
/* Most bytes of top-level header fields kept in mime_message.headers (later ones are not kept). */
#define MIME_HEADER_MAX (1024 * 1024)

/* Where the text given to the text callback comes from. */
enum mime_text_kind {
	MIME_TEXT_HEADER, /* a decoded header field: "Name: value" (any part's header) */
	MIME_TEXT_BODY,	  /* decoded text of a text/... body part, in UTF-8 */
};

/*
 * text - called with UTF-8 text as the parse goes on (pieces of any size; a
 * header field is given whole, body text in pieces that end at a line end
 * or at a multibyte character's boundary).
 */
typedef void mime_text_fn(enum mime_text_kind kind, const char *text, size_t len, void *ctx);

struct mime_options {
	mime_text_fn *text; /* or NULL: no text wanted (nothing is decoded for it) */
	void *text_ctx;
	size_t text_limit; /* the most bytes given to text() in all; 0: no limit */
};

/* One parameter of Content-Type or Content-Disposition. */
struct mime_param {
	char *name;  /* lower case, without RFC 2231 "*n*" suffixes */
	char *value; /* RFC 2231 parts joined and decoded to UTF-8; quotes removed */
};

/* One address of an address-list field, as IMAP's ENVELOPE shows it. */
struct mime_address {
	char *name;    /* display name decoded to UTF-8, or NULL */
	char *route;   /* obsolete source route ("@a,@b"), or NULL */
	char *mailbox; /* local part, or the group name at a group's start; NULL at its end */
	char *host;    /* domain ("" when missing), or NULL at a group's start and end */
	/* Added: the display name as written (quotes removed, RFC 2047 words
	 * kept), or NULL; what ENVELOPE sends. A name taken from a comment
	 * ("user@host (Name)") is in both. */
	char *name_raw;
};

struct mime_addresses {
	struct mime_address *items;
	size_t count;
};

/* The fields of a message's header that ENVELOPE and sorting need. */
struct mime_envelope {
	char *date;	    /* the Date field as written (unfolded), or NULL */
	time_t date_time;   /* Date parsed (RFC 5322, obsolete forms too), or -1 */
	char *subject;	    /* raw (unfolded, not decoded), or NULL */
	char *subject_utf8; /* decoded from RFC 2047 to UTF-8, or NULL */
	struct mime_addresses from, sender, reply_to, to, cc, bcc;
	char *in_reply_to; /* raw, or NULL */
	char *message_id;  /* raw, or NULL */
	char *references;  /* raw (unfolded), or NULL */
};

/* One part: the whole message, a multipart's child, or a message/rfc822 body. */
struct mime_part {
	struct mime_part *parent;   /* NULL for the message itself */
	struct mime_part *children; /* multipart: its parts; message/rfc822: the message */
	struct mime_part *next;	    /* the next sibling */

	/* Offsets in the input, from its first byte. */
	uint64_t header_offset; /* where the part's header starts */
	uint64_t body_offset;	/* where its body starts (after the blank line) */
	uint64_t body_end;	/* where the body ends (before the CR LF of the next boundary) */
	uint64_t header_lines;	/* lines of the header, the blank line included */
	uint64_t body_lines;	/* lines of the body */

	/* Content-Type, defaulted as RFC 2045 and 2046 say (text/plain, or
	 * message/rfc822 inside multipart/digest). Lower case. */
	char *type;
	char *subtype;
	struct mime_param *params;
	size_t nparams;
	char *encoding;	   /* Content-Transfer-Encoding, lower case; NULL: 7bit */
	char *id;	   /* Content-ID, or NULL */
	char *description; /* Content-Description, raw, or NULL */
	char *md5;	   /* Content-MD5, or NULL */
	char *disposition; /* Content-Disposition's value, lower case, or NULL */
	struct mime_param *disposition_params;
	size_t ndisposition_params;
	char *language; /* Content-Language, raw, or NULL */
	char *location; /* Content-Location, or NULL */

	/* The whole message, and a message/rfc822 part's message (its child):
	 * the envelope of its header. NULL for other parts. */
	struct mime_envelope *envelope;
};

/*
 * A top-level header field as sent (name and value; folding kept, line
 * ending removed), in order. Only the top message's header is kept, and at
 * most MIME_FIELD_MAX bytes per field.
 */
struct mime_header {
	char *name;
	char *value; /* everything after the colon, folded lines with their CR LF */
};

struct mime_message {
	struct mime_part *root;	     /* the message itself; never NULL */
	uint64_t size;		     /* bytes fed */
	struct mime_header *headers; /* at most MIME_HEADER_MAX bytes of them in all */
	size_t nheaders;
	unsigned broken; /* MIME_BROKEN_* seen (for logs; the structure is usable anyway) */
};

#define MIME_BROKEN_BOUNDARY (1u << 0) /* a multipart's closing boundary is missing */
#define MIME_BROKEN_HEADER (1u << 1)   /* a header without its blank line, or a bad field */
#define MIME_BROKEN_ENCODING (1u << 2) /* bad base64 or quoted-printable */
#define MIME_BROKEN_LIMIT (1u << 3)    /* a depth, part or field limit was reached */

struct mime_parser;

/* mime_parser_create - a parser for one message; opts may be NULL. */
struct mime_parser *mime_parser_create(const struct mime_options *opts);

/* mime_parser_feed - the next len bytes of the message. */
void mime_parser_feed(struct mime_parser *p, const void *data, size_t len);

/* mime_parser_finish - the input is over: the message's structure. Frees the parser. */
struct mime_message *mime_parser_finish(struct mime_parser **p);

/* mime_parse - the whole message at once. */
struct mime_message *mime_parse(const void *data, size_t len, const struct mime_options *opts);

void mime_message_free(struct mime_message **msg);

/*
 * What IMAP sends (RFC 9051 section 7.5.2, RFC 3501 section 7.4.2), appended
 * to out: quoted strings where they can be, literals ({n} CR LF bytes)
 * where not, NIL for what is absent. Strings are as in the header (raw);
 * 8-bit bytes are sent as literals.
 */

/*
 * mime_envelope_imap - the ENVELOPE of env, with its parentheses:
 * "(date subject from ...)" (NULL gives the envelope of an empty header).
 */
void mime_envelope_imap(const struct mime_envelope *env, struct strbuf *out);

/*
 * mime_bodystructure_imap - the BODYSTRUCTURE (extended 1) or BODY
 * (extended 0) of part and what it holds, with its parentheses:
 * "("TEXT" "PLAIN" ...)". Types, subtypes, encodings, dispositions and
 * parameter names are sent in upper case (as RFC 3501's examples and
 * Cyrus do); values as written, "us-ascii" the charset of text without
 * one. A parameter whose value is not ASCII goes out in RFC 2231 form
 * (NAME* "utf-8''%xx..."). A multipart without parts shows one empty
 * text/plain part; a message/rfc822 part that was not parsed (limits, an
 * encoded body) shows an empty envelope and an empty text/plain body.
 */
void mime_bodystructure_imap(const struct mime_part *part, int extended, struct strbuf *out);

/*
 * The part map: where each part of a message lies, in a compact text form
 * that the store keeps with the message, so that BODY[section] can be
 * served from the blob without parsing the message again.
 */

/* What a section of a message is, in its blob. */
struct mime_section {
	uint64_t header_offset; /* the part's MIME header (BODY[1.MIME]) starts here */
	uint64_t body_offset;	/* its body starts here */
	uint64_t body_end;	/* and ends here */
	int is_message;		/* a message/rfc822 part: .HEADER and .TEXT apply to it */
	/* is_message: where the encapsulated message's header and body lie */
	uint64_t msg_header_offset;
	uint64_t msg_body_offset;
};

/* mime_partmap_encode - the part map of msg, appended to out (printable ASCII). */
void mime_partmap_encode(const struct mime_message *msg, struct strbuf *out);

/*
 * mime_partmap_lookup - the section named by part numbers ("" for the whole
 * message, "1", "2.3", as in IMAP section-part) in a part map of len bytes.
 * Returns 0, or -1 when there is no such part (or the map is bad).
 * As RFC 9051 says, part "1" of a message that is not multipart is its body.
 * The whole message ("") comes with is_message set (its own header and
 * body), and the part 1 shown for a multipart without parts is empty.
 */
int mime_partmap_lookup(const char *map, size_t len, const char *section,
			struct mime_section *result);

/*
 * Decoders that IMAP SEARCH, SORT and Sieve need too.
 */

/*
 * mime_decode_words - an unstructured field value with RFC 2047 encoded
 * words decoded, in UTF-8, appended to out (unfolded).
 */
void mime_decode_words(const char *value, size_t len, struct strbuf *out);

/*
 * mime_charset_to_utf8 - len bytes in charset (any name iconv knows; NULL
 * or unknown: taken as UTF-8, then ISO-8859-1 when not valid UTF-8)
 * converted to UTF-8 and appended to out. Never fails (see above).
 */
void mime_charset_to_utf8(const char *charset, const void *in, size_t len, struct strbuf *out);

/*
 * mime_parse_addresses - an address-list field value (From, To, ...) as
 * ENVELOPE shows it: groups, obsolete routes, display names decoded.
 */
void mime_parse_addresses(const char *value, size_t len, struct mime_addresses *result);
void mime_addresses_free(struct mime_addresses *list);

/* mime_parse_date - an RFC 5322 date-time (obsolete forms too); -1 when it is not one. */
time_t mime_parse_date(const char *value);

#endif
