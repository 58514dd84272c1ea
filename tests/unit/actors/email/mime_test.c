/* mime_test — actors/email/mime.c and templates.c: quoted-printable (line
 * ends, line length, '=' and trailing white space, a leading dot, UTF-8),
 * header values (plain, encoded-words split between characters and folded,
 * control characters made spaces), the whole message's structure, HTML
 * escaping, and every template escaping what people typed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "actors/email/mime.h"
#include "actors/email/templates.h"
#include "core/crypto.h"

static void no_long_lines(const char *s)
{
	for (const char *p = s; *p;) {
		const char *e = strstr(p, "\r\n");
		assert_non_null(e);   /* every line ends with CRLF */
		assert_true(e - p <= 78);
		for (const char *c = p; c < e; c++)
			assert_true(*c != '\r' && *c != '\n');
		p = e + 2;
	}
}

static void test_qp(void **state)
{
	buf b = { 0 };
	const char *in = "a=b \nline two\t\r\n.dot\nend ";
	assert_int_equal(mime_qp(&b, in, strlen(in)), 0);
	assert_string_equal(b.data, "a=3Db=20\r\nline two=09\r\n=2Edot\r\nend=20");
	buf_free(&b);
	/* UTF-8 bytes encoded; long lines soft-broken within 76 */
	char lng[400];
	memset(lng, 'x', sizeof lng - 1);
	lng[sizeof lng - 1] = 0;
	memcpy(lng + 100, "\xc3\xa9", 2);
	assert_int_equal(mime_qp(&b, lng, strlen(lng)), 0);
	assert_non_null(strstr(b.data, "=C3=A9"));
	buf_puts(&b, "\r\n");
	no_long_lines(b.data);
	for (const char *p = b.data; (p = strstr(p, "\r\n")) && p[2]; p += 2)
		assert_true(p[-1] == '=');   /* soft breaks only */
	buf_free(&b);
}

static void test_header(void **state)
{
	buf b = { 0 };
	assert_int_equal(mime_header(&b, "Subject", "Plain subject"), 0);
	assert_string_equal(b.data, "Subject: Plain subject\r\n");
	buf_free(&b);
	/* CR/LF cannot start another header */
	assert_int_equal(mime_header(&b, "Subject", "x\r\nBcc: y@z.example"), 0);
	assert_null(strstr(b.data, "\r\nBcc"));
	assert_non_null(strstr(b.data, "=?UTF-8?B?"));
	char want[128], b64[64];
	crypto_b64_encode("x  Bcc: y@z.example", 19, b64);
	snprintf(want, sizeof want, "Subject: =?UTF-8?B?%s?=\r\n", b64);
	assert_string_equal(b.data, want);
	buf_free(&b);
	/* long non-ASCII: folded, each word whole characters (é is 2 bytes) */
	char s[301] = "";
	for (int i = 0; i < 100; i++)
		strcat(s, "\xc3\xa9");
	strcat(s, "!");
	assert_int_equal(mime_header(&b, "Subject", s), 0);
	no_long_lines(b.data);
	size_t total = 0;
	for (const char *p = b.data; (p = strstr(p, "=?UTF-8?B?"));) {
		p += 10;
		const char *e = strstr(p, "?=");
		uint8_t raw[64];
		char word[128];
		memcpy(word, p, (size_t)(e - p));
		word[e - p] = 0;
		/* standard base64 → url alphabet for the strict decoder */
		for (char *c = word; *c; c++)
			*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
		long n = crypto_b64url_decode(word, strlen(word), raw, sizeof raw);
		assert_true(n > 0);
		assert_true((raw[0] & 0xC0) != 0x80);   /* starts a character */
		total += (size_t)n;
		p = e;
	}
	assert_int_equal(total, 201);
	buf_free(&b);
	/* "=?" in plain ASCII is encoded, so no reader decodes what we did not */
	assert_int_equal(mime_header(&b, "Subject", "=?UTF-8?B?SGk=?="), 0);
	assert_null(strstr(b.data, "SGk=?="));
	buf_free(&b);
}

static void test_html_escape(void **state)
{
	buf b = { 0 };
	assert_int_equal(mime_html_escape(&b, "<a href=\"x\">Tom & 'Jerry'</a>"), 0);
	assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
	buf_free(&b);
}

static void test_build(void **state)
{
	mime_mail m = { .from_name = "Acme \"Support\" <x>", .from = "s@acme.example", .to = "t@b.example",
			.subject = "Hello", .text = "text\n", .html = "<p>html</p>", .date_ms = 1765000000000,
			.auto_submitted = true };
	buf b = { 0 };
	assert_int_equal(mime_build(&m, &b), 0);
	no_long_lines(b.data);
	assert_non_null(strstr(b.data, "Date: Sat, 06 Dec 2025 05:46:40 +0000\r\n"));
	assert_non_null(strstr(b.data, "From: =?UTF-8?B?"));
	assert_non_null(strstr(b.data, "\r\n <s@acme.example>\r\n"));
	assert_null(strstr(b.data, "\"Support\""));   /* the name only as a word */
	assert_non_null(strstr(b.data, "To: <t@b.example>\r\nSubject: Hello\r\nMessage-ID: <"));
	assert_non_null(strstr(b.data, "@acme.example>\r\nAuto-Submitted: auto-generated\r\n"));
	const char *ct = strstr(b.data, "boundary=\"");
	assert_non_null(ct);
	char bound[64];
	size_t n = strcspn(ct + 10, "\"");
	memcpy(bound, ct + 10, n);
	bound[n] = 0;
	assert_int_equal(strncmp(bound, "=_", 2), 0);
	char delim[160];
	snprintf(delim, sizeof delim, "\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8", bound);
	assert_non_null(strstr(b.data, delim));
	snprintf(delim, sizeof delim, "\r\n--%s\r\nContent-Type: text/html; charset=UTF-8", bound);
	assert_non_null(strstr(b.data, delim));
	snprintf(delim, sizeof delim, "\r\n--%s--\r\n", bound);
	assert_non_null(strstr(b.data, delim));
	buf_free(&b);
}

static const char *HOSTILE = "<script>alert('x')</script>\r\nBcc: v@evil.example";

static void hostile_escaped(const email_body *b)
{
	assert_null(strstr(b->html.data, "<script>"));
	assert_non_null(strstr(b->html.data, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
	assert_null(strchr(b->subject.data, '\r'));
	assert_null(strchr(b->subject.data, '\n'));
	assert_null(strstr(b->text.data, "\nBcc:"));
}

static void test_templates(void **state)
{
	email_body b;
	tpl_new_conversation nc = { .workspace = HOSTILE, .visitor_name = HOSTILE, .visitor_email = "v@x.example",
				    .visitor_phone = "", .message = "line one\n<b>two</b> & more",
				    .link = "https://chat.example/agent/#inbox/42?a=1&b=\"2\"" };
	assert_int_equal(tpl_new_conversation_render(&nc, &b), 0);
	hostile_escaped(&b);
	assert_non_null(strstr(b.html.data, "&lt;b&gt;two&lt;/b&gt; &amp; more"));
	assert_non_null(strstr(b.html.data, "href=\"https://chat.example/agent/#inbox/42?a=1&amp;b=&quot;2&quot;\""));
	assert_non_null(strstr(b.text.data, "> line one\n> <b>two</b> & more\n"));
	assert_non_null(strstr(b.text.data, "Email: v@x.example\n"));
	assert_null(strstr(b.text.data, "Phone:"));   /* empty: left out */
	email_body_free(&b);

	tpl_invitation inv = { .workspace = "Acme", .name = HOSTILE, .role = "agent", .inviter = HOSTILE,
			       .link = "https://chat.example/agent/set-password.html#token=1.abc", .expires_ms = 1765000000000 };
	assert_int_equal(tpl_invitation_render(&inv, &b), 0);
	hostile_escaped(&b);
	assert_non_null(strstr(b.text.data, "https://chat.example/agent/set-password.html#token=1.abc"));
	assert_non_null(strstr(b.text.data, "until 2025-12-06 05:46 UTC"));
	assert_string_equal(b.subject.data, "You are invited to Acme on Parley");
	email_body_free(&b);

	tpl_test t = { .workspace = HOSTILE, .server = "smtp.example:587 (STARTTLS)", .requested_by = HOSTILE };
	assert_int_equal(tpl_test_render(&t, &b), 0);
	hostile_escaped(&b);
	email_body_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_html_escape),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_templates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
