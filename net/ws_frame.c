/* ws_frame — WebSocket frame parser and encoder (see ws_frame.h). */
#include "net/ws_frame.h"

#include <stdlib.h>
#include <string.h>

/* ---------- UTF-8 ----------
 * Incremental validator. The state packs what the next byte must be:
 * bits 16-17 the continuation bytes still needed, bits 8-15 the lowest and
 * 0-7 the highest allowed value of the next one. 0 = between characters. */

#define U8(need, lo, hi) (((uint32_t)(need) << 16) | ((uint32_t)(lo) << 8) | (uint32_t)(hi))
#define U8_REJECT 0xFFFFFFFFu

static uint32_t utf8_step(uint32_t st, uint8_t b)
{
	if (st == 0) {
		if (b < 0x80) return 0;
		if (b >= 0xC2 && b <= 0xDF) return U8(1, 0x80, 0xBF);
		if (b == 0xE0) return U8(2, 0xA0, 0xBF);
		if (b == 0xED) return U8(2, 0x80, 0x9F);   /* no surrogates */
		if (b >= 0xE1 && b <= 0xEF) return U8(2, 0x80, 0xBF);
		if (b == 0xF0) return U8(3, 0x90, 0xBF);
		if (b >= 0xF1 && b <= 0xF3) return U8(3, 0x80, 0xBF);
		if (b == 0xF4) return U8(3, 0x80, 0x8F);   /* <= U+10FFFF */
		return U8_REJECT;
	}
	uint32_t need = st >> 16, lo = (st >> 8) & 0xFF, hi = st & 0xFF;
	if (b < lo || b > hi)
		return U8_REJECT;
	return need == 1 ? 0 : U8(need - 1, 0x80, 0xBF);
}

static uint32_t utf8_run(uint32_t st, const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len && st != U8_REJECT; i++) {
		if (st == 0) {   /* fast path over ASCII */
			while (i < len && s[i] < 0x80)
				i++;
			if (i == len)
				break;
		}
		st = utf8_step(st, s[i]);
	}
	return st;
}

bool wsf_utf8_valid(const uint8_t *s, size_t len)
{
	return utf8_run(0, s, len) == 0;
}

bool wsf_close_code_valid(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	switch (code) {
	case 1000: case 1001: case 1002: case 1003:
	case 1007: case 1008: case 1009: case 1010: case 1011:
		return true;
	default:
		return false;
	}
}

/* ---------- parser ---------- */

void wsf_init(wsf_parser *p, size_t max_message)
{
	memset(p, 0, sizeof *p);
	p->max_message = max_message;
}

void wsf_free(wsf_parser *p)
{
	buf_free(&p->msg);
	free(p->ctl);
	p->ctl = NULL;
	p->msg_op = 0;
	p->delivered = false;
}

void wsf_release(wsf_parser *p)
{
	if (p->delivered) {   /* the last event's message has been used */
		buf_free(&p->msg);
		p->delivered = false;
	}
	if (!p->payload && p->ctl) {
		free(p->ctl);
		p->ctl = NULL;
	}
}

bool wsf_mid_frame(const wsf_parser *p)
{
	return p->hlen > 0 || p->payload;
}

bool wsf_busy(const wsf_parser *p)
{
	return wsf_mid_frame(p) || p->msg_op != 0;
}

static int fail(wsf_parser *p, int err)
{
	p->failed = true;
	p->err = err;
	buf_free(&p->msg);
	free(p->ctl);
	p->ctl = NULL;
	return err;
}

static bool is_control(uint8_t op)
{
	return op & 0x8;
}

/* Header bytes needed given what is held. */
static size_t header_need(const wsf_parser *p)
{
	if (p->hlen < 2)
		return 2;
	uint8_t l7 = p->hdr[1] & 0x7F;
	return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
}

/* Checks the first two header bytes: everything but the extended length. */
static int check_start(wsf_parser *p)
{
	uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
	uint8_t op = b0 & 0x0F;
	if (b0 & 0x70)                    /* RSV1-3: no extension was agreed */
		return WSF_EPROTO;
	if (!(b1 & 0x80))                 /* client frames must be masked */
		return WSF_EPROTO;
	switch (op) {
	case WSF_OP_CONT:
		if (!p->msg_op)
			return WSF_EPROTO;
		break;
	case WSF_OP_TEXT:
	case WSF_OP_BINARY:
		if (p->msg_op)
			return WSF_EPROTO;
		break;
	case WSF_OP_CLOSE:
	case WSF_OP_PING:
	case WSF_OP_PONG:
		if (!(b0 & 0x80) || (b1 & 0x7F) > 125)
			return WSF_EPROTO;
		break;
	default:
		return WSF_EPROTO;
	}
	return 0;
}

/* The header is complete: sets up the frame's payload. */
static int start_frame(wsf_parser *p)
{
	const uint8_t *h = p->hdr;
	uint8_t l7 = h[1] & 0x7F;
	uint64_t len = l7;
	size_t k = 2;
	if (l7 == 126) {
		len = ((uint64_t)h[2] << 8) | h[3];
		k = 4;
	} else if (l7 == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | h[2 + i];
		if (len >> 63)
			return WSF_EPROTO;
		k = 10;
	}
	memcpy(p->mask, h + k, 4);
	p->mpos = 0;
	p->opcode = h[0] & 0x0F;
	p->fin = h[0] & 0x80;
	p->remaining = len;
	p->hlen = 0;
	p->payload = true;
	if (is_control(p->opcode)) {
		p->ctl_len = 0;
		if (len && !p->ctl && !(p->ctl = malloc(125)))
			return WSF_ENOMEM;
		return 0;
	}
	if (p->opcode != WSF_OP_CONT) {
		p->msg_op = p->opcode;
		p->utf8 = 0;
	}
	if (len > p->max_message || p->msg.len + len > p->max_message)
		return WSF_ETOO_BIG;
	return 0;   /* the message grows as payload arrives, not by what a header claims */
}

/* Unmasks n payload bytes from in into the frame's destination. */
static int take_payload(wsf_parser *p, const uint8_t *in, size_t n)
{
	uint8_t *dst;
	if (is_control(p->opcode)) {
		dst = p->ctl + p->ctl_len;
		p->ctl_len += (uint8_t)n;
	} else {
		if (buf_reserve(&p->msg, n) < 0)
			return WSF_ENOMEM;
		dst = (uint8_t *)p->msg.data + p->msg.len;
		p->msg.len += n;
		p->msg.data[p->msg.len] = 0;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = in[i] ^ p->mask[(p->mpos + i) & 3];
	p->mpos = (uint8_t)((p->mpos + n) & 3);
	if (!is_control(p->opcode) && p->msg_op == WSF_OP_TEXT) {
		p->utf8 = utf8_run(p->utf8, dst, n);
		if (p->utf8 == U8_REJECT)
			return WSF_EUTF8;
	}
	return 0;
}

/* The frame's payload is complete: WSF_EVENT with ev, WSF_AGAIN (a
 * fragment), or an error. */
static int end_frame(wsf_parser *p, wsf_event *ev)
{
	p->payload = false;
	if (is_control(p->opcode)) {
		ev->opcode = p->opcode;
		ev->data = p->ctl ? p->ctl : (const uint8_t *)"";
		ev->len = p->ctl_len;
		ev->close_code = 0;
		if (p->opcode == WSF_OP_CLOSE) {
			if (p->ctl_len == 1)
				return WSF_EPROTO;
			if (p->ctl_len == 0) {
				ev->close_code = WSF_CLOSE_NO_STATUS;
			} else {
				unsigned code = ((unsigned)p->ctl[0] << 8) | p->ctl[1];
				if (!wsf_close_code_valid(code))
					return WSF_EPROTO;
				if (!wsf_utf8_valid(p->ctl + 2, p->ctl_len - 2u))
					return WSF_EUTF8;
				ev->close_code = (uint16_t)code;
				ev->data = p->ctl + 2;
				ev->len = p->ctl_len - 2u;
			}
		}
		return WSF_EVENT;
	}
	if (!p->fin)
		return WSF_AGAIN;
	if (p->msg_op == WSF_OP_TEXT && p->utf8 != 0)
		return WSF_EUTF8;   /* ends inside a character */
	ev->opcode = p->msg_op;
	ev->data = p->msg.data ? (const uint8_t *)p->msg.data : (const uint8_t *)"";
	ev->len = p->msg.len;
	ev->close_code = 0;
	p->msg_op = 0;
	p->delivered = true;
	return WSF_EVENT;
}

int wsf_parse(wsf_parser *p, const uint8_t *in, size_t len, size_t *used, wsf_event *ev)
{
	*used = 0;
	if (p->failed)
		return p->err;
	wsf_release(p);
	size_t i = 0;
	int rc;
	for (;;) {
		if (!p->payload) {
			/* assemble a header, byte by byte up to what it needs */
			while (i < len && p->hlen < header_need(p)) {
				p->hdr[p->hlen++] = in[i++];
				if (p->hlen == 2 && (rc = check_start(p)) < 0)
					return fail(p, rc);
			}
			if (p->hlen < header_need(p)) {
				*used = i;
				return WSF_AGAIN;
			}
			if ((rc = start_frame(p)) < 0)
				return fail(p, rc);
		}
		if (p->remaining) {
			size_t n = len - i;
			if (n > p->remaining)
				n = (size_t)p->remaining;
			if (n && (rc = take_payload(p, in + i, n)) < 0)
				return fail(p, rc);
			i += n;
			p->remaining -= n;
			if (p->remaining) {
				*used = i;
				return WSF_AGAIN;
			}
		}
		rc = end_frame(p, ev);
		if (rc < 0)
			return fail(p, rc);
		if (rc == WSF_EVENT) {
			*used = i;
			return WSF_EVENT;
		}
		if (i == len) {
			*used = i;
			return WSF_AGAIN;
		}
	}
}

/* ---------- encoder ---------- */

size_t wsf_header(uint8_t out[10], int opcode, uint64_t len)
{
	out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xFFFF) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}
