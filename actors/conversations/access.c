/* access — conversation reads and the handlers shared by the agent and
 * widget routes. */
#include "actors/conversations/access.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/view.h"
#include "core/id.h"
#include "core/jw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_load_conv(app *a, uint64_t tid, uint64_t cid, rec_conv *out)
{
	MDB_txn *txn;
	if (db_read(a->db, &txn))
		return STORE_EIO;
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(a->db, txn, DB_CONVS, k, rec_key2(k, tid, cid), &v);
	if (rc == 0 && rec_conv_decode(v.mv_data, v.mv_size, out))
		rc = STORE_ECORRUPT;
	mdb_txn_abort(txn);
	return rc;
}

bool api_conv_visible(const principal *p, const rec_conv *c)
{
	if (p->kind == P_VISITOR)
		return c->visitor_id == p->id;
	return p->kind == P_AGENT && perm_conv_visible(role_parse(p->role), p->id, c);
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

void api_list_events(http_req *req, app *a, const rec_conv *c, bool visitor)
{
	int64_t after, limit;
	if (api_query_int(req, "after", 0, 0, INT64_MAX, &after) < 0 ||
	    api_query_int(req, "limit", 100, 1, 500, &limit) < 0)
		return;
	MDB_txn *txn;
	if (db_read(a->db, &txn)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	MDB_cursor *cur;
	mdb_cursor_open(txn, db_dbi(a->db, DB_EVENTS), &cur);
	uint8_t k[24];
	MDB_val key = { rec_key3(k, c->tid, c->id, (uint64_t)after + 1), k }, v;
	/* written directly, not through a jansson tree: this is the heaviest
	 * read the console makes (docs/performance.md) */
	buf out = { 0 };
	int wrc = buf_puts(&out, "{\"data\":[");
	size_t n = 0;
	uint64_t last = 0;
	bool full = false;
	rec_event *e = malloc(sizeof *e);
	int rc = e ? mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE) : MDB_NOTFOUND;
	while (rc == 0 && key.mv_size == 24 && memcmp(key.mv_data, k, 16) == 0) {
		if (n == (size_t)limit) {
			full = true;
			break;
		}
		last = db_get_be64((uint8_t *)key.mv_data + 16);
		if (rec_event_decode(v.mv_data, v.mv_size, e) == 0 && !(visitor && e->kind == EK_NOTE)) {
			if (n++)
				wrc |= buf_puts(&out, ",");
			wrc |= view_event_write(e, &out);
		}
		rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
	}
	free(e);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	wrc |= buf_puts(&out, "],\"next_cursor\":");
	if (full) {
		wrc |= buf_puts(&out, "\"");
		wrc |= jw_u64(&out, last);
		wrc |= buf_puts(&out, "\"}");
	} else {
		wrc |= buf_puts(&out, "null}");
	}
	if (wrc)
		http_respond_error(req, 500, "internal", "out of memory", NULL);
	else
		http_respond(req, 200, "application/json", out.data, out.len, "Cache-Control: no-store\r\n");
	buf_free(&out);
}

void api_send_message(http_req *req, app *a, const principal *who, uint64_t cid)
{
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *client_id, *text;
	if (api_str(req, body, "client_id", true, 1, REC_CLIENT_ID_MAX, &client_id) < 0 ||
	    api_str(req, body, "text", true, 1, REC_TEXT_MAX, &text) < 0)
		goto out;
	json_t *pv = json_object_get(body, "private");
	if (pv && !json_is_boolean(pv)) {
		http_respond_error(req, 400, "invalid_field", "private must be a boolean", "private");
		goto out;
	}
	bool priv = pv && json_is_true(pv);
	if (priv && who->kind != P_AGENT) {
		http_respond_error(req, 403, "forbidden", "visitors cannot send private notes", "private");
		goto out;
	}
	conv_msg *m = conv_msg_new(CM_SEND);
	if (!m || !(m->text = strdup(text))) {
		conv_msg_free(m);
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	m->text_len = strlen(text);
	strcpy(m->client_id, client_id);
	m->flag = priv;
	m->who = *who;
	m->http_view = true;
	reply_begin_http(a, &m->reply, req);
	conv_send(a, who->tid, cid, m);
out:
	json_decref(body);
}
