/* smtp — see smtp.h.
 *
 * libcurl speaks SMTP well enough (EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA,
 * dot-stuffing) that writing a client here would only add a protocol to
 * get wrong; what it lacks is the server's reply text in its error, so a
 * debug callback keeps the last line the server sent, which is what an
 * admin needs to see ("550 5.7.1 Relaying denied"). STARTTLS is required
 * when chosen (CURLUSESSL_ALL): a server that does not offer it fails
 * rather than receiving the password in the clear.
 */
#include "actors/email/smtp.h"

#include <stdio.h>
#include <string.h>

static size_t read_cb(char *dst, size_t size, size_t nitems, void *arg)
{
	smtp_job *j = arg;
	size_t room = size * nitems, left = j->msg.len - j->pos;
	size_t n = left < room ? left : room;
	memcpy(dst, j->msg.data + j->pos, n);
	j->pos += n;
	return n;
}

/* Keeps the server's last reply line (but the goodbye to QUIT, which
 * libcurl sends after a failure too). */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	smtp_job *j = arg;
	if (type != CURLINFO_HEADER_IN || size < 3 || memcmp(data, "221", 3) == 0)
		return 0;
	size_t n = size < sizeof j->reply - 1 ? size : sizeof j->reply - 1;
	for (size_t i = 0; i < n; i++)
		j->reply[i] = (unsigned char)data[i] < ' ' || data[i] == 0x7f ? ' ' : data[i];
	while (n && j->reply[n - 1] == ' ')
		n--;
	j->reply[n] = 0;
	return 0;
}

static int progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	smtp_job *j = arg;
	return j->cancel && atomic_load(j->cancel) ? 1 : 0;
}

int smtp_job_init(smtp_job *j, const smtp_server *s, const char *to, buf *msg, const egress *policy,
		  long connect_ms, long total_ms)
{
	memset(j, 0, sizeof *j);
	j->msg = *msg;
	memset(msg, 0, sizeof *msg);
	j->guard.policy = policy;
	const char *domain = strchr(s->from, '@');
	bool v6 = strchr(s->host, ':') != NULL;
	/* the path is the EHLO name: the sender's domain */
	snprintf(j->url, sizeof j->url, "%s://%s%s%s:%d/%s", s->security == SMTP_TLS ? "smtps" : "smtp",
		 v6 ? "[" : "", s->host, v6 ? "]" : "", s->port, domain ? domain + 1 : "localhost");
	char from[REC_EMAIL_MAX + 3], rcpt[REC_EMAIL_MAX + 3];
	snprintf(from, sizeof from, "<%s>", s->from);
	snprintf(rcpt, sizeof rcpt, "<%s>", to);
	j->h = curl_easy_init();
	j->rcpt = curl_slist_append(NULL, rcpt);
	if (!j->h || !j->rcpt || outbound_setup(j->h, &j->guard, OUTBOUND_SMTP, connect_ms, total_ms) < 0)
		goto fail;
	CURLcode rc = CURLE_OK;
#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(j->h, opt, val); \
	} while (0)
	SET(CURLOPT_URL, j->url);
	SET(CURLOPT_USE_SSL, (long)(s->security == SMTP_PLAIN ? CURLUSESSL_NONE : CURLUSESSL_ALL));
	SET(CURLOPT_MAIL_FROM, from);
	SET(CURLOPT_MAIL_RCPT, j->rcpt);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->msg.len);
	SET(CURLOPT_READFUNCTION, read_cb);
	SET(CURLOPT_READDATA, j);
	SET(CURLOPT_ERRORBUFFER, j->error);
	SET(CURLOPT_DEBUGFUNCTION, debug_cb);
	SET(CURLOPT_DEBUGDATA, j);
	SET(CURLOPT_VERBOSE, 1L);   /* feeds debug_cb only */
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, progress_cb);
	SET(CURLOPT_XFERINFODATA, j);
	if (s->username[0]) {
		SET(CURLOPT_USERNAME, s->username);
		SET(CURLOPT_PASSWORD, s->password);
	}
#undef SET
	if (rc != CURLE_OK)
		goto fail;
	return 0;
fail:
	smtp_job_cleanup(j);
	return -1;
}

int smtp_job_outcome(smtp_job *j, CURLcode rc, char *what, size_t cap)
{
	long code = 0;
	if (j->h)
		curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		snprintf(what, cap, "%s", j->reply[0] ? j->reply : "accepted");
		return SMTP_SENT;
	}
	if (j->guard.refused[0]) {
		snprintf(what, cap, "the address %s may not be connected to (--outbound-allow)", j->guard.refused);
		return SMTP_FORBIDDEN;
	}
	const char *why = j->error[0] ? j->error : curl_easy_strerror(rc);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(what, cap, "no answer in time: %s", why);
		return SMTP_TIMEOUT;
	}
	if (code >= 400 && j->reply[0])
		snprintf(what, cap, "the server answered %s", j->reply);
	else
		snprintf(what, cap, "%s", why);
	return code >= 500 && code < 600 ? SMTP_REJECTED : SMTP_FAILED;
}

void smtp_job_cleanup(smtp_job *j)
{
	if (j->h)
		curl_easy_cleanup(j->h);
	curl_slist_free_all(j->rcpt);
	buf_free(&j->msg);
	j->h = NULL;
	j->rcpt = NULL;
}

void smtp_server_wipe(smtp_server *s)
{
	memset(s->password, 0, sizeof s->password);
}

void smtp_server_describe(const smtp_server *s, char *out, size_t cap)
{
	static const char *const names[SMTP__COUNT] = { "STARTTLS", "TLS", "no encryption" };
	bool v6 = strchr(s->host, ':') != NULL;
	snprintf(out, cap, "%s%s%s:%d (%s)", v6 ? "[" : "", s->host, v6 ? "]" : "", s->port,
		 s->security >= 0 && s->security < SMTP__COUNT ? names[s->security] : "?");
}
