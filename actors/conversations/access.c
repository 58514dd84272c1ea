/* access — conversation reads and the handlers shared by the agent and
 * widget routes. */
#include "actors/conversations/access.h"
#include "actors/conversations/tools.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/view.h"
#include "core/id.h"
#include "core/jw.h"
#include "storage/conv_store.h"
#include "storage/file_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_load_conv(app *a, uint64_t tid, uint64_t cid, rec_conv *out)
{
	store_txn t;
	if (store_read(a->db, &t))
		return STORE_EIO;
	int rc = convstore_get(&t, tid, cid, out);
	store_done(&t);
	return rc;
}

bool api_conv_visible(const principal *p, const rec_conv *c)
{
	if (p->kind == P_VISITOR)
		return c->visitor_id == p->id;
	return principal_is_staff(p) && perm_conv_visible(role_parse(p->role), p->id, c);
}

int api_route_conv(http_req *req, const principal *p, rec_conv *c)
{
	app *a = api_app(req);
	uint64_t cid;
	if (api_id_param(req, 0, &cid) < 0)
		return -1;
	int rc = api_load_conv(a, p->tid, cid, c);
	if (rc == STORE_ENOTFOUND || (rc == 0 && !api_conv_visible(p, c))) {
		http_respond_error(req, 404, "not_found", "no such conversation", NULL);
		return -1;
	}
	if (rc) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	return 0;
}

/* A page of events written as JSON: n counts the events written, last
 * the seq of every event seen (the next page starts after it). */
typedef struct {
	buf out;
	int wrc;
	bool visitor;
	size_t n, limit;
	uint64_t last;
	bool full;
} events_page;

static bool page_step(void *arg, uint64_t seq, const rec_event *e)
{
	events_page *p = arg;
	if (p->n == p->limit) {
		p->full = true;
		return false;
	}
	p->last = seq;
	if (e && !(p->visitor && view_event_agents_only(e->kind))) {
		if (p->n++)
			p->wrc |= buf_puts(&p->out, ",");
		p->wrc |= view_event_write(e, &p->out);
	}
	return true;
}

void api_list_events(http_req *req, app *a, const rec_conv *c, bool visitor)
{
	int64_t after, limit;
	if (api_query_int(req, "after", 0, 0, INT64_MAX, &after) < 0 ||
	    api_query_int(req, "limit", 100, 1, 500, &limit) < 0)
		return;
	store_txn t;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	/* written directly, not through a jansson tree: this is the heaviest
	 * read the console makes (docs/performance.md) */
	events_page p = { .visitor = visitor, .limit = (size_t)limit };
	p.wrc = buf_puts(&p.out, "{\"data\":[");
	int rc = convstore_each_event(&t, c->tid, c->id, (uint64_t)after, UINT64_MAX, SIZE_MAX, page_step, &p);
	store_done(&t);
	p.wrc |= buf_puts(&p.out, "],\"next_cursor\":");
	if (p.full) {
		p.wrc |= buf_puts(&p.out, "\"");
		p.wrc |= jw_u64(&p.out, p.last);
		p.wrc |= buf_puts(&p.out, "\"}");
	} else {
		p.wrc |= buf_puts(&p.out, "null}");
	}
	if (rc && rc != STORE_ENOMEM)
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
	else if (rc || p.wrc)
		http_respond_error(req, 500, "internal", "out of memory", NULL);
	else
		http_respond(req, 200, "application/json", p.out.data, p.out.len, "Cache-Control: no-store\r\n");
	buf_free(&p.out);
}

int conv_read_files(app *a, json_t *v, uint64_t tid, uint64_t cid, rec_files **out, const char **msg)
{
	*out = NULL;
	if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > REC_FILES_MAX) {
		*msg = "files must be an array of at most 10 file ids";
		return -1;
	}
	size_t n = json_array_size(v);
	uint64_t ids[REC_FILES_MAX];
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e) || !id_parse(json_string_value(e), json_string_length(e), &ids[i])) {
			*msg = "files must be an array of file ids";
			return -1;
		}
		for (size_t k = 0; k < i; k++) {
			if (ids[k] == ids[i]) {
				*msg = "files names a file twice";
				return -1;
			}
		}
	}
	rec_files *fs = calloc(1, sizeof *fs);
	store_txn t;
	if (!fs || store_read(a->db, &t)) {
		free(fs);
		return -2;
	}
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		rec_file f;
		int r = filestore_get(&t, tid, ids[i], &f);
		if (r == STORE_ENOTFOUND || (r == 0 && f.cid != cid)) {
			*msg = "files names a file not uploaded to this conversation";
			rc = -1;
		} else if (r) {
			rc = -2;
		} else {
			rec_fileref *ref = &fs->f[fs->n++];
			ref->id = f.id;
			rec_strcpy(ref->name, sizeof ref->name, f.name, strlen(f.name));
			strcpy(ref->type, f.type);
			ref->size = f.size;
		}
	}
	store_done(&t);
	if (rc)
		free(fs);
	else
		*out = fs;
	return rc;
}

void api_send_message(http_req *req, app *a, const principal *who, uint64_t cid)
{
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *client_id, *text, *fmsg = NULL;
	rec_files *files = NULL;
	if (api_str(req, body, "client_id", true, 1, REC_CLIENT_ID_MAX, &client_id) < 0)
		goto out;
	int frc = conv_read_files(a, json_object_get(body, "files"), who->tid, cid, &files, &fmsg);
	if (frc == -1) {
		http_respond_error(req, 400, "invalid_field", fmsg, "files");
		goto out;
	}
	if (frc < 0) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		goto out;
	}
	/* a message of files, or from a canned response, may come without text */
	bool canned = json_object_get(body, "canned_id") != NULL;
	if (api_str(req, body, "text", !files && !canned, files ? 0 : 1, REC_TEXT_MAX, &text) < 0)
		goto out;
	if (!text)
		text = "";
	json_t *pv = json_object_get(body, "private");
	if (pv && !json_is_boolean(pv)) {
		http_respond_error(req, 400, "invalid_field", "private must be a boolean", "private");
		goto out;
	}
	bool priv = pv && json_is_true(pv);
	if (priv && !principal_is_staff(who)) {
		http_respond_error(req, 403, "forbidden", "visitors cannot send private notes", "private");
		goto out;
	}
	char *ctext = NULL;
	rec_ids mentions;
	tool_err te;
	if (conv_tools_send(a, who, cid, body, priv, &ctext, &mentions, &te) < 0) {
		http_respond_error(req, te.status, te.code, te.msg, te.field);
		goto out;
	}
	if (ctext)
		text = ctext;
	conv_msg *m = conv_msg_new(CM_SEND);
	if (!m || !(m->text = strdup(text))) {
		free(ctext);
		conv_msg_free(m);
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	free(ctext);
	m->mentions = mentions;
	m->files = files;
	files = NULL;
	m->text_len = m->text ? strlen(m->text) : 0;
	strcpy(m->client_id, client_id);
	m->flag = priv;
	m->who = *who;
	m->http_view = true;
	reply_begin_http(a, &m->reply, req);
	conv_send(a, who->tid, cid, m);
out:
	free(files);
	json_decref(body);
}

void api_messages_route(http_req *req, const principal *p)
{
	rec_conv c;
	if (api_route_conv(req, p, &c) == 0)
		api_list_events(req, api_app(req), &c, p->kind == P_VISITOR);
}

void api_send_route(http_req *req, const principal *p)
{
	rec_conv c;
	if (api_route_conv(req, p, &c) == 0)
		api_send_message(req, api_app(req), p, c.id);
}
