/* ws_frame — the WebSocket wire format (RFC 6455 §5), no I/O.
 *
 * A server-side, resumable parser: it is fed whatever bytes a read()
 * produced — a frame may arrive one byte at a time or many frames at once —
 * and returns each complete message (text, binary) or control frame
 * (ping, pong, close) as an event. It keeps no copy of the raw input: a
 * frame header is assembled in a 14-byte array, payload bytes are unmasked
 * straight into the message being assembled (data) or a control frame's
 * buffer (at most 125 bytes). Between frames, once the last event has been
 * released, it holds nothing but its fixed-size state: an idle connection
 * costs sizeof(wsf_parser) and no heap.
 *
 * Every violation is reported with the close code the RFC asks for
 * (§7.4.1): 1002 for a protocol error (unmasked frame, RSV bits, unknown
 * opcode, fragmented or oversize control frame, a continuation with no
 * message or a new message inside one, a 64-bit length with its top bit
 * set, a close payload of 1 byte or with a code no endpoint may send),
 * 1007 for text (or a close reason) that is not UTF-8, checked
 * incrementally as bytes arrive, and 1009 for a message whose declared
 * length would take it past max_message — decided at the frame header,
 * before its payload is read.
 *
 * The encoder writes server frames (FIN set, unmasked).
 */
#ifndef PARLEY_WS_FRAME_H
#define PARLEY_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

enum {
	WSF_OP_CONT = 0x0,
	WSF_OP_TEXT = 0x1,
	WSF_OP_BINARY = 0x2,
	WSF_OP_CLOSE = 0x8,
	WSF_OP_PING = 0x9,
	WSF_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 §7.4.1). */
enum {
	WSF_CLOSE_NORMAL = 1000,
	WSF_CLOSE_GOING_AWAY = 1001,
	WSF_CLOSE_PROTOCOL = 1002,
	WSF_CLOSE_UNSUPPORTED = 1003,
	WSF_CLOSE_NO_STATUS = 1005,     /* never sent: "the close had no code" */
	WSF_CLOSE_BAD_DATA = 1007,
	WSF_CLOSE_POLICY = 1008,
	WSF_CLOSE_TOO_BIG = 1009,
	WSF_CLOSE_INTERNAL = 1011,
};

/* wsf_parse results. Errors are the negated close code to send. */
enum {
	WSF_AGAIN = 0,         /* all input used; no event yet */
	WSF_EVENT = 1,         /* an event is in ev; call again with the rest */
	WSF_EPROTO = -WSF_CLOSE_PROTOCOL,
	WSF_EUTF8 = -WSF_CLOSE_BAD_DATA,
	WSF_ETOO_BIG = -WSF_CLOSE_TOO_BIG,
	WSF_ENOMEM = -WSF_CLOSE_INTERNAL,
};

typedef struct {
	uint8_t opcode;        /* TEXT, BINARY, CLOSE, PING, PONG */
	const uint8_t *data;   /* payload (valid until the next wsf_parse call) */
	size_t len;
	uint16_t close_code;   /* CLOSE: the code, or WSF_CLOSE_NO_STATUS */
} wsf_event;

typedef struct {
	size_t max_message;    /* input: largest data message, bytes */
	/* private */
	uint8_t hdr[14];
	uint8_t hlen;          /* header bytes held */
	bool payload;          /* the header is complete; payload bytes follow */
	bool delivered;        /* msg was handed out by the last event: reset it first */
	uint8_t opcode;        /* current frame */
	bool fin;
	uint8_t mask[4];
	uint8_t mpos;          /* mask offset of the next payload byte */
	uint64_t remaining;    /* payload bytes still to come in this frame */
	uint8_t msg_op;        /* TEXT/BINARY while a fragmented message is open, else 0 */
	uint32_t utf8;         /* UTF-8 decoder state of the message (0 = accept) */
	uint8_t *ctl;          /* a control frame's payload (heap only while it is) */
	uint8_t ctl_len;
	buf msg;               /* the data message being assembled (heap only while it is) */
	bool failed;           /* an error was returned: every later call returns it */
	int err;
} wsf_parser;

/* Sets up a parser. */
void wsf_init(wsf_parser *p, size_t max_message);

/* Frees what the parser holds (it may be reused after wsf_init). */
void wsf_free(wsf_parser *p);

/* Parses in[0..len): sets *used to the bytes consumed. WSF_EVENT with ev
 * filled (call again with in + *used), WSF_AGAIN when every byte was used
 * without completing an event, or an error (negated close code; sticky). */
int wsf_parse(wsf_parser *p, const uint8_t *in, size_t len, size_t *used, wsf_event *ev);

/* The last event's data is no longer needed: frees what held it (the
 * next wsf_parse call does this too). */
void wsf_release(wsf_parser *p);

/* True while a frame has begun and not ended (header or payload pending). */
bool wsf_mid_frame(const wsf_parser *p);

/* True while anything is held: a frame in progress or a fragmented message. */
bool wsf_busy(const wsf_parser *p);

/* Writes a server frame header (FIN, unmasked) for a payload of len bytes
 * into out; returns its size (2, 4 or 10). */
size_t wsf_header(uint8_t out[10], int opcode, uint64_t len);

/* Validates UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
bool wsf_utf8_valid(const uint8_t *s, size_t len);

/* Whether an endpoint may send this close code (§7.4). */
bool wsf_close_code_valid(unsigned code);

#endif
