/* view — JSON renderings of conversations and events for the API and the realtime
 * protocol (docs/openapi.yaml, docs/realtime.md). One place decides what
 * each audience sees. */
#ifndef PARLEY_VIEW_H
#define PARLEY_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include "core/buf.h"
#include "storage/records.h"
#include "actors/kit/view.h"

/* A conversation as the API shows it. */
json_t *view_conv(const rec_conv *c);

/* A stored event as {"conversation_id","seq","kind",…} (no "type"). */
json_t *view_event(const rec_event *e);

/* Writes the realtime frame for an event straight into b (no jansson
 * tree): view_event plus "type":"event", for the fan-out hot path. */
int view_event_frame_write(const rec_event *e, buf *b);

/* The same without "type": equal to view_event (REST lists). */
int view_event_write(const rec_event *e, buf *b);

/* A conversation written straight into b: equal to view_conv. */
int view_conv_write(const rec_conv *c, buf *b);

/* True for the kinds only agents see: private notes, tags, profile and
 * custom-attribute changes (never sent or listed to the visitor). */
bool view_event_agents_only(int kind);

/* A rating as the API shows it; agent_name: who had the conversation
 * (NULL: not known). */
json_t *view_rating(const rec_rating *r, const char *agent_name);

#endif
