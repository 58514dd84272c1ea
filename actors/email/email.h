/* email — what the email feature shares between its files: the senders
 * (a small runtime of its own, so a stalled SMTP server never holds up
 * password hashing), opening a tenant's settings for sending, and
 * composing a message from a template's body.
 */
#ifndef PARLEY_EMAIL_H
#define PARLEY_EMAIL_H

#include <stdatomic.h>
#include <stddef.h>
#include "actors/email/smtp.h"
#include "actors/email/templates.h"
#include "actors/kit/app.h"
#include "actors/kit/jobs.h"

#define EMAIL_SENDERS 2              /* test sends at once; more wait in their queue */

struct email {
	actor_rt *rt;
	jobs *senders;
	atomic_bool stopping;            /* transfers in progress end (smtp_job.cancel) */
};

/* True when the settings name a server and a sender: something can be sent. */
bool email_configured(const rec_email *e);

/* Seals a password for tenant tid into out (REC_SEALED_MAX + 1 bytes); 0 or -1. */
int email_seal_password(app *a, uint64_t tid, const char *password, char *out);

/* The settings with the password opened; 0, or -1 when it does not open
 * under this server's key (the key file was replaced). */
int email_open_server(app *a, const rec_email *e, smtp_server *out);

/* The message of body from the tenant's sender (display name: the
 * tenant's name) to `to`, appended to out; 0 or -1. */
int email_compose(const rec_email *e, const char *workspace, const char *to, const email_body *body,
		  bool notification, buf *out);

/* <public url><path> into out: the server's --public-url, or its own
 * address when none was given. */
void email_link(app *a, const char *path, char *out, size_t cap);

#endif
