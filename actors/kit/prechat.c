/* prechat — the pre-chat form's settings and checks (see prechat.h). */
#include "actors/kit/prechat.h"
#include "actors/kit/api.h"

#include <stdio.h>
#include <string.h>

json_t *view_prechat(const rec_tenant *t)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "name", rec_prechat_name(t->prechat_name), "email",
			 rec_prechat_name(t->prechat_email), "phone", rec_prechat_name(t->prechat_phone), "question",
			 rec_prechat_name(t->prechat_question));
}

static const char *const FIELDS[] = { "name", "email", "phone", "question", NULL };

int prechat_read(http_req *req, json_t *body, prechat_change *c)
{
	c->name = c->email = c->phone = c->question = c->transcript_on_close = -1;
	c->rating_window_s = -1;
	json_t *f = json_object_get(body, "prechat");
	if (f) {
		if (!json_is_object(f))
			return api_bad_field(req, "prechat", "prechat must be an object");
		if (api_only(req, f, FIELDS) < 0)
			return -1;
		int *slot[] = { &c->name, &c->email, &c->phone, &c->question };
		for (int i = 0; FIELDS[i]; i++) {
			json_t *v = json_object_get(f, FIELDS[i]);
			if (!v)
				continue;
			int m = json_is_string(v) ? rec_prechat_parse(json_string_value(v)) : -1;
			if (m < 0)
				return api_bad_field(req, FIELDS[i], "must be off, optional or required");
			*slot[i] = m;
		}
	}
	json_t *t = json_object_get(body, "transcript_on_close");
	if (t) {
		if (!json_is_boolean(t))
			return api_bad_field(req, "transcript_on_close", "transcript_on_close must be true or false");
		c->transcript_on_close = json_is_true(t);
	}
	json_t *w = json_object_get(body, "rating_window_s");
	if (w) {
		if (!json_is_integer(w) || json_integer_value(w) < 0 ||
		    json_integer_value(w) > PRECHAT_RATING_WINDOW_MAX_S)
			return api_bad_field(req, "rating_window_s",
					     "rating_window_s must be seconds from 0 (the default, 7 days) to 31,622,400 (a year)");
		c->rating_window_s = json_integer_value(w);
	}
	return 0;
}

void prechat_apply(const prechat_change *c, rec_tenant *t)
{
	if (c->name >= 0)
		t->prechat_name = (uint8_t)c->name;
	if (c->email >= 0)
		t->prechat_email = (uint8_t)c->email;
	if (c->phone >= 0)
		t->prechat_phone = (uint8_t)c->phone;
	if (c->question >= 0)
		t->prechat_question = (uint8_t)c->question;
	if (c->transcript_on_close >= 0)
		t->transcript_on_close = c->transcript_on_close == 1;
	if (c->rating_window_s >= 0)
		t->rating_window_s = (uint64_t)c->rating_window_s;
}

int64_t prechat_rating_window_ms(const rec_tenant *t)
{
	return (int64_t)(t->rating_window_s ? t->rating_window_s : PRECHAT_RATING_WINDOW_S) * 1000;
}

bool prechat_phone_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > REC_PHONE_MAX || strspn(s, "+0123456789 ()-") != n)
		return false;
	return strpbrk(s, "0123456789") != NULL;
}

bool prechat_email_ok(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n < 3 || n > REC_EMAIL_MAX || !at || at == s || strchr(at + 1, '@'))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == '"' || *p == ',' || *p == ';')
			return false;
	const char *dot = strrchr(at + 1, '.');
	return dot && dot > at + 1 && dot[1];
}

int prechat_check(http_req *req, const rec_tenant *t, const prechat_answers *a, const rec_visitor *known)
{
	const char *v[] = { a->name, a->email, a->phone, a->question };
	const char *k[] = { known->name, known->email, known->phone, "" };
	const uint8_t m[] = { t->prechat_name, t->prechat_email, t->prechat_phone, t->prechat_question };
	static const size_t max[] = { REC_NAME_MAX, REC_EMAIL_MAX, REC_PHONE_MAX, REC_TEXT_MAX };
	for (int i = 0; i < 4; i++) {
		bool given = v[i] && v[i][0];
		if (m[i] == PRE_REQUIRED && !given && !k[i][0]) {
			char msg[64];
			snprintf(msg, sizeof msg, "the pre-chat form requires %s", FIELDS[i]);
			http_respond_error(req, 400, "prechat_required", msg, FIELDS[i]);
			return -1;
		}
		if (!v[i])
			continue;
		if (m[i] == PRE_OFF && given)
			return api_bad_field(req, FIELDS[i], "the pre-chat form does not ask for this field");
		if (strlen(v[i]) > max[i])
			return api_bad_field(req, FIELDS[i], "too long");
	}
	if (a->email && a->email[0] && !prechat_email_ok(a->email))
		return api_bad_field(req, "email", "email is not an address");
	if (a->phone && a->phone[0] && !prechat_phone_ok(a->phone))
		return api_bad_field(req, "phone", "phone must be 3 to 32 of digits, spaces, +, (, ) and -");
	return 0;
}
