/* mime — see mime.h.
 *
 * Quoted-printable rather than base64 for the bodies: the notifications are
 * mostly ASCII, stay readable in a raw mailbox and in test output, and grow
 * by a few percent where base64 always adds a third. The boundary starts
 * with "=_", which quoted-printable text can never contain ('=' is always
 * followed by two hex digits or a line end), so no body can end a part
 * early. A leading '.' is encoded too, so the message never depends on the
 * SMTP client's dot-stuffing.
 */
#include "actors/email/mime.h"
#include "core/crypto.h"

#include <string.h>
#include <time.h>

#define LINE_MAX_QP 76
#define HEADER_FITS 78
#define EW_RAW 45          /* bytes per encoded-word: 60 base64 chars, 72 with "=?UTF-8?B?" "?=" */

static const char HEXU[] = "0123456789ABCDEF";

int mime_html_escape(buf *out, const char *s)
{
	int rc = 0;
	for (const char *p = s; *p && rc == 0;) {
		size_t n = strcspn(p, "&<>\"'");
		rc |= buf_append(out, p, n);
		p += n;
		if (!*p)
			break;
		switch (*p++) {
		case '&': rc |= buf_puts(out, "&amp;"); break;
		case '<': rc |= buf_puts(out, "&lt;"); break;
		case '>': rc |= buf_puts(out, "&gt;"); break;
		case '"': rc |= buf_puts(out, "&quot;"); break;
		default: rc |= buf_puts(out, "&#39;"); break;
		}
	}
	return rc ? -1 : 0;
}

int mime_qp(buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int col = 0, rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = p[i];
		if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;   /* the '\n' ends the line */
		if (c == '\n') {
			rc |= buf_append(out, "\r\n", 2);
			col = 0;
			continue;
		}
		bool line_end = i + 1 == n || p[i + 1] == '\n' || (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n');
		bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
		if (c == '.' && col == 0)
			literal = false;
		char tok[3] = { (char)c, 0, 0 };
		int len = 1;
		if (!literal) {
			tok[0] = '=';
			tok[1] = HEXU[c >> 4];
			tok[2] = HEXU[c & 15];
			len = 3;
		}
		/* room for a soft break ('=') unless this token ends the line */
		if (col + len > (line_end ? LINE_MAX_QP : LINE_MAX_QP - 1)) {
			rc |= buf_append(out, "=\r\n", 3);
			col = 0;
			if (c == '.') {   /* now first on its line */
				tok[0] = '=', tok[1] = '2', tok[2] = 'E', len = 3;
			}
		}
		rc |= buf_append(out, tok, (size_t)len);
		col += len;
	}
	return rc ? -1 : 0;
}

/* Printable ASCII that needs no encoding in a header (no "=?" that a
 * reader could take for an encoded-word). */
static bool plain_ascii(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < ' ' || *p > '~' || (p[0] == '=' && p[1] == '?'))
			return false;
	return true;
}

/* Appends value as encoded-words, the first starting at column col, the
 * others on continuation lines, none past column 78. */
static int encoded_words(buf *out, const char *value, size_t col)
{
	size_t n = strlen(value), i = 0;
	int rc = 0;
	char raw[EW_RAW + 1], b64[CRYPTO_B64_LEN(EW_RAW) + 1];
	while (i < n && rc == 0) {
		/* base64 characters that fit the line, in whole groups of 4 */
		size_t room = HEADER_FITS - col - 12;
		size_t max = room / 4 * 3 > EW_RAW ? EW_RAW : room / 4 * 3;
		size_t take = n - i > max ? max : n - i;
		/* back up to the start of a UTF-8 character (a run of
		 * continuation bytes longer than 3 is not UTF-8: cut anyway) */
		if (i + take < n)
			for (size_t k = 0; k < 3 && take > 1 && ((unsigned char)value[i + take] & 0xC0) == 0x80; k++)
				take--;
		for (size_t k = 0; k < take; k++) {
			unsigned char c = (unsigned char)value[i + k];
			raw[k] = c < ' ' || c == 0x7f ? ' ' : (char)c;
		}
		crypto_b64_encode(raw, take, b64);
		rc |= buf_printf(out, "%s=?UTF-8?B?%s?=", i ? "\r\n " : "", b64);
		col = 1;
		i += take;
	}
	return rc;
}

int mime_header(buf *out, const char *name, const char *value)
{
	size_t n = strlen(value), head = strlen(name) + 2;
	int rc = buf_printf(out, "%s: ", name);
	if (plain_ascii(value) && head + n <= HEADER_FITS)
		rc |= buf_append(out, value, n);
	else
		rc |= encoded_words(out, value, head);
	return rc | buf_append(out, "\r\n", 2) ? -1 : 0;
}

/* "Tue, 08 Dec 2026 09:05:00 +0000" (RFC 5322 3.3); gmtime_r does not
 * read the process's time zone. */
static int put_date(buf *out, int64_t ms)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return -1;
	return buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
			  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int put_from(buf *out, const char *name, const char *addr)
{
	if (!name[0])
		return buf_printf(out, "From: <%s>\r\n", addr);
	/* plain only for letters, digits and spaces: anything else could be a
	 * special of the address syntax */
	bool simple = strlen(name) <= 40;
	for (const char *p = name; *p && simple; p++)
		simple = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == ' ';
	if (simple)
		return buf_printf(out, "From: %s <%s>\r\n", name, addr);
	return buf_puts(out, "From: ") | encoded_words(out, name, 6) | buf_printf(out, "\r\n <%s>\r\n", addr) ? -1 : 0;
}

int mime_build(const mime_mail *m, buf *out)
{
	uint8_t rnd[24];
	char id[2 * 16 + 1], bound[2 * 8 + 1];
	if (crypto_random(rnd, sizeof rnd) < 0)
		return -1;
	crypto_hex(rnd, 16, id);
	crypto_hex(rnd + 16, 8, bound);
	const char *domain = strchr(m->from, '@');
	domain = domain ? domain + 1 : "parley.invalid";
	int rc = put_date(out, m->date_ms);
	rc |= put_from(out, m->from_name ? m->from_name : "", m->from);
	rc |= buf_printf(out, "To: <%s>\r\n", m->to);
	rc |= mime_header(out, "Subject", m->subject);
	rc |= buf_printf(out, "Message-ID: <%s@%s>\r\n", id, domain);
	if (m->auto_submitted)
		rc |= buf_puts(out, "Auto-Submitted: auto-generated\r\n");
	rc |= buf_printf(out, "MIME-Version: 1.0\r\n"
			      "Content-Type: multipart/alternative; boundary=\"=_%s\"\r\n"
			      "\r\n"
			      "This is a message in MIME format.\r\n"
			      "\r\n--=_%s\r\n"
			      "Content-Type: text/plain; charset=UTF-8\r\n"
			      "Content-Transfer-Encoding: quoted-printable\r\n\r\n", bound, bound);
	rc |= mime_qp(out, m->text, strlen(m->text));
	rc |= buf_printf(out, "\r\n--=_%s\r\n"
			      "Content-Type: text/html; charset=UTF-8\r\n"
			      "Content-Transfer-Encoding: quoted-printable\r\n\r\n", bound);
	rc |= mime_qp(out, m->html, strlen(m->html));
	rc |= buf_printf(out, "\r\n--=_%s--\r\n", bound);
	return rc ? -1 : 0;
}
