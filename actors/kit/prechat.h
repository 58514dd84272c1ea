/* prechat — the tenant's pre-chat form (which of name, email, phone and a
 * first question the widget asks: off, optional or required), the
 * transcript and rating settings beside it, and the checks a visitor's
 * answers pass before a conversation starts (docs/openapi.yaml). Shared by
 * the tenant settings, which change it, and the widget, which shows it and
 * validates against it. */
#ifndef PARLEY_KIT_PRECHAT_H
#define PARLEY_KIT_PRECHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "net/http.h"
#include "storage/records.h"

/* The default rating window when the tenant's is 0: seven days. */
#define PRECHAT_RATING_WINDOW_S (7 * 86400)
/* The longest rating window a tenant may set: a year. */
#define PRECHAT_RATING_WINDOW_MAX_S (366 * 86400)

/* {"name": "off"|"optional"|"required", "email", "phone", "question"}. */
json_t *view_prechat(const rec_tenant *t);

/* A settings change: -1 = unchanged. */
typedef struct {
	int name, email, phone, question;   /* enum prechat_mode */
	int transcript_on_close;            /* 0/1 */
	int64_t rating_window_s;
} prechat_change;

/* Reads "prechat" {name?, email?, phone?, question?}, "transcript_on_close"
 * and "rating_window_s" (0 = the default, at most a year) of a tenant
 * settings body into *c (fields absent: unchanged); answers 400
 * invalid_field naming the field and returns -1 on a bad value. */
int prechat_read(http_req *req, json_t *body, prechat_change *c);

/* Applies the change to the stored tenant. */
void prechat_apply(const prechat_change *c, rec_tenant *t);

/* The tenant's rating window in milliseconds. */
int64_t prechat_rating_window_ms(const rec_tenant *t);

/* A phone number as the form takes it: 3 to 32 of [+0-9 ()-], with at
 * least one digit. */
bool prechat_phone_ok(const char *s);

/* An email address as the form takes it: local@domain, no spaces or
 * controls, a dot in the domain, at most REC_EMAIL_MAX bytes. */
bool prechat_email_ok(const char *s);

/* The visitor's answers when a conversation starts (each NULL when not
 * given). Checks them against the tenant's form: a required field neither
 * given nor already known of the visitor (`known`: their stored name,
 * email and phone; a question is asked anew each time) answers 400
 * prechat_required naming it; a field the form does not ask for, or a
 * malformed one, 400 invalid_field naming it. Returns 0, or -1 after
 * answering. */
typedef struct {
	const char *name, *email, *phone, *question;
} prechat_answers;
int prechat_check(http_req *req, const rec_tenant *t, const prechat_answers *a, const rec_visitor *known);

#endif
