/* templates — see templates.h.
 *
 * Each email is put together from a few blocks (a heading, a paragraph, a
 * labelled field, a quoted message, a button, a footer) that write the
 * plain-text and the HTML body side by side, so the two always say the
 * same thing and escaping happens in one place: the blocks escape every
 * value; only their fixed markup is written raw. Inline styles, a table
 * layout and no images: what mail clients render alike.
 */
#include "actors/email/templates.h"
#include "actors/email/mime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define ACCENT "#1f6feb"

void email_body_free(email_body *b)
{
	buf_free(&b->subject);
	buf_free(&b->text);
	buf_free(&b->html);
}

/* Appends s with control characters (line ends too) as spaces: a value
 * that belongs on one line. */
static int one_line(buf *out, const char *s)
{
	int rc = 0;
	for (const char *p = s; *p && rc == 0; p++)
		rc = buf_append(out, (unsigned char)*p < ' ' || *p == 0x7f ? " " : p, 1);
	return rc;
}

/* The same, HTML-escaped. */
static int one_line_html(buf *out, const char *s)
{
	buf tmp = { 0 };
	int rc = one_line(&tmp, s);
	if (rc == 0 && tmp.data)
		rc = mime_html_escape(out, tmp.data);
	buf_free(&tmp);
	return rc;
}

static int begin(email_body *b, const char *heading)
{
	return buf_printf(&b->html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
				    "<meta name=\"viewport\" content=\"width=device-width\"></head>\n"
				    "<body style=\"margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,"
				    "'Segoe UI',Helvetica,Arial,sans-serif;color:#1d2330;line-height:1.5\">\n"
				    "<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" cellspacing=\"0\" "
				    "style=\"max-width:560px;margin:0 auto;background:#fff;border-radius:8px;"
				    "padding:24px\"><tr><td>\n<h1 style=\"font-size:20px;margin:0 0 16px\">") |
	       one_line_html(&b->html, heading) | buf_puts(&b->html, "</h1>\n") |
	       one_line(&b->text, heading) | buf_puts(&b->text, "\n\n");
}

/* A paragraph: fixed text with one value (escaped) in place of "%s". */
static int para(email_body *b, const char *fmt, const char *value)
{
	const char *at = strstr(fmt, "%s");
	size_t head = at ? (size_t)(at - fmt) : strlen(fmt);
	int rc = buf_puts(&b->html, "<p style=\"margin:0 0 16px\">") | buf_append(&b->html, fmt, head) |
		 buf_append(&b->text, fmt, head);
	if (at) {
		rc |= buf_puts(&b->html, "<strong>") | one_line_html(&b->html, value) | buf_puts(&b->html, "</strong>") |
		      one_line(&b->text, value) | buf_puts(&b->html, at + 2) | buf_puts(&b->text, at + 2);
	}
	return rc | buf_puts(&b->html, "</p>\n") | buf_puts(&b->text, "\n\n");
}

static int field(email_body *b, const char *label, const char *value)
{
	if (!value || !value[0])
		return 0;
	return buf_printf(&b->html, "<p style=\"margin:0 0 4px\"><span style=\"color:#5b6475\">%s:</span> ", label) |
	       one_line_html(&b->html, value) | buf_puts(&b->html, "</p>\n") |
	       buf_printf(&b->text, "%s: ", label) | one_line(&b->text, value) | buf_puts(&b->text, "\n");
}

/* A message as the visitor wrote it: its lines kept. */
static int quote(email_body *b, const char *text)
{
	if (!text || !text[0])
		return 0;
	int rc = buf_puts(&b->html, "<blockquote style=\"margin:16px 0;padding:8px 12px;border-left:3px solid "
				    ACCENT ";background:#f6f8fa;white-space:pre-wrap\">") |
		 mime_html_escape(&b->html, text) | buf_puts(&b->html, "</blockquote>\n") | buf_puts(&b->text, "\n");
	for (const char *p = text; *p && rc == 0;) {
		size_t n = strcspn(p, "\n");
		rc |= buf_puts(&b->text, "> ") | buf_append(&b->text, p, n) | buf_puts(&b->text, "\n");
		p += n + (p[n] == '\n');
	}
	return rc | buf_puts(&b->text, "\n");
}

static int button(email_body *b, const char *label, const char *url)
{
	return buf_puts(&b->html, "<p style=\"margin:24px 0\"><a href=\"") | mime_html_escape(&b->html, url) |
	       buf_printf(&b->html, "\" style=\"display:inline-block;background:" ACCENT ";color:#fff;"
				    "text-decoration:none;padding:10px 18px;border-radius:6px;font-weight:600\">%s</a></p>\n"
				    "<p style=\"margin:0 0 16px;font-size:13px;color:#5b6475\">Or open this address: ", label) |
	       mime_html_escape(&b->html, url) | buf_puts(&b->html, "</p>\n") |
	       buf_printf(&b->text, "%s: ", label) | buf_puts(&b->text, url) | buf_puts(&b->text, "\n\n");
}

static int end(email_body *b, const char *footer, const char *workspace)
{
	int rc = buf_puts(&b->html, "<p style=\"margin:24px 0 0;font-size:12px;color:#8a93a3\">") |
		 buf_puts(&b->text, "-- \n");
	const char *at = strstr(footer, "%s");
	size_t head = at ? (size_t)(at - footer) : strlen(footer);
	rc |= buf_append(&b->html, footer, head) | buf_append(&b->text, footer, head);
	if (at)
		rc |= one_line_html(&b->html, workspace) | one_line(&b->text, workspace) | buf_puts(&b->html, at + 2) |
		      buf_puts(&b->text, at + 2);
	return rc | buf_puts(&b->html, "</p>\n</td></tr></table>\n</body></html>\n") | buf_puts(&b->text, "\n");
}

static int finish(email_body *b, int rc)
{
	if (rc || !b->subject.data || !b->text.data || !b->html.data) {
		email_body_free(b);
		return -1;
	}
	return 0;
}

int tpl_new_conversation_render(const tpl_new_conversation *v, email_body *out)
{
	memset(out, 0, sizeof *out);
	const char *who = v->visitor_name && v->visitor_name[0] ? v->visitor_name : "A visitor";
	int rc = buf_puts(&out->subject, "New conversation from ") | one_line(&out->subject, who) |
		 buf_puts(&out->subject, " (") | one_line(&out->subject, v->workspace) | buf_puts(&out->subject, ")");
	rc |= begin(out, "New conversation");
	rc |= para(out, "%s started a conversation.", who);
	rc |= field(out, "Name", v->visitor_name) | field(out, "Email", v->visitor_email) |
	      field(out, "Phone", v->visitor_phone);
	rc |= quote(out, v->message);
	rc |= button(out, "Open the conversation", v->link);
	rc |= end(out, "You receive this because this address gets new-conversation notifications of %s.",
		  v->workspace);
	return finish(out, rc);
}

int tpl_invitation_render(const tpl_invitation *v, email_body *out)
{
	memset(out, 0, sizeof *out);
	char until[64] = "";
	time_t t = (time_t)(v->expires_ms / 1000);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(until, sizeof until, "This link works until %Y-%m-%d %H:%M UTC and only once.", &tm);
	int rc = buf_puts(&out->subject, "You are invited to ") | one_line(&out->subject, v->workspace) |
		 buf_puts(&out->subject, " on Parley");
	rc |= begin(out, "You are invited");
	rc |= para(out, "Hello %s,", v->name);
	if (v->inviter && v->inviter[0])
		rc |= para(out, "%s invited you to answer chats with the team of this workspace:", v->inviter);
	else
		rc |= para(out, "You were invited to answer chats with the team of this workspace:", NULL);
	rc |= field(out, "Workspace", v->workspace) | field(out, "Role", v->role) | buf_puts(&out->text, "\n");
	rc |= button(out, "Choose your password", v->link);
	rc |= para(out, until, NULL);
	rc |= end(out, "If you did not expect this invitation, ignore this email. Sent for %s.", v->workspace);
	return finish(out, rc);
}

int tpl_test_render(const tpl_test *v, email_body *out)
{
	memset(out, 0, sizeof *out);
	int rc = buf_puts(&out->subject, "Test email from ") | one_line(&out->subject, v->workspace);
	rc |= begin(out, "Email works");
	rc |= para(out, "This test email went out through %s.", v->server);
	rc |= field(out, "Workspace", v->workspace) | field(out, "Requested by", v->requested_by);
	rc |= buf_puts(&out->text, "\n");
	rc |= end(out, "Parley sends the notifications of %s this way.", v->workspace);
	return finish(out, rc);
}

int tpl_transcript_render(const tpl_transcript *v, email_body *out)
{
	memset(out, 0, sizeof *out);
	int rc = buf_puts(&out->subject, "Your conversation with ") | one_line(&out->subject, v->workspace);
	rc |= begin(out, "Your conversation");
	if (v->visitor_name && v->visitor_name[0])
		rc |= para(out, "Hello %s,", v->visitor_name);
	rc |= para(out, "here is the transcript of your conversation with %s.", v->workspace);
	rc |= buf_puts(&out->html, v->html) | buf_puts(&out->text, v->text) | buf_puts(&out->text, "\n");
	rc |= end(out, "You receive this because you asked for the transcript, or %s sends one when a conversation closes.",
		  v->workspace);
	return finish(out, rc);
}

int tpl_offline_digest_render(const tpl_offline_digest *v, email_body *out)
{
	memset(out, 0, sizeof *out);
	char count[96];
	snprintf(count, sizeof count, "%zu conversation%s started while nobody could answer in %%s:", v->n,
		 v->n == 1 ? "" : "s");
	int rc = buf_printf(&out->subject, "%zu waiting offline in ", v->n) | one_line(&out->subject, v->department) |
		 buf_puts(&out->subject, " (") | one_line(&out->subject, v->workspace) | buf_puts(&out->subject, ")");
	rc |= begin(out, "Conversations waiting offline");
	rc |= para(out, count, v->department);
	for (size_t i = 0; i < v->n; i++) {
		const tpl_offline_item *it = &v->items[i];
		const char *who = it->visitor_name && it->visitor_name[0] ? it->visitor_name : "A visitor";
		rc |= field(out, "Visitor", who) | field(out, "Email", it->visitor_email) | field(out, "Message", it->message) |
		      field(out, "Open", it->link) | buf_puts(&out->text, "\n") | buf_puts(&out->html, "<hr>\n");
	}
	rc |= end(out, "You receive this because this address gets the offline emails of a department of %s.",
		  v->workspace);
	return finish(out, rc);
}
