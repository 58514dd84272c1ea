/* transcript — a conversation's history as one document: JSON, plain text
 * or a self-contained HTML page (inline CSS, no scripts, every value a
 * person typed escaped), for the agents (private notes, tags, profile
 * changes and the other agent-only events included) or for the visitor
 * (messages, status changes, assignments and the rating only).
 *
 * The HTTP layer answers from one buffer (no chunked responses), so a
 * transcript is bounded: rendering stops before the body passes the cap,
 * and the document says where it stopped (JSON "truncated" and
 * "next_after_seq"; a closing line in text and HTML) so a client asks for
 * the rest with ?after_seq=. */
#ifndef PARLEY_TRANSCRIPT_H
#define PARLEY_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "storage/records.h"
#include "storage/store.h"

enum transcript_format { TF_JSON = 0, TF_TEXT, TF_HTML, TF__COUNT };

/* The cap of a downloaded transcript's body, and of an emailed one. */
#define TRANSCRIPT_CAP (4u << 20)
#define TRANSCRIPT_EMAIL_CAP (256u << 10)

typedef struct {
	uint8_t format;            /* enum transcript_format */
	bool agents;               /* the agents' version */
	uint64_t after_seq;        /* events after this one */
	size_t cap;                /* bytes of the body, at most */
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

#endif
