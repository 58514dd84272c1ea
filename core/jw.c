#include "core/jw.h"
#include "core/clock.h"

#include <string.h>

int jw_str(buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (buf_reserve(b, len + 2) < 0)
		return -1;
	b->data[b->len++] = '"';
	size_t run = 0;   /* bytes since the last escape, copied in one go */
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		if (buf_append(b, s + run, i - run) < 0)
			return -1;
		char esc[7] = { '\\', 0 };
		size_t n = 2;
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			n = 6;
		}
		if (buf_append(b, esc, n) < 0)
			return -1;
		run = i + 1;
	}
	if (buf_append(b, s + run, len - run) < 0)
		return -1;
	return buf_append(b, "\"", 1);
}

int jw_cstr(buf *b, const char *s)
{
	return jw_str(b, s, strlen(s));
}

int jw_key(buf *b, const char *key, int first)
{
	if (!first && buf_append(b, ",", 1) < 0)
		return -1;
	size_t n = strlen(key);
	if (buf_reserve(b, n + 3) < 0)
		return -1;
	b->data[b->len++] = '"';
	memcpy(b->data + b->len, key, n);
	b->len += n;
	b->data[b->len++] = '"';
	b->data[b->len++] = ':';
	b->data[b->len] = 0;
	return 0;
}

int jw_u64(buf *b, uint64_t v)
{
	char tmp[24];
	int i = 24;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return buf_append(b, tmp + i, (size_t)(24 - i));
}

int jw_i64(buf *b, int64_t v)
{
	if (v < 0) {
		if (buf_append(b, "-", 1) < 0)
			return -1;
		return jw_u64(b, (uint64_t)0 - (uint64_t)v);
	}
	return jw_u64(b, (uint64_t)v);
}

int jw_id(buf *b, uint64_t id)
{
	if (!id)
		return buf_append(b, "null", 4);
	if (buf_append(b, "\"", 1) < 0 || jw_u64(b, id) < 0)
		return -1;
	return buf_append(b, "\"", 1);
}

int jw_time(buf *b, int64_t ms)
{
	if (!ms)
		return buf_append(b, "null", 4);
	char s[32];
	clock_iso8601(ms, s);
	if (buf_append(b, "\"", 1) < 0 || buf_puts(b, s) < 0)
		return -1;
	return buf_append(b, "\"", 1);
}
