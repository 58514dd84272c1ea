/* ua — the rule tables of ua.h and the walk over them. */
#include "core/ua.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	const char *token;
	const char *name;
} rule;

static const char *const bot_words[] = {
	"bot", "crawl", "spider", "slurp", "curl/", "wget/", "python-", "go-http-client",
	"headlesschrome", "lighthouse", "facebookexternalhit", "preview",
};

/* First match wins: browsers that also claim Chrome / Safari come first. */
static const rule browsers[] = {
	{ "SamsungBrowser/", "Samsung Internet" },
	{ "OPR/", "Opera" }, { "OPT/", "Opera" }, { "Opera", "Opera" },
	{ "Edg/", "Edge" }, { "EdgA/", "Edge" }, { "EdgiOS/", "Edge" }, { "Edge/", "Edge" },
	{ "FxiOS/", "Firefox" }, { "Firefox/", "Firefox" },
	{ "CriOS/", "Chrome" }, { "Chrome/", "Chrome" }, { "Chromium/", "Chrome" },
	{ "Version/", "Safari" },   /* with "Safari/" (checked below) */
	{ "MSIE ", "Internet Explorer" }, { "Trident/", "Internet Explorer" },
};

static const rule systems[] = {
	{ "Windows Phone", "Windows Phone" },
	{ "iPhone", "iOS" }, { "iPad", "iOS" }, { "iPod", "iOS" },
	{ "Android", "Android" },
	{ "CrOS", "ChromeOS" },
	{ "Windows", "Windows" },
	{ "Macintosh", "macOS" }, { "Mac OS X", "macOS" },
	{ "Linux", "Linux" }, { "X11", "Linux" },
};

static const char *const device_names[UA__COUNT] = { "unknown", "desktop", "mobile", "tablet", "bot" };

const char *ua_device_name(int d)
{
	return d >= 0 && d < UA__COUNT ? device_names[d] : "unknown";
}

static int major_after(const char *p)
{
	int v = 0;
	for (int i = 0; i < 6 && isdigit((unsigned char)p[i]); i++)
		v = v * 10 + (p[i] - '0');
	return v;
}

void ua_parse(const char *s, size_t n, ua_info *out)
{
	char ua[UA_SCAN_MAX + 1], low[UA_SCAN_MAX + 1];
	size_t len = 0;
	if (n > UA_SCAN_MAX)
		n = UA_SCAN_MAX;
	for (size_t i = 0; s && i < n; i++)   /* a NUL inside would end the search early: skip it */
		if (s[i])
			ua[len++] = s[i];
	ua[len] = 0;
	for (size_t i = 0; i <= len; i++)
		low[i] = (char)tolower((unsigned char)ua[i]);

	memset(out, 0, sizeof *out);
	snprintf(out->browser, sizeof out->browser, "Other");
	snprintf(out->os, sizeof out->os, "Other");
	if (!len)
		return;

	bool bot = false;
	for (size_t i = 0; i < sizeof bot_words / sizeof *bot_words && !bot; i++)
		bot = strstr(low, bot_words[i]) != NULL;

	for (size_t i = 0; i < sizeof systems / sizeof *systems; i++)
		if (strstr(ua, systems[i].token)) {
			snprintf(out->os, sizeof out->os, "%s", systems[i].name);
			break;
		}
	bool apple = !strcmp(out->os, "iOS") || !strcmp(out->os, "macOS");

	for (size_t i = 0; i < sizeof browsers / sizeof *browsers; i++) {
		const char *p = strstr(ua, browsers[i].token);
		if (!p)
			continue;
		if (!strcmp(browsers[i].name, "Safari") && !strstr(ua, "Safari/"))
			continue;
		snprintf(out->browser, sizeof out->browser, "%s", browsers[i].name);
		out->browser_major = major_after(p + strlen(browsers[i].token));
		break;
	}
	if (!strcmp(out->browser, "Other") && apple && strstr(ua, "Safari/"))
		snprintf(out->browser, sizeof out->browser, "Safari");   /* no Version/: major unknown */

	if (bot) {
		out->device = UA_BOT;
		if (!strcmp(out->browser, "Other"))
			snprintf(out->browser, sizeof out->browser, "Bot");
		return;
	}
	bool android = !strcmp(out->os, "Android");
	if (strstr(ua, "iPad") || strstr(ua, "Tablet") || (android && !strstr(ua, "Mobile")))
		out->device = UA_TABLET;
	else if (strstr(ua, "Mobi") || strstr(ua, "iPhone") || strstr(ua, "iPod") || android ||
		 !strcmp(out->os, "Windows Phone"))
		out->device = UA_MOBILE;
	else if (!strcmp(out->os, "Windows") || !strcmp(out->os, "macOS") || !strcmp(out->os, "Linux") ||
		 !strcmp(out->os, "ChromeOS"))
		out->device = UA_DESKTOP;
}
