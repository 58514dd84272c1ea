/* mime — an email as the bytes an SMTP server receives (RFC 5322, MIME).
 *
 * Every message is multipart/alternative with a text/plain and a text/html
 * part, both UTF-8 and quoted-printable, CRLF line ends, no line longer
 * than 78 characters. Header values that come from people (names,
 * subjects) go out as RFC 2047 encoded-words whenever they are not plain
 * short ASCII, with every control character made a space first, so no
 * value can end a header or start another. Addresses are taken as
 * account_email_address_ok leaves them (nothing to escape). No I/O.
 */
#ifndef PARLEY_MIME_H
#define PARLEY_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

typedef struct {
	const char *from_name;     /* sender's display name, any UTF-8 ("" = none) */
	const char *from;          /* sender address */
	const char *to;            /* recipient address */
	const char *subject;       /* any UTF-8 */
	const char *text;          /* the plain-text body, '\n' line ends */
	const char *html;          /* the HTML body (escaped by whoever built it) */
	int64_t date_ms;
	bool auto_submitted;       /* notifications: Auto-Submitted: auto-generated (RFC 3834) */
} mime_mail;

/* Appends the whole message to out: 0, or -1 (out of memory, or no
 * randomness for the Message-ID and the boundary). */
int mime_build(const mime_mail *m, buf *out);

/* Appends "Name: value" CRLF, the value as it is when it is printable
 * ASCII that fits on one line, else as encoded-words folded over lines
 * (split between UTF-8 characters); control characters become spaces.
 * 0 or -1. */
int mime_header(buf *out, const char *name, const char *value);

/* Appends n bytes of s quoted-printable (RFC 2045: '\n' and "\r\n" become
 * CRLF line ends, lines of at most 76 characters, trailing white space
 * and a leading '.' encoded). 0 or -1. */
int mime_qp(buf *out, const char *s, size_t n);

/* Appends s with & < > " ' as HTML character references. 0 or -1. */
int mime_html_escape(buf *out, const char *s);

#endif
