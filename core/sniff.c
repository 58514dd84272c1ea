/* sniff — file types from their bytes (see sniff.h). */
#include "core/sniff.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name, *mime;
} types[FT__COUNT] = {
	[FT_JPEG] = { "jpeg", "image/jpeg" },
	[FT_PNG] = { "png", "image/png" },
	[FT_GIF] = { "gif", "image/gif" },
	[FT_WEBP] = { "webp", "image/webp" },
	[FT_PDF] = { "pdf", "application/pdf" },
	[FT_DOC] = { "doc", "application/msword" },
	[FT_DOCX] = { "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	[FT_TXT] = { "txt", "text/plain" },
};

const char *sniff_mime(int t)
{
	return t > FT_UNKNOWN && t < FT__COUNT ? types[t].mime : NULL;
}

const char *sniff_name(int t)
{
	return t > FT_UNKNOWN && t < FT__COUNT ? types[t].name : NULL;
}

int sniff_parse(const char *s)
{
	for (int t = FT_UNKNOWN + 1; t < FT__COUNT; t++)
		if (strcmp(s, types[t].name) == 0 || strcmp(s, types[t].mime) == 0)
			return t;
	return FT_UNKNOWN;
}

bool sniff_is_image(int t)
{
	return t == FT_JPEG || t == FT_PNG || t == FT_GIF || t == FT_WEBP;
}

const char *sniff_why(int why)
{
	switch (why) {
	case SNIFF_EMPTY: return "the file is empty";
	case SNIFF_MARKUP: return "HTML, SVG and XML files are not accepted";
	case SNIFF_ZIP_BOMB: return "the archive's directory claims far more data than the file holds (zip bomb)";
	case SNIFF_EIO: return "the file could not be read back";
	default: return "unsupported file type: only JPEG, PNG, GIF, WEBP images and PDF, DOC, DOCX, TXT documents are accepted";
	}
}

void sniff_init(sniff_state *s)
{
	memset(s, 0, sizeof *s);
	s->text = true;
}

/* UTF-8 per RFC 3629 (no overlongs, no surrogates, nothing past U+10FFFF). */
void sniff_feed(sniff_state *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	if (s->head_len < SNIFF_HEAD) {
		size_t k = SNIFF_HEAD - s->head_len < n ? SNIFF_HEAD - s->head_len : n;
		memcpy(s->head + s->head_len, p, k);
		s->head_len += k;
	}
	s->size += n;
	for (size_t i = 0; i < n && s->text; i++) {
		uint8_t c = p[i];
		if (s->need) {
			if (c < s->lo || c > s->hi) {
				s->text = false;
				break;
			}
			s->lo = 0x80;
			s->hi = 0xbf;
			s->need--;
			continue;
		}
		if (c == 0) {
			s->text = false;
		} else if (c < 0x80) {
			/* ASCII */
		} else if (c >= 0xc2 && c <= 0xdf) {
			s->need = 1, s->lo = 0x80, s->hi = 0xbf;
		} else if (c == 0xe0) {
			s->need = 2, s->lo = 0xa0, s->hi = 0xbf;
		} else if (c == 0xed) {
			s->need = 2, s->lo = 0x80, s->hi = 0x9f;
		} else if (c >= 0xe1 && c <= 0xef) {
			s->need = 2, s->lo = 0x80, s->hi = 0xbf;
		} else if (c == 0xf0) {
			s->need = 3, s->lo = 0x90, s->hi = 0xbf;
		} else if (c >= 0xf1 && c <= 0xf3) {
			s->need = 3, s->lo = 0x80, s->hi = 0xbf;
		} else if (c == 0xf4) {
			s->need = 3, s->lo = 0x80, s->hi = 0x8f;
		} else {
			s->text = false;
		}
	}
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct {
	uint64_t off, end;
} span;

static int span_cmp(const void *a, const void *b)
{
	const span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* A zip: FT_DOCX, or FT_UNKNOWN with *why. */
static int sniff_zip(uint64_t size, sniff_read_fn rd, void *ctx, int *why)
{
	*why = SNIFF_UNKNOWN;
	if (size < 22)
		return FT_UNKNOWN;
	/* the end of central directory record: in the last 22 + 65,535 bytes */
	size_t tail_len = size < 22 + 65535 ? (size_t)size : 22 + 65535;
	uint8_t *tail = malloc(tail_len);
	if (!tail || rd(ctx, size - tail_len, tail, tail_len)) {
		free(tail);
		*why = SNIFF_EIO;
		return FT_UNKNOWN;
	}
	const uint8_t *eocd = NULL;
	size_t at = 0;
	for (size_t i = tail_len - 22 + 1; i-- > 0;) {
		if (le32(tail + i) == 0x06054b50 && le16(tail + i + 20) == tail_len - i - 22) {
			eocd = tail + i;
			at = i;
			break;
		}
	}
	if (!eocd) {
		free(tail);
		return FT_UNKNOWN;
	}
	uint64_t eocd_off = size - tail_len + at;
	uint16_t disk = le16(eocd + 4), cd_disk = le16(eocd + 6);
	uint16_t n_here = le16(eocd + 8), n = le16(eocd + 10);
	uint32_t cd_size = le32(eocd + 12), cd_off = le32(eocd + 16);
	free(tail);
	if (n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
		*why = SNIFF_ZIP_BOMB;   /* ZIP64: nothing a 5 MB document needs */
		return FT_UNKNOWN;
	}
	if (disk || cd_disk || n_here != n || (uint64_t)cd_off + cd_size > eocd_off)
		return FT_UNKNOWN;
	if (n > SNIFF_ZIP_MAX_ENTRIES) {
		*why = SNIFF_ZIP_BOMB;
		return FT_UNKNOWN;
	}
	if ((uint64_t)n * 46 > cd_size)
		return FT_UNKNOWN;
	uint8_t *cd = malloc(cd_size ? cd_size : 1);
	span *spans = malloc((n ? n : 1) * sizeof *spans);
	int type = FT_UNKNOWN;
	if (!cd || !spans || rd(ctx, cd_off, cd, cd_size)) {
		*why = SNIFF_EIO;
		goto out;
	}
	bool content_types = false, word = false;
	uint64_t total = 0;
	size_t p = 0;
	for (unsigned i = 0; i < n; i++) {
		if (cd_size - p < 46 || le32(cd + p) != 0x02014b50)
			goto out;
		const uint8_t *e = cd + p;
		uint16_t method = le16(e + 10);
		uint32_t csize = le32(e + 20), usize = le32(e + 24);
		uint16_t nl = le16(e + 28), xl = le16(e + 30), cl = le16(e + 32);
		uint32_t loff = le32(e + 42);
		if (csize == 0xffffffffu || usize == 0xffffffffu || loff == 0xffffffffu) {
			*why = SNIFF_ZIP_BOMB;
			goto out;
		}
		if ((size_t)46 + nl + xl + cl > cd_size - p || !nl)
			goto out;
		if ((method != 0 && method != 8) || (method == 0 && csize != usize))
			goto out;
		if ((uint64_t)loff + 30 + nl + csize > cd_off)
			goto out;   /* its data cannot lie before the directory */
		if (usize > 1u << 20 && (uint64_t)usize > (uint64_t)csize * SNIFF_ZIP_MAX_RATIO) {
			*why = SNIFF_ZIP_BOMB;
			goto out;
		}
		total += usize;
		if (total > SNIFF_ZIP_MAX_TOTAL) {
			*why = SNIFF_ZIP_BOMB;
			goto out;
		}
		const char *name = (const char *)e + 46;
		if (nl == 19 && memcmp(name, "[Content_Types].xml", 19) == 0)
			content_types = true;
		if (nl > 5 && memcmp(name, "word/", 5) == 0)
			word = true;
		spans[i] = (span){ loff, (uint64_t)loff + 30 + nl + csize };
		p += (size_t)46 + nl + xl + cl;
	}
	/* entries sharing data (overlapping local records) multiply what a
	 * small file inflates to */
	qsort(spans, n, sizeof *spans, span_cmp);
	for (unsigned i = 1; i < n; i++) {
		if (spans[i].off < spans[i - 1].end) {
			*why = SNIFF_ZIP_BOMB;
			goto out;
		}
	}
	if (content_types && word) {
		type = FT_DOCX;
		*why = SNIFF_OK;
	}
out:
	free(cd);
	free(spans);
	return type;
}

/* An OLE2 compound file: FT_DOC when its first directory sector holds a
 * "WordDocument" stream. */
static int sniff_ole(uint64_t size, sniff_read_fn rd, void *ctx, int *why)
{
	*why = SNIFF_UNKNOWN;
	uint8_t h[512];
	if (size < 1024)
		return FT_UNKNOWN;
	if (rd(ctx, 0, h, sizeof h)) {
		*why = SNIFF_EIO;
		return FT_UNKNOWN;
	}
	uint16_t shift = le16(h + 30);
	if (shift != 9 && shift != 12)
		return FT_UNKNOWN;
	uint32_t dir = le32(h + 48);
	uint64_t ssz = 1ull << shift;
	uint64_t off = ssz * ((uint64_t)dir + 1);   /* sector n starts after the header sector */
	if (dir >= 0xfffffffau || off + ssz > size)
		return FT_UNKNOWN;
	uint8_t *sec = malloc(ssz);
	if (!sec || rd(ctx, off, sec, ssz)) {
		free(sec);
		*why = SNIFF_EIO;
		return FT_UNKNOWN;
	}
	/* "WordDocument" in UTF-16LE with its terminator: 26 bytes */
	static const char want[] = "WordDocument";
	int type = FT_UNKNOWN;
	for (uint64_t e = 0; e + 128 <= ssz && type == FT_UNKNOWN; e += 128) {
		const uint8_t *d = sec + e;
		if (le16(d + 64) != 26 || d[66] != 2)   /* name length, a stream */
			continue;
		bool same = true;
		for (int k = 0; k < 12 && same; k++)
			same = d[2 * k] == (uint8_t)want[k] && d[2 * k + 1] == 0;
		if (same)
			type = FT_DOC;
	}
	free(sec);
	if (type)
		*why = SNIFF_OK;
	return type;
}

static bool starts(const sniff_state *s, const void *m, size_t n)
{
	return s->head_len >= n && memcmp(s->head, m, n) == 0;
}

int sniff_finish(const sniff_state *s, sniff_read_fn rd, void *ctx, int *why)
{
	*why = SNIFF_OK;
	if (s->size == 0) {
		*why = SNIFF_EMPTY;
		return FT_UNKNOWN;
	}
	if (starts(s, "\xff\xd8\xff", 3))
		return FT_JPEG;
	if (starts(s, "\x89PNG\r\n\x1a\n", 8))
		return FT_PNG;
	if (starts(s, "GIF87a", 6) || starts(s, "GIF89a", 6))
		return FT_GIF;
	if (s->head_len >= 12 && memcmp(s->head, "RIFF", 4) == 0 && memcmp(s->head + 8, "WEBP", 4) == 0)
		return FT_WEBP;
	if (starts(s, "%PDF-", 5))
		return FT_PDF;
	if (starts(s, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8))
		return sniff_ole(s->size, rd, ctx, why);
	if (starts(s, "PK\x03\x04", 4))
		return sniff_zip(s->size, rd, ctx, why);
	if (s->text && !s->need) {
		size_t i = starts(s, "\xef\xbb\xbf", 3) ? 3 : 0;
		while (i < s->head_len && strchr(" \t\r\n\f", s->head[i]))
			i++;
		if (i < s->head_len && s->head[i] == '<') {
			*why = SNIFF_MARKUP;
			return FT_UNKNOWN;
		}
		return FT_TXT;
	}
	*why = SNIFF_UNKNOWN;
	return FT_UNKNOWN;
}
