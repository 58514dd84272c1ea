/* smtp — one email handed to an SMTP server through libcurl.
 *
 * A job is a libcurl easy handle set up for one message to one recipient:
 * the tenant's server (STARTTLS required, implicit TLS, or none), its
 * credentials, the envelope, and the guard of kit/outbound.h (only
 * smtp/smtps, no proxy, every resolved address checked against the egress
 * policy). The caller runs it — curl_easy_perform for the test send, a
 * multi handle for deliveries — and asks smtp_job_outcome what happened,
 * with the server's last reply when there was one.
 */
#ifndef PARLEY_SMTP_H
#define PARLEY_SMTP_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "actors/kit/outbound.h"
#include "core/buf.h"
#include "storage/records.h"

#define SMTP_PASSWORD_MAX 256

/* A tenant's server with the password in the clear (smtp_server_wipe). */
typedef struct {
	char host[REC_HOST_MAX + 1];
	int port;
	int security;                          /* enum smtp_security */
	char username[REC_EMAIL_MAX + 1];
	char password[SMTP_PASSWORD_MAX + 1];
	char from[REC_EMAIL_MAX + 1];
} smtp_server;

enum smtp_outcome {
	SMTP_SENT = 0,
	SMTP_REJECTED,      /* the server refused for good (5xx) */
	SMTP_FAILED,        /* worth retrying: 4xx, connection lost or refused, TLS, DNS */
	SMTP_TIMEOUT,       /* no answer in time */
	SMTP_FORBIDDEN,     /* the egress guard refused the address */
};

typedef struct {
	CURL *h;
	struct curl_slist *rcpt;
	buf msg;                               /* the message, owned */
	size_t pos;                            /* bytes of msg handed to libcurl */
	outbound_guard guard;
	const atomic_bool *cancel;             /* set: the transfer stops (server shutdown) */
	char url[REC_HOST_MAX + 64];
	char error[CURL_ERROR_SIZE];
	char reply[160];                       /* the server's last reply line */
} smtp_job;

/* Sets up j for msg (taken: freed with the job) to `to` through s. 0, or
 * -1 (out of memory, an option libcurl refused); j is cleaned up either
 * way on failure. */
int smtp_job_init(smtp_job *j, const smtp_server *s, const char *to, buf *msg, const egress *policy,
		  long connect_ms, long total_ms);

/* What the finished transfer's result means; a sentence for people in
 * what (the server's reply, or libcurl's reason, or the refused address). */
int smtp_job_outcome(smtp_job *j, CURLcode rc, char *what, size_t cap);

/* Frees the handle, the recipient list and the message. */
void smtp_job_cleanup(smtp_job *j);

/* Clears the password. */
void smtp_server_wipe(smtp_server *s);

/* "smtp.example.com:587 (STARTTLS)" */
void smtp_server_describe(const smtp_server *s, char *out, size_t cap);

#endif
