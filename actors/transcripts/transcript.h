/* transcript — a conversation's history as one document: JSON, plain text
 * or a self-contained HTML page (inline CSS, no scripts, every value a
 * person typed escaped), for the agents (private notes, tags, profile
 * changes and the other agent-only events included) or for the visitor
 * (messages, status changes, assignments and the rating only).
 *
 * A download is rendered piece by piece (transcript_head, then
 * transcript_events from a cursor in a fresh read snapshot per piece,
 * then transcript_tail) and streamed, so it has no cap. A document
 * rendered whole (transcript_render: the email) is bounded by opts.cap:
 * rendering stops before the body passes it, and the document says where
 * it stopped (JSON "truncated" and "next_after_seq"; a closing line in
 * text and HTML) so a client asks for the rest with ?after_seq=. */
#ifndef PARLEY_TRANSCRIPT_H
#define PARLEY_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "storage/records.h"
#include "storage/store.h"

enum transcript_format { TF_JSON = 0, TF_TEXT, TF_HTML, TF__COUNT };

/* The cap of an emailed transcript's body (a download has none). */
#define TRANSCRIPT_EMAIL_CAP (256u << 10)

typedef struct {
	uint8_t format;            /* enum transcript_format */
	bool agents;               /* the agents' version */
	uint64_t after_seq;        /* events after this one */
	size_t cap;                /* transcript_render: bytes of the body, at most */
	bool fragment;             /* TF_HTML: the body's inside only (for an email) */
} transcript_opts;

typedef struct {
	uint64_t events;           /* rendered */
	bool truncated;            /* stopped at the cap */
	uint64_t next_after_seq;   /* truncated: where the rest starts */
} transcript_info;

/* "json" | "text" | "html" → enum, -1 if unknown. */
int transcript_format_parse(const char *s);
const char *transcript_ctype(int format);
const char *transcript_ext(int format);

/* True when the visitor's version shows event kind k. */
bool transcript_visitor_sees(int kind);

/* Renders conversation c of tenant t (its name heads the document), its
 * events read in tx, into out. 0, or a store error (STORE_ENOMEM, STORE_EIO). */
int transcript_render(store_txn *tx, const rec_tenant *t, const rec_conv *c, const transcript_opts *o, buf *out,
		      transcript_info *info);

/* Piece by piece. The document's head; 0 or STORE_ENOMEM. */
int transcript_head(buf *out, const rec_tenant *t, const rec_conv *c, const transcript_opts *o);

/* Events of (tid, cid) after *cursor up to upto, read in tx, appended to
 * out until it holds at least `piece` bytes (whole events: one may pass
 * it); *cursor moves to the last event read, *done says whether upto was
 * reached. info counts across calls (zero it before the first). 0,
 * STORE_ENOMEM or STORE_EIO. */
int transcript_events(store_txn *tx, uint64_t tid, uint64_t cid, const transcript_opts *o, uint64_t *cursor,
		      uint64_t upto, size_t piece, buf *out, transcript_info *info, bool *done);

/* The document's end; 0 or STORE_ENOMEM. */
int transcript_tail(buf *out, const transcript_opts *o, const transcript_info *info);

#endif
