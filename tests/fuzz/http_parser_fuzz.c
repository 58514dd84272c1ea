/* Fuzz target for net/http_parser.
 *
 * Parses the input as a request head (small header array, small limits so
 * the limit paths are reached). When the head parses it checks the result's
 * invariants and that every shorter prefix of the head gives HP_AGAIN, then
 * runs the chunked decoder over the rest of the input twice — in one call
 * and in pieces whose sizes come from the input — and requires both runs to
 * agree. Any disagreement or broken invariant aborts, so the fuzzer reports
 * logic bugs as well as memory errors.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static bool inside(hp_str s, const char *buf, size_t len)
{
	return s.p != NULL && s.p >= buf && s.len <= len && (size_t)(s.p - buf) <= len - s.len;
}

/* Decodes body[0..n) in pieces of 1..16 bytes chosen from the body bytes
 * themselves; returns rc, decoded bytes in out, input used in *used. */
static int decode_pieces(const uint8_t *body, size_t n, uint64_t max_body, char *out,
			 size_t *outlen, size_t *used)
{
	hp_chunked c;
	hp_chunked_init(&c, max_body);
	size_t pos = 0, o = 0;
	int rc = HPC_AGAIN;
	while (rc == HPC_AGAIN && pos < n) {
		size_t piece = 1 + (body[pos] & 15);
		if (piece > n - pos)
			piece = n - pos;
		char *b = malloc(piece);
		CHECK(b);
		memcpy(b, body + pos, piece);
		size_t len = piece, con = 0;
		rc = hp_chunked_decode(&c, b, &len, &con);
		CHECK(con <= piece && len <= con);
		CHECK(rc != HPC_AGAIN || con == piece);
		memcpy(out + o, b, len);
		o += len;
		pos += con;
		free(b);
		CHECK(c.total == o && c.total <= max_body);
	}
	*outlen = o;
	*used = pos;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	hp_header hdr[8];
	hp_request req;

	memset(&req, 0, sizeof req);
	req.max_head = 1024;
	req.max_uri = 256;
	req.headers = hdr;
	req.num_headers = sizeof hdr / sizeof *hdr;
	int rc = hp_parse_head(&req, buf, size);
	CHECK(rc != 0 && rc >= HP_EMETHOD);
	if (rc < 0) {
		CHECK(req.num_headers == sizeof hdr / sizeof *hdr);
		CHECK(rc != HP_AGAIN || size <= req.max_head);
		return 0;
	}

	/* A parsed head: check the result. */
	size_t head = (size_t)rc;
	CHECK(head <= size && head <= req.max_head);
	CHECK(head >= 4 && memcmp(buf + head - 4, "\r\n\r\n", 4) == 0);
	CHECK(req.num_headers <= sizeof hdr / sizeof *hdr);
	CHECK(inside(req.method, buf, head) && req.method.len > 0);
	CHECK(inside(req.target, buf, head) && req.target.len > 0);
	CHECK(req.target.len <= req.max_uri);
	CHECK(inside(req.path, buf, head) && inside(req.query, buf, head));
	CHECK(inside(req.host, buf, head));
	CHECK(req.minor_version == 0 || req.minor_version == 1);
	CHECK(req.content_length >= -1 && req.content_length <= ((int64_t)1 << 62));
	CHECK(!(req.chunked && req.content_length >= 0));
	CHECK(!(req.chunked && req.minor_version == 0));
	for (size_t i = 0; i < req.num_headers; i++) {
		CHECK(inside(hdr[i].name, buf, head) && hdr[i].name.len > 0);
		CHECK(inside(hdr[i].value, buf, head));
	}
	const hp_header *cl = hp_find(&req, "Content-Length");
	CHECK((cl != NULL) == (req.content_length >= 0));
	(void)hp_has_token(req.host, "a");
	(void)hp_strerror(rc);

	/* Every shorter prefix of the head is incomplete. Checking all of them
	 * is quadratic, so only a few. */
	size_t probes[] = { 0, head / 3, head / 2, head - 2, head - 1 };
	for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
		char *pre = malloc(probes[i] ? probes[i] : 1);
		CHECK(pre);
		memcpy(pre, buf, probes[i]);
		hp_header h2[8];
		hp_request r2;
		memset(&r2, 0, sizeof r2);
		r2.max_head = req.max_head;
		r2.max_uri = req.max_uri;
		r2.headers = h2;
		r2.num_headers = sizeof h2 / sizeof *h2;
		CHECK(hp_parse_head(&r2, pre, probes[i]) == HP_AGAIN);
		free(pre);
	}

	/* The rest as a chunked body, in one call and in pieces. */
	const uint8_t *body = data + head;
	size_t n = size - head;
	uint64_t max_body = 512;
	char *one = malloc(n ? n : 1);
	char *pieces = malloc(n ? n : 1);
	CHECK(one && pieces);
	memcpy(one, body, n);
	hp_chunked c;
	hp_chunked_init(&c, max_body);
	size_t len1 = n, used1 = 0;
	int rc1 = hp_chunked_decode(&c, one, &len1, &used1);
	CHECK(used1 <= n && len1 <= used1);
	CHECK(rc1 == HPC_DONE || rc1 == HPC_AGAIN || rc1 == HPC_EBAD || rc1 == HPC_ETOO_LARGE);
	CHECK(rc1 != HPC_AGAIN || used1 == n);
	CHECK(c.total == len1 && len1 <= max_body);
	(void)hp_strerror(rc1);

	size_t len2 = 0, used2 = 0;
	int rc2 = decode_pieces(body, n, max_body, pieces, &len2, &used2);
	CHECK(rc1 == rc2);
	if (rc1 == HPC_DONE || rc1 == HPC_AGAIN) {
		CHECK(used1 == used2 && len1 == len2);
		CHECK(memcmp(one, pieces, len1) == 0);
	}
	free(one);
	free(pieces);
	return 0;
}
