/* jwt — HS256 only, verified in a fixed order that never trusts the token.
 *
 * Supporting exactly one algorithm removes the classic JWT holes (alg "none",
 * RS/HS confusion) without an allow-list to get wrong. Verification order:
 * shape and length, header (alg/typ), signature, and only then the payload,
 * so no attacker-controlled claims are parsed before the MAC is checked. The
 * MAC covers "header.payload" exactly as received (never a re-encoding), and
 * the strict base64url decoder in core/crypto rejects non-canonical
 * encodings, so a token has one valid spelling. Headers and payloads are
 * parsed with JSON_REJECT_DUPLICATES: {"alg":"none","alg":"HS256"} must not
 * mean different things to different parsers.
 */
#include "actors/kit/jwt.h"
#include "core/crypto.h"

#include <stdlib.h>
#include <string.h>


/* Header every token carries; sorted keys make this byte-stable. */
static json_t *make_header(void)
{
	return json_pack("{s:s, s:s}", "alg", "HS256", "typ", "JWT");
}

/* Serialises obj compactly with sorted keys and appends its base64url form
 * at out (capacity cap, NUL written). Returns chars written or -1. */
static long append_b64_json(const json_t *obj, char *out, size_t cap)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return -1;
	size_t n = strlen(s);
	long rc = -1;
	if (CRYPTO_B64URL_LEN(n) < cap)
		rc = (long)crypto_b64url_encode(s, n, out);
	free(s);
	return rc;
}

char *jwt_sign(const json_t *claims, const uint8_t *key, size_t key_len,
	       const char *iss, const char *aud, int64_t now_s, int64_t ttl_s)
{
	if (!key || key_len == 0 || !iss || !aud)
		return NULL;
	if (claims && !json_is_object(claims))
		return NULL;
	if ((ttl_s > 0 && now_s > INT64_MAX - ttl_s) || (ttl_s < 0 && now_s < INT64_MIN - ttl_s))
		return NULL;

	json_t *body = claims ? json_deep_copy(claims) : json_object();
	json_t *header = make_header();
	char *token = NULL;
	if (!body || !header)
		goto out;
	if (json_object_set_new(body, "iss", json_string(iss)) ||
	    json_object_set_new(body, "aud", json_string(aud)) ||
	    json_object_set_new(body, "iat", json_integer(now_s)) ||
	    json_object_set_new(body, "exp", json_integer(now_s + ttl_s)))
		goto out;

	/* Tokens over JWT_MAX_LEN would be refused by jwt_verify: never issue one. */
	token = malloc(JWT_MAX_LEN + 1);
	if (!token)
		goto out;
	long h = append_b64_json(header, token, JWT_MAX_LEN + 1);
	if (h < 0 || (size_t)h + 1 > JWT_MAX_LEN)
		goto fail;
	size_t pos = (size_t)h;
	token[pos++] = '.';
	long p = append_b64_json(body, token + pos, JWT_MAX_LEN + 1 - pos);
	if (p < 0)
		goto fail;
	pos += (size_t)p;
	if (pos + 1 + CRYPTO_B64URL_LEN(CRYPTO_SHA256_LEN) > JWT_MAX_LEN)
		goto fail;

	uint8_t mac[CRYPTO_SHA256_LEN];
	crypto_hmac_sha256(key, key_len, token, pos, mac);
	token[pos++] = '.';
	pos += crypto_b64url_encode(mac, sizeof mac, token + pos);

	char *shrunk = realloc(token, pos + 1);
	if (shrunk)
		token = shrunk;
	goto out;
fail:
	free(token);
	token = NULL;
out:
	json_decref(body);
	json_decref(header);
	return token;
}

/* Decodes a base64url part and parses it as a JSON object. */
static int decode_object(const char *part, size_t len, json_t **obj_out)
{
	char buf[JWT_MAX_LEN];
	long n = crypto_b64url_decode(part, len, buf, sizeof buf);
	if (n < 0)
		return JWT_EFORMAT;
	json_error_t err;
	json_t *obj = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &err);
	if (!obj)
		return JWT_EFORMAT;
	if (!json_is_object(obj)) {
		json_decref(obj);
		return JWT_EFORMAT;
	}
	*obj_out = obj;
	return JWT_OK;
}

static bool json_string_is(const json_t *v, const char *want)
{
	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	       memcmp(json_string_value(v), want, strlen(want)) == 0;
}

static int check_header(const char *part, size_t len)
{
	json_t *hdr = NULL;
	int rc = decode_object(part, len, &hdr);
	if (rc != JWT_OK)
		return rc;
	if (!json_string_is(json_object_get(hdr, "alg"), "HS256"))
		rc = JWT_EALG;
	else {
		json_t *typ = json_object_get(hdr, "typ");
		if (typ && !json_string_is(typ, "JWT"))
			rc = JWT_EFORMAT;
	}
	json_decref(hdr);
	return rc;
}

static int check_claims(const json_t *claims, const char *iss, const char *aud, int64_t now_s)
{
	const json_t *exp = json_object_get(claims, "exp");
	if (!json_is_integer(exp) || json_integer_value(exp) <= now_s)
		return JWT_EEXPIRED;

	const json_t *iat = json_object_get(claims, "iat");
	if (!json_is_integer(iat))
		return JWT_EIAT;
	int64_t iat_v = json_integer_value(iat);
	/* iat - now_s > skew, computed without signed overflow. */
	if (iat_v > now_s && (uint64_t)iat_v - (uint64_t)now_s > JWT_IAT_SKEW_S)
		return JWT_EIAT;

	if (!iss || !json_string_is(json_object_get(claims, "iss"), iss))
		return JWT_EISS;

	if (!aud)
		return JWT_EAUD;
	const json_t *a = json_object_get(claims, "aud");
	if (json_is_array(a)) {
		size_t i;
		const json_t *v;
		json_array_foreach(a, i, v)
			if (json_string_is(v, aud))
				return JWT_OK;
		return JWT_EAUD;
	}
	return json_string_is(a, aud) ? JWT_OK : JWT_EAUD;
}

int jwt_verify(const char *token, size_t len, const uint8_t *key, size_t key_len,
	       const char *iss, const char *aud, int64_t now_s, json_t **claims_out)
{
	if (claims_out)
		*claims_out = NULL;
	if (!token || len == 0 || len > JWT_MAX_LEN)
		return JWT_EFORMAT;

	/* JWS uses unpadded base64url: refusing '=' outright keeps one spelling
	 * per token (the decoder would otherwise accept "sig" and "sig="). */
	if (memchr(token, '=', len))
		return JWT_EFORMAT;
	/* Exactly two dots. */
	const char *d1 = memchr(token, '.', len);
	if (!d1)
		return JWT_EFORMAT;
	const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return JWT_EFORMAT;
	size_t h_len = (size_t)(d1 - token);
	size_t p_len = (size_t)(d2 - d1 - 1);
	size_t signed_len = (size_t)(d2 - token);
	size_t s_len = len - signed_len - 1;

	int rc = check_header(token, h_len);
	if (rc != JWT_OK)
		return rc;

	/* Bad base64url is a format error; a well-formed MAC of the wrong
	 * length (or value) is a signature mismatch. */
	uint8_t sig[JWT_MAX_LEN];
	long sig_n = crypto_b64url_decode(d2 + 1, s_len, sig, sizeof sig);
	if (sig_n < 0)
		return JWT_EFORMAT;
	if (!key || key_len == 0)
		return JWT_ESIG;
	uint8_t mac[CRYPTO_SHA256_LEN];
	crypto_hmac_sha256(key, key_len, token, signed_len, mac);
	if (!crypto_ct_equal(sig, (size_t)sig_n, mac, sizeof mac))
		return JWT_ESIG;

	json_t *claims = NULL;
	rc = decode_object(d1 + 1, p_len, &claims);
	if (rc != JWT_OK)
		return rc;
	rc = check_claims(claims, iss, aud, now_s);
	if (rc != JWT_OK || !claims_out)
		json_decref(claims);
	else
		*claims_out = claims;
	return rc;
}

const char *jwt_strerror(int rc)
{
	switch (rc) {
	case JWT_OK:       return "ok";
	case JWT_EFORMAT:  return "malformed token";
	case JWT_EALG:     return "unsupported algorithm";
	case JWT_ESIG:     return "bad signature";
	case JWT_EEXPIRED: return "token expired or without exp";
	case JWT_EIAT:     return "iat missing or in the future";
	case JWT_EISS:     return "wrong issuer";
	case JWT_EAUD:     return "wrong audience";
	case JWT_ENOMEM:   return "out of memory";
	default:           return "unknown jwt error";
	}
}
