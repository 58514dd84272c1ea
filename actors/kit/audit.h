/* audit — the tenant's audit log from the features' side.
 *
 * A change an admin makes (users, roles, departments, settings, keys,
 * webhooks) and every assignment and transfer is recorded by one call
 * from the writer request's apply, in the transaction of the change
 * itself: the row exists exactly when the change does
 * (storage/audit_store.h). Who: the principal (a user, an API key, or the
 * system when who is NULL); from where: principal.addr, the peer's
 * address or X-Forwarded-For from a trusted proxy (auth_peer_addr).
 *
 * Actions are "<record type>.<verb>": user.invite, user.role,
 * user.deactivate, user.reactivate, user.update, tenant.update,
 * email.update, api_key.create, api_key.revoke, webhook.create,
 * webhook.update, webhook.delete, department.create, department.update,
 * department.delete, department.reorder, department.members, user.capacity,
 * conversation.assign, conversation.transfer (docs/openapi.yaml, tag
 * audit).
 */
#ifndef PARLEY_AUDIT_H
#define PARLEY_AUDIT_H

#include <jansson.h>
#include <stdint.h>
#include "actors/kit/auth.h"
#include "storage/store.h"

struct app;

/* actor_kind of a row written by the server itself. */
#define AUDIT_SYSTEM 0xff

/* Appends a row to the log of who->tid (or of tid when who is NULL: the
 * system) in t, at the clock's now. details_json: a JSON object of what
 * changed, or NULL ("{}"); one longer than the row holds is kept as
 * {"truncated": true}. 0 or a store code (the caller's apply returns it:
 * a failed row fails the change). */
int audit_in_txn(struct app *a, store_txn *t, const principal *who, const char *action,
		 const char *record_type, uint64_t record_id, const char *details_json);

/* The same with details as a JSON value (stolen; NULL: none) and the
 * tenant given (for who == NULL). */
int audit_json(struct app *a, store_txn *t, uint64_t tid, const principal *who, const char *action,
	       const char *record_type, uint64_t record_id, json_t *details);

#endif
