/* templates — the emails Parley sends, each as a subject, a plain-text
 * body and an HTML body (handed to mime_build).
 *
 * Every value a person typed (names, addresses, messages, the workspace
 * name) is HTML-escaped in the HTML body and has its control characters
 * made spaces where it stands on one line; links are built by the server.
 * New emails (the offline digest, transcripts) add a render function here
 * over the same blocks.
 */
#ifndef PARLEY_TEMPLATES_H
#define PARLEY_TEMPLATES_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

typedef struct {
	buf subject;               /* one line, UTF-8 */
	buf text;                  /* '\n' line ends */
	buf html;
} email_body;

void email_body_free(email_body *b);

/* To the tenant's notification address when a visitor starts a
 * conversation. Empty values are left out. */
typedef struct {
	const char *workspace;     /* the tenant's name */
	const char *visitor_name, *visitor_email, *visitor_phone;
	const char *message;       /* the first message, may span lines */
	const char *link;          /* the conversation in the console */
} tpl_new_conversation;

/* To a new team member: the set-password link. */
typedef struct {
	const char *workspace;
	const char *name;          /* the invited person */
	const char *role;
	const char *inviter;       /* who invited them ("" = not known) */
	const char *link;          /* the set-password page with the token */
	int64_t expires_ms;
} tpl_invitation;

/* POST /v1/email/test: proof that the settings work. */
typedef struct {
	const char *workspace;
	const char *server;        /* "smtp.example.com:587 (STARTTLS)" */
	const char *requested_by;  /* the admin who asked */
} tpl_test;

/* To a visitor: the transcript of their conversation, on request or when
 * it closes. text and html are the transcript itself, rendered (and
 * escaped) by actors/transcripts; html is a fragment for the body. */
typedef struct {
	const char *workspace;
	const char *visitor_name;  /* "" = not known */
	const char *text;
	const char *html;
} tpl_transcript;

/* To a department's notification address: the conversations that started
 * while nobody could answer, one email per window (actors/desk). */
typedef struct {
	const char *visitor_name, *visitor_email;
	const char *message;       /* the last message's preview */
	const char *link;          /* the conversation in the console */
} tpl_offline_item;

typedef struct {
	const char *workspace;
	const char *department;
	const tpl_offline_item *items;
	size_t n;
} tpl_offline_digest;

/* Each fills *out (zeroed first): 0, or -1 out of memory (*out freed). */
int tpl_new_conversation_render(const tpl_new_conversation *v, email_body *out);
int tpl_invitation_render(const tpl_invitation *v, email_body *out);
int tpl_test_render(const tpl_test *v, email_body *out);
int tpl_transcript_render(const tpl_transcript *v, email_body *out);
int tpl_offline_digest_render(const tpl_offline_digest *v, email_body *out);

#endif
