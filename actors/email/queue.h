/* queue — the emails Parley sends on its own, through the durable outbox
 * (actors/outbox/outbox.h): entries of kind OBK_EMAIL written in the
 * transaction of what causes them, delivered by the outbound thread with
 * the webhooks' back-off, horizon and delivery log (docs/email.md).
 *
 * An entry's payload is the recipient, a newline, and the whole message
 * (MIME, rendered when the entry is written); the tenant's SMTP server is
 * read when it is sent, so a changed password applies to what waits.
 */
#ifndef PARLEY_EMAIL_QUEUE_H
#define PARLEY_EMAIL_QUEUE_H

#include <stdint.h>
#include "actors/email/templates.h"
#include "actors/kit/app.h"
#include "storage/records.h"
#include "storage/store.h"

/* Start-up: registers the emit sink that writes the new-conversation
 * notification, and the outbox's sender of email entries; 0 or -1. */
int email_queue_start(app *a);

/* Writer thread, inside tx: the invitation (set-password link with token,
 * valid until expires_ms) to user u, when the tenant has SMTP settings.
 * 0 (written, or nothing to write), or a store error. */
int email_queue_invitation(app *a, store_txn *tx, const rec_user *u, const char *inviter, const char *token,
			   int64_t expires_ms);

/* Writer thread, inside tx: email b (taken: freed here) to `to` for tenant
 * tid through the outbox, as the entry of event `event` of conversation
 * cid, when the tenant has SMTP settings (their name heads the message).
 * 0 with *sent true (written, or dropped over the quota) or false (no
 * settings: nothing written); or a store error. */
int email_queue_send(app *a, store_txn *tx, uint64_t tid, const char *to, email_body *b, uint8_t event, uint64_t cid,
		     bool *sent);

/* Writer thread, inside tx: the offline email of department d listing
 * conversations convs[0..n), to the department's notification address
 * (else the tenant's), when the tenant has SMTP settings. 0 or a store
 * error. */
int email_queue_offline(app *a, store_txn *tx, const rec_dept *d, const rec_conv *convs, size_t n);

#endif
