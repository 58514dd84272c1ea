#include "core/sniff.h"
#include "actors/conversations/view.h"
#include "actors/kit/view.h"

#include <stdbool.h>
#include "core/clock.h"
#include "core/id.h"
#include "core/jw.h"


json_t *view_conv(const rec_conv *c)
{
	json_t *v = json_object();
	json_object_set_new(v, "id", view_id(c->id));
	json_object_set_new(v, "tenant_id", view_id(c->tid));
	json_object_set_new(v, "status", json_string(rec_status_name(c->status)));
	json_object_set_new(v, "priority", json_string(rec_priority_name(c->priority)));
	json_object_set_new(v, "visitor", json_pack("{s:o,s:s,s:s}", "id", view_id(c->visitor_id),
						    "name", c->visitor_name, "email", c->visitor_email));
	if (c->assignee_id)
		json_object_set_new(v, "assignee", json_pack("{s:o,s:s}", "id", view_id(c->assignee_id),
							     "name", c->assignee_name));
	else
		json_object_set_new(v, "assignee", json_null());
	json_object_set_new(v, "last_seq", json_integer((json_int_t)c->last_seq));
	if (c->lm_seq)
		json_object_set_new(v, "last_message",
				    json_pack("{s:I,s:s,s:s,s:o}", "seq", (json_int_t)c->lm_seq,
					      "text", c->lm_text, "sender_type", rec_sender_name(c->lm_sender),
					      "created_at", view_time(c->lm_ms)));
	else
		json_object_set_new(v, "last_message", json_null());
	json_object_set_new(v, "visitor_read_seq", json_integer((json_int_t)c->visitor_read_seq));
	json_object_set_new(v, "visitor_delivered_seq", json_integer((json_int_t)c->visitor_delivered_seq));
	json_object_set_new(v, "agent_read_seq", json_integer((json_int_t)c->agent_read_seq));
	json_object_set_new(v, "agent_delivered_seq", json_integer((json_int_t)c->agent_delivered_seq));
	json_object_set_new(v, "created_at", view_time(c->created_ms));
	json_object_set_new(v, "created_at_ms", json_integer(c->created_ms));
	json_object_set_new(v, "updated_at", view_time(c->updated_ms));
	json_object_set_new(v, "updated_at_ms", json_integer(c->updated_ms));
	json_object_set_new(v, "first_response_at", view_time(c->first_response_ms));
	json_object_set_new(v, "resolved_at", view_time(c->resolved_ms));
	json_object_set_new(v, "department_id", c->dept_id ? view_id(c->dept_id) : json_null());
	json_object_set_new(v, "offline", json_boolean(c->offline));
	json_object_set_new(v, "waiting_since", view_time(c->waiting_since_ms));
	json_object_set_new(v, "assigned_at", view_time(c->assigned_ms));
	json_object_set_new(v, "snooze_until", view_time(c->snooze_until_ms));
	json_object_set_new(v, "closed_at", view_time(c->closed_ms));
	json_object_set_new(v, "reopened_at", view_time(c->reopened_ms));
	json_object_set_new(v, "first_response_s",
			    c->first_response_ms ? json_integer((json_int_t)c->first_response_s) : json_null());
	json_object_set_new(v, "resolution_s", c->resolved_ms ? json_integer((json_int_t)c->resolution_s) : json_null());
	json_t *tags = json_array();
	for (int i = 0; i < c->tags.n && i < REC_IDS_MAX; i++)
		json_array_append_new(tags, view_id(c->tags.v[i]));
	json_object_set_new(v, "tags", tags);
	json_object_set_new(v, "rating", c->rating ? json_integer(c->rating) : json_null());
	return v;
}

json_t *view_event(const rec_event *e)
{
	json_t *v = json_object();
	json_object_set_new(v, "conversation_id", view_id(e->cid));
	json_object_set_new(v, "seq", json_integer((json_int_t)e->seq));
	json_object_set_new(v, "kind", json_string(rec_kind_name(e->kind)));
	json_object_set_new(v, "sender", json_pack("{s:s,s:o,s:s}", "type", rec_sender_name(e->sender_type),
						   "id", view_id(e->sender_id), "name", e->sender_name));
	if (e->kind == EK_MESSAGE || e->kind == EK_NOTE) {
		json_object_set_new(v, "text", json_string(e->text));
		json_object_set_new(v, "client_id", json_string(e->client_id));
		json_object_set_new(v, "private", json_boolean(e->kind == EK_NOTE));
		if (e->files.n) {
			json_t *fs = json_array();
			for (int i = 0; i < e->files.n && i < REC_FILES_MAX; i++) {
				const rec_fileref *r = &e->files.f[i];
				const char *mime = sniff_mime(sniff_parse(r->type));
				json_array_append_new(fs, json_pack("{s:o,s:s,s:s,s:I}", "id", view_id(r->id), "name",
								    r->name, "type", mime ? mime : "application/octet-stream",
								    "size", (json_int_t)r->size));
			}
			json_object_set_new(v, "files", fs);
		}
	}
	if (e->kind == EK_NOTE && e->mentions.n) {
		json_t *ids = json_array();
		for (int i = 0; i < e->mentions.n && i < REC_IDS_MAX; i++)
			json_array_append_new(ids, view_id(e->mentions.v[i]));
		json_object_set_new(v, "mentions", ids);
	}
	if (e->kind == EK_TAG) {
		json_object_set_new(v, "tag_id", view_id(e->tag_id));
		json_object_set_new(v, "added", json_boolean(e->flag));
	}
	if (e->kind == EK_ATTRS) {
		json_t *a = json_loads(e->text, 0, NULL);
		json_object_set_new(v, "attributes", json_is_object(a) ? a : json_object());
		if (!json_is_object(a))
			json_decref(a);
	}
	if (e->kind == EK_STATUS)
		json_object_set_new(v, "status", json_string(rec_status_name(e->status)));
	if (e->kind == EK_ASSIGNED || e->kind == EK_TRANSFER)
		json_object_set_new(v, "assignee", e->assignee_id
				    ? json_pack("{s:o,s:s}", "id", view_id(e->assignee_id), "name", e->assignee_name)
				    : json_null());
	if (e->kind == EK_TRANSFER) {
		json_object_set_new(v, "from_id", e->from_id ? view_id(e->from_id) : json_null());
		json_object_set_new(v, "department_id", e->dept_id ? view_id(e->dept_id) : json_null());
		json_object_set_new(v, "reason", json_string(e->text));
	}
	if (e->kind == EK_PRIORITY)
		json_object_set_new(v, "priority", json_string(rec_priority_name(e->priority)));
	if (e->kind == EK_RATING) {
		json_object_set_new(v, "score", json_integer(e->score));
		json_object_set_new(v, "comment", json_string(e->text));
	}
	if (e->kind == EK_PROFILE)
		json_object_set_new(v, "change", json_string(e->text));
	json_object_set_new(v, "created_at", view_time(e->created_ms));
	json_object_set_new(v, "created_at_ms", json_integer(e->created_ms));
	return v;
}


static int event_write(const rec_event *e, buf *b, bool frame);

int view_event_frame_write(const rec_event *e, buf *b)
{
	return event_write(e, b, true);
}

int view_event_write(const rec_event *e, buf *b)
{
	return event_write(e, b, false);
}

static int event_write(const rec_event *e, buf *b, bool frame)
{
	int rc = 0;
	rc |= buf_puts(b, "{\"conversation_id\":");
	rc |= jw_id(b, e->cid);
	rc |= jw_key(b, "seq", 0);
	rc |= jw_u64(b, e->seq);
	rc |= jw_key(b, "kind", 0);
	rc |= jw_cstr(b, rec_kind_name(e->kind));
	rc |= buf_puts(b, ",\"sender\":{\"type\":");
	rc |= jw_cstr(b, rec_sender_name(e->sender_type));
	rc |= jw_key(b, "id", 0);
	rc |= jw_id(b, e->sender_id);
	rc |= jw_key(b, "name", 0);
	rc |= jw_cstr(b, e->sender_name);
	rc |= buf_puts(b, "}");
	if (e->kind == EK_MESSAGE || e->kind == EK_NOTE) {
		rc |= jw_key(b, "text", 0);
		rc |= jw_cstr(b, e->text);
		rc |= jw_key(b, "client_id", 0);
		rc |= jw_cstr(b, e->client_id);
		rc |= buf_puts(b, e->kind == EK_NOTE ? ",\"private\":true" : ",\"private\":false");
		if (e->files.n) {
			rc |= buf_puts(b, ",\"files\":[");
			for (int i = 0; i < e->files.n && i < REC_FILES_MAX; i++) {
				const rec_fileref *r = &e->files.f[i];
				const char *mime = sniff_mime(sniff_parse(r->type));
				rc |= buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
				rc |= jw_id(b, r->id);
				rc |= jw_key(b, "name", 0);
				rc |= jw_cstr(b, r->name);
				rc |= jw_key(b, "type", 0);
				rc |= jw_cstr(b, mime ? mime : "application/octet-stream");
				rc |= jw_key(b, "size", 0);
				rc |= jw_u64(b, r->size);
				rc |= buf_puts(b, "}");
			}
			rc |= buf_puts(b, "]");
		}
	}
	if (e->kind == EK_NOTE && e->mentions.n) {
		rc |= buf_puts(b, ",\"mentions\":[");
		for (int i = 0; i < e->mentions.n && i < REC_IDS_MAX; i++) {
			rc |= i ? buf_puts(b, ",") : 0;
			rc |= jw_id(b, e->mentions.v[i]);
		}
		rc |= buf_puts(b, "]");
	}
	if (e->kind == EK_TAG) {
		rc |= jw_key(b, "tag_id", 0);
		rc |= jw_id(b, e->tag_id);
		rc |= buf_puts(b, e->flag ? ",\"added\":true" : ",\"added\":false");
	}
	if (e->kind == EK_ATTRS) {
		/* the write as the server stored it: one compact JSON object */
		rc |= jw_key(b, "attributes", 0);
		rc |= buf_puts(b, e->text[0] == '{' ? e->text : "{}");
	}
	if (e->kind == EK_STATUS) {
		rc |= jw_key(b, "status", 0);
		rc |= jw_cstr(b, rec_status_name(e->status));
	}
	if (e->kind == EK_ASSIGNED || e->kind == EK_TRANSFER) {
		rc |= jw_key(b, "assignee", 0);
		if (e->assignee_id) {
			rc |= buf_puts(b, "{\"id\":");
			rc |= jw_id(b, e->assignee_id);
			rc |= jw_key(b, "name", 0);
			rc |= jw_cstr(b, e->assignee_name);
			rc |= buf_puts(b, "}");
		} else {
			rc |= buf_puts(b, "null");
		}
	}
	if (e->kind == EK_TRANSFER) {
		rc |= jw_key(b, "from_id", 0);
		rc |= e->from_id ? jw_id(b, e->from_id) : buf_puts(b, "null");
		rc |= jw_key(b, "department_id", 0);
		rc |= e->dept_id ? jw_id(b, e->dept_id) : buf_puts(b, "null");
		rc |= jw_key(b, "reason", 0);
		rc |= jw_cstr(b, e->text);
	}
	if (e->kind == EK_PRIORITY) {
		rc |= jw_key(b, "priority", 0);
		rc |= jw_cstr(b, rec_priority_name(e->priority));
	}
	if (e->kind == EK_RATING) {
		rc |= jw_key(b, "score", 0);
		rc |= jw_u64(b, e->score);
		rc |= jw_key(b, "comment", 0);
		rc |= jw_cstr(b, e->text);
	}
	if (e->kind == EK_PROFILE) {
		rc |= jw_key(b, "change", 0);
		rc |= jw_cstr(b, e->text);
	}
	rc |= jw_key(b, "created_at", 0);
	rc |= jw_time(b, e->created_ms);
	rc |= jw_key(b, "created_at_ms", 0);
	rc |= jw_i64(b, e->created_ms);
	rc |= buf_puts(b, frame ? ",\"type\":\"event\"}" : "}");
	return rc ? -1 : 0;
}

int view_conv_write(const rec_conv *c, buf *b)
{
	int rc = 0;
	rc |= buf_puts(b, "{\"id\":");
	rc |= jw_id(b, c->id);
	rc |= jw_key(b, "tenant_id", 0);
	rc |= jw_id(b, c->tid);
	rc |= jw_key(b, "status", 0);
	rc |= jw_cstr(b, rec_status_name(c->status));
	rc |= jw_key(b, "priority", 0);
	rc |= jw_cstr(b, rec_priority_name(c->priority));
	rc |= buf_puts(b, ",\"visitor\":{\"id\":");
	rc |= jw_id(b, c->visitor_id);
	rc |= jw_key(b, "name", 0);
	rc |= jw_cstr(b, c->visitor_name);
	rc |= jw_key(b, "email", 0);
	rc |= jw_cstr(b, c->visitor_email);
	rc |= buf_puts(b, "},\"assignee\":");
	if (c->assignee_id) {
		rc |= buf_puts(b, "{\"id\":");
		rc |= jw_id(b, c->assignee_id);
		rc |= jw_key(b, "name", 0);
		rc |= jw_cstr(b, c->assignee_name);
		rc |= buf_puts(b, "}");
	} else {
		rc |= buf_puts(b, "null");
	}
	rc |= jw_key(b, "last_seq", 0);
	rc |= jw_u64(b, c->last_seq);
	rc |= jw_key(b, "last_message", 0);
	if (c->lm_seq) {
		rc |= buf_puts(b, "{\"seq\":");
		rc |= jw_u64(b, c->lm_seq);
		rc |= jw_key(b, "text", 0);
		rc |= jw_cstr(b, c->lm_text);
		rc |= jw_key(b, "sender_type", 0);
		rc |= jw_cstr(b, rec_sender_name(c->lm_sender));
		rc |= jw_key(b, "created_at", 0);
		rc |= jw_time(b, c->lm_ms);
		rc |= buf_puts(b, "}");
	} else {
		rc |= buf_puts(b, "null");
	}
	static const char *seq_names[] = { "visitor_read_seq", "visitor_delivered_seq", "agent_read_seq",
					   "agent_delivered_seq" };
	const uint64_t seqs[] = { c->visitor_read_seq, c->visitor_delivered_seq, c->agent_read_seq,
				  c->agent_delivered_seq };
	for (int i = 0; i < 4; i++) {
		rc |= jw_key(b, seq_names[i], 0);
		rc |= jw_u64(b, seqs[i]);
	}
	rc |= jw_key(b, "created_at", 0);
	rc |= jw_time(b, c->created_ms);
	rc |= jw_key(b, "created_at_ms", 0);
	rc |= jw_i64(b, c->created_ms);
	rc |= jw_key(b, "updated_at", 0);
	rc |= jw_time(b, c->updated_ms);
	rc |= jw_key(b, "updated_at_ms", 0);
	rc |= jw_i64(b, c->updated_ms);
	rc |= jw_key(b, "first_response_at", 0);
	rc |= jw_time(b, c->first_response_ms);
	rc |= jw_key(b, "resolved_at", 0);
	rc |= jw_time(b, c->resolved_ms);
	rc |= jw_key(b, "department_id", 0);
	rc |= c->dept_id ? jw_id(b, c->dept_id) : buf_puts(b, "null");
	rc |= buf_puts(b, c->offline ? ",\"offline\":true" : ",\"offline\":false");
	static const char *time_names[] = { "waiting_since", "assigned_at", "snooze_until", "closed_at", "reopened_at" };
	const int64_t times[] = { c->waiting_since_ms, c->assigned_ms, c->snooze_until_ms, c->closed_ms, c->reopened_ms };
	for (int i = 0; i < 5; i++) {
		rc |= jw_key(b, time_names[i], 0);
		rc |= jw_time(b, times[i]);
	}
	rc |= jw_key(b, "first_response_s", 0);
	rc |= c->first_response_ms ? jw_u64(b, c->first_response_s) : buf_puts(b, "null");
	rc |= jw_key(b, "resolution_s", 0);
	rc |= c->resolved_ms ? jw_u64(b, c->resolution_s) : buf_puts(b, "null");
	rc |= jw_key(b, "rating", 0);
	rc |= c->rating ? jw_u64(b, c->rating) : buf_puts(b, "null");
	rc |= buf_puts(b, ",\"tags\":[");
	for (int i = 0; i < c->tags.n && i < REC_IDS_MAX; i++) {
		rc |= i ? buf_puts(b, ",") : 0;
		rc |= jw_id(b, c->tags.v[i]);
	}
	rc |= buf_puts(b, "]}");
	return rc ? -1 : 0;
}

bool view_event_agents_only(int kind)
{
	return kind == EK_NOTE || kind == EK_TAG || kind == EK_PROFILE || kind == EK_ATTRS;
}

json_t *view_rating(const rec_rating *r, const char *agent_name)
{
	return json_pack("{s:i,s:s,s:o,s:o,s:o}", "score", (int)r->score, "comment", r->comment, "agent",
			 r->agent_id ? json_pack("{s:o,s:s}", "id", view_id(r->agent_id), "name", agent_name ? agent_name : "")
				     : json_null(),
			 "department_id", view_id(r->dept_id), "created_at", view_time(r->created_ms));
}
