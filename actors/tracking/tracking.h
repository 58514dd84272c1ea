/* tracking — visitor tracking: page views reported by the widget, visitor
 * sessions, live visitors, reports over a range, the tenant's tracking
 * settings and the identity secret that signs the site's user ids
 * (docs/openapi.yaml, tag tracking; docs/storage.md, "Visitor tracking").
 *
 * What the widget's session call needs from here: the check of a signed
 * user id.
 */
#ifndef PARLEY_TRACKING_H
#define PARLEY_TRACKING_H

#include "actors/kit/app.h"
#include "storage/records.h"

enum tracking_identity { TI_OK = 0, TI_FORGED = -1, TI_NO_SECRET = -2, TI_INTERNAL = -3 };

/* Checks user_hash (64 hex digits, either case) against
 * HMAC-SHA256(key = the tenant's identity secret as text, message =
 * user_id) in constant time: TI_OK, TI_FORGED (wrong or malformed hash),
 * TI_NO_SECRET (the tenant has none), TI_INTERNAL (the sealed secret does
 * not open under this server's key). The hash binds the id: another id's
 * hash never passes; the same id's hash always does (it names the same
 * site user, docs/openapi.yaml). */
int tracking_identity_check(app *a, const rec_tenant *t, const char *user_id, const char *user_hash);

#endif
