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
#include "actors/email/smtp.h"
#include "actors/kit/app.h"
#include "storage/records.h"
#include "storage/store.h"

/* The lane target the outbound thread files emails under (no endpoint). */
#define EMAIL_TARGET UINT64_MAX

/* Start-up: registers the emit sink that writes the new-conversation
 * notification; 0 or -1. */
int email_queue_start(app *a);

/* Writer thread, inside tx: the invitation (set-password link with token,
 * valid until expires_ms) to user u, when the tenant has SMTP settings.
 * 0 (written, or nothing to write), or a store error. */
int email_queue_invitation(app *a, store_txn *tx, const rec_user *u, const char *inviter, const char *token,
			   int64_t expires_ms);

/* Outbound thread: sets up j to send entry en (read in t) through the
 * tenant's current settings. 0; or -1 with a reason in why (the settings
 * are gone or do not open, out of memory) — an attempt that failed. */
int email_queue_job(app *a, store_txn *t, const rec_outbox *en, smtp_job *j, long connect_ms, long total_ms,
		    char *why, size_t cap);

#endif
