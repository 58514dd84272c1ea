/* ua — a small table-driven User-Agent parser: device type, browser, OS.
 *
 * Debian ships no maintained User-Agent parser for C, so this is a short
 * ordered table of substring rules, enough for visitor analytics (what
 * share of visitors use a phone, which browsers and systems), not for
 * feature detection. The rules, first match wins in each table:
 *
 *   bots     "bot", "crawl", "spider", "slurp", "curl/", "wget/",
 *            "python-", "go-http-client", "headlesschrome", "lighthouse",
 *            "facebookexternalhit", "preview" (case-insensitive) → device bot
 *   browser  "SamsungBrowser/" Samsung Internet · "OPR/", "OPT/", "Opera"
 *            Opera · "Edg/", "EdgA/", "EdgiOS/", "Edge/" Edge · "FxiOS/",
 *            "Firefox/" Firefox · "CriOS/", "Chrome/", "Chromium/" Chrome ·
 *            "Safari/" with "Version/" or an Apple system Safari ·
 *            "MSIE ", "Trident/" Internet Explorer · else "Other"
 *            (the order matters: Edge, Opera and Samsung Internet also
 *            say "Chrome/" and "Safari/"; Chrome on iOS says "Safari/")
 *   OS       "Windows Phone" Windows Phone · "iPhone", "iPad", "iPod" iOS ·
 *            "Android" Android · "CrOS" ChromeOS · "Windows" Windows ·
 *            "Macintosh", "Mac OS X" macOS · "Linux", "X11" Linux · else
 *            "Other"
 *   device   bot (above) · tablet: "iPad", "Tablet", or Android without
 *            "Mobile" · mobile: "Mobi", "iPhone", "iPod", "Android",
 *            "Windows Phone" · desktop: Windows, macOS, Linux, ChromeOS ·
 *            else unknown
 *
 * Browser and OS matching is case-sensitive (the tokens are fixed
 * product names); the bot words are not. The browser's major version is
 * the digits after its token. Empty input, or input with no known token,
 * gives unknown / "Other". Only the first UA_SCAN_MAX bytes are looked at.
 * No allocation; thread-safe.
 */
#ifndef PARLEY_UA_H
#define PARLEY_UA_H

#include <stddef.h>

#define UA_SCAN_MAX 1024
#define UA_NAME_MAX 24

enum ua_device { UA_UNKNOWN = 0, UA_DESKTOP, UA_MOBILE, UA_TABLET, UA_BOT, UA__COUNT };

typedef struct {
	int device;                       /* enum ua_device */
	char browser[UA_NAME_MAX + 1];    /* "Chrome", … or "Other" ("Bot" for bots without a known browser) */
	int browser_major;                /* 0 when unknown */
	char os[UA_NAME_MAX + 1];         /* "Windows", … or "Other" */
} ua_info;

/* Parses n bytes of a User-Agent header value (s may be NULL with n 0). */
void ua_parse(const char *s, size_t n, ua_info *out);

/* "unknown" | "desktop" | "mobile" | "tablet" | "bot". */
const char *ua_device_name(int d);

#endif
