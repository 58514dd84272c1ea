/* email — the shared parts of the email feature (see email.h). */
#include "actors/email/email.h"
#include "actors/email/mime.h"
#include "core/clock.h"
#include "core/secretbox.h"

#include <stdio.h>
#include <string.h>

/* The additional data a tenant's password is sealed with: a sealed
 * password copied into another tenant's record does not open. */
static size_t password_aad(uint64_t tid, char *out, size_t cap)
{
	return (size_t)snprintf(out, cap, "smtp-password:%llu", (unsigned long long)tid);
}

bool email_configured(const rec_email *e)
{
	return e->host[0] && e->from[0];
}

int email_seal_password(app *a, uint64_t tid, const char *password, char *out)
{
	char aad[48];
	size_t n = password_aad(tid, aad, sizeof aad);
	return secretbox_seal(a->secret_key, aad, n, password, strlen(password), out, REC_SEALED_MAX + 1) < 0 ? -1 : 0;
}

int email_open_server(app *a, const rec_email *e, smtp_server *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->host, sizeof out->host, "%s", e->host);
	out->port = (int)e->port;
	out->security = e->security;
	snprintf(out->username, sizeof out->username, "%s", e->username);
	snprintf(out->from, sizeof out->from, "%s", e->from);
	if (!e->password[0])
		return 0;
	char aad[48];
	size_t n = password_aad(e->tid, aad, sizeof aad);
	return secretbox_open(a->secret_key, aad, n, e->password, out->password, sizeof out->password) < 0 ? -1 : 0;
}

int email_compose(const rec_email *e, const char *workspace, const char *to, const email_body *body,
		  bool notification, buf *out)
{
	mime_mail m = {
		.from_name = workspace, .from = e->from, .to = to, .subject = body->subject.data,
		.text = body->text.data, .html = body->html.data, .date_ms = clock_now_ms(),
		.auto_submitted = notification,
	};
	return mime_build(&m, out);
}

void email_link(app *a, const char *path, char *out, size_t cap)
{
	if (a->cfg.public_url[0]) {
		snprintf(out, cap, "%s%s", a->cfg.public_url, path);
		return;
	}
	const char *host = strcmp(a->cfg.host, "0.0.0.0") == 0 || strcmp(a->cfg.host, "::") == 0 ? "127.0.0.1"
											    : a->cfg.host;
	snprintf(out, cap, "http://%s%s%s:%d%s", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
		 a->port, path);
}
