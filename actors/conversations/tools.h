/* tools — the agents' tools on a conversation (docs/openapi.yaml, tags
 * tags and attributes; docs/realtime.md): tags added and removed, custom
 * attributes set, notes that mention agents, messages sent from a canned
 * response.
 *
 * Tags and attributes are changes of the conversation, so they go through
 * its actor (conv.h CM_TAG, CM_ATTRS) and are stored as agent-only events
 * (EK_TAG, EK_ATTRS: never sent to the visitor nor in their replay) in the
 * same transaction as the conversation record (`tags`), the index of
 * conversations by tag (`tag_convs`) and the values (`attrs`). The
 * functions below are the parts conv.c, access.c and frames.c call.
 */
#ifndef PARLEY_CONV_TOOLS_H
#define PARLEY_CONV_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include "actors/kit/app.h"
#include "actors/kit/auth.h"
#include "storage/records.h"
#include "storage/store.h"

/* Most tags on one conversation. */
#define CONV_TAGS_MAX REC_IDS_MAX

/* A refusal to answer: status, code, message, field (may be NULL). */
typedef struct {
	int status;
	const char *code, *field;
	char msg[160];
} tool_err;

/* Reads the tools' fields of a message being sent (the REST body or the
 * realtime frame obj): `canned_id` — the canned response's body, expanded
 * for this conversation and sender (canned/canned.h), becomes *text
 * (malloc'ed; then "text" must be absent) — and `mentions` — an array of
 * user ids, only on a private note (checked against the conversation by
 * its actor: conv_tools_mentions_ok). 0 (nothing given leaves *text NULL
 * and mentions empty), or -1 with *e filled. */
int conv_tools_send(app *a, const principal *who, uint64_t cid, json_t *obj, bool priv, char **text,
		    rec_ids *mentions, tool_err *e);

/* True when every mentioned user is an active user of the tenant who may
 * read conversation c (kit/perm.h); else false with *e (400
 * invalid_mention naming the id, or 500). */
bool conv_tools_mentions_ok(app *a, const rec_conv *c, const rec_ids *mentions, tool_err *e);

/* The conversation's tags after adding (add) or removing tag_id: ids of
 * deleted tags dropped, at most CONV_TAGS_MAX. 0 with *out and *changed;
 * -1 with *e (404 not_found: no such tag in the tenant; 409
 * too_many_tags). */
int conv_tools_tags(app *a, const rec_conv *c, uint64_t tag_id, bool add, rec_ids *out, bool *changed,
		    tool_err *e);

/* Checks an attribute write (a JSON object) for conversations of the
 * tenant before it is queued: 0, or -1 with *e (400 unknown_attribute /
 * invalid_attribute_value naming the key, or 500). */
int conv_tools_attrs_check(app *a, uint64_t tid, json_t *patch, tool_err *e);

/* Inside a conversation write's transaction, after the store wrote its
 * events: the tag index for EK_TAG, the values for EK_ATTRS (the event's
 * text is the write, merged into the stored values), the unread mentions
 * of a note. 0 or a STORE_* code (the write fails). */
int conv_tools_apply(store_txn *t, const rec_event *e);

/* After the commit: each agent a note mentions gets a live `mention`
 * frame on their consoles (docs/realtime.md). */
void conv_tools_published(app *a, const rec_event *e);

/* The answer to an attribute write: {"attributes": the conversation's
 * values now}; NULL when storage fails. */
json_t *conv_tools_attrs_answer(app *a, const rec_conv *c);

#endif
