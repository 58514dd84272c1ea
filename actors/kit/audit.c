/* audit — see audit.h. */
#include "actors/kit/audit.h"
#include "actors/kit/app.h"
#include "storage/audit_store.h"
#include "core/clock.h"

#include <stdlib.h>
#include <string.h>

static int append(uint64_t tid, store_txn *t, const principal *who, const char *action, const char *record_type,
		  uint64_t record_id, const char *details)
{
	rec_audit r;
	memset(&r, 0, sizeof r);
	r.tid = who ? who->tid : tid;
	r.at_ms = clock_now_ms();
	if (who) {
		r.actor_kind = who->kind;
		r.actor_id = who->id;
		rec_strcpy(r.actor_name, sizeof r.actor_name, who->name, strlen(who->name));
		rec_strcpy(r.addr, sizeof r.addr, who->addr, strnlen(who->addr, sizeof who->addr));
	} else {
		r.actor_kind = AUDIT_SYSTEM;
		strcpy(r.actor_name, "system");
	}
	rec_strcpy(r.action, sizeof r.action, action, strlen(action));
	rec_strcpy(r.record_type, sizeof r.record_type, record_type, strlen(record_type));
	r.record_id = record_id;
	if (!details)
		details = "{}";
	if (strlen(details) > REC_AUDIT_MAX)
		details = "{\"truncated\":true}";
	strcpy(r.details, details);
	return auditstore_append(t, &r);
}

int audit_in_txn(app *a, store_txn *t, const principal *who, const char *action, const char *record_type,
		 uint64_t record_id, const char *details_json)
{
	(void)a;
	return append(who ? who->tid : 0, t, who, action, record_type, record_id, details_json);
}

int audit_json(app *a, store_txn *t, uint64_t tid, const principal *who, const char *action,
	       const char *record_type, uint64_t record_id, json_t *details)
{
	(void)a;
	char *s = details ? json_dumps(details, JSON_COMPACT) : NULL;
	json_decref(details);
	int rc = append(tid, t, who, action, record_type, record_id, s);
	free(s);
	return rc;
}
