/* conn_priv — the connection struct shared by net/http.c and net/ws.c only. */
#ifndef PARLEY_CONN_PRIV_H
#define PARLEY_CONN_PRIV_H

#include <ev.h>
#include <wslay/wslay.h>
#include "core/buf.h"
#include "net/http.h"

enum conn_state {
	C_HEAD,      /* reading a request head (or idle between requests) */
	C_BODY,      /* reading a request body */
	C_WAIT,      /* a request is with its handler; reading paused */
	C_WS,        /* upgraded to WebSocket */
};

typedef struct lstate lstate;

typedef struct ws_state {
	wslay_event_context_ptr ctx;   /* created on demand, freed when idle */
	const ws_handlers *h;
	void *user;
	uint64_t fed;                  /* bytes given to wslay */
	uint64_t framed;               /* bytes of frames wslay has started/finished */
	ev_tstamp last_seen;           /* last byte received */
	ev_tstamp opened;
	bool in_frag;                  /* inside a fragmented data message */
	bool ready;                    /* app authenticated the connection */
	bool ping_out;                 /* a ping is unanswered */
	bool closing;                  /* we sent or received a close */
	bool eof;
	bool in_wslay;                 /* inside wslay_event_recv/send: no pump, no free */
	const char *rbuf;              /* bytes read this wake-up, not yet given to wslay */
	size_t rlen;
} ws_state;

struct http_conn {
	ev_io io;                 /* private: socket watcher (read or write) */
	ev_timer timer;           /* private: time-outs and pings */
	lstate *ls;               /* owning loop's state */
	int fd;
	uint32_t slot, gen, serial;
	uint8_t state;            /* enum conn_state */
	bool keep_alive;          /* current request allows keep-alive */
	bool close_after_write;   /* close once out is flushed */
	bool dead;                /* closed; freed at the end of the current callback */
	bool writing;             /* io watcher armed for EV_WRITE */
	bool in_callback;         /* a top-level callback is running */
	bool draining;            /* server shutting down */
	bool in_process;          /* process_input is on the stack */
	bool cors;                /* the current request is under cors_prefix */
	bool flush_queued;        /* on the loop's flush list */
	buf in;                   /* unparsed input (freed when empty) */
	buf out;                  /* HTTP output not yet written */
	size_t head_len;          /* bytes of the current head in `in` */
	size_t raw_pos;           /* next undecoded body byte in `in` */
	size_t body_len;          /* decoded body bytes at in.data + head_len */
	int64_t content_length;
	bool chunked;
	hp_chunked chunk;
	http_req *req;            /* the request being handled (C_WAIT) */
	ws_state *ws;             /* non-NULL once upgraded */
};

struct lstate {
	http_server *srv;
	ioloop *loop;
	int lfd;
	ev_io accept_io;
	http_conn **slots;
	uint32_t *gens;
	uint32_t nslots, cap;
	uint32_t *free_slots;
	uint32_t nfree;
	int open;
	bool shutting_down;
	char *scratch;            /* 64 KiB read buffer shared by the loop's WebSockets */
	conn_ref *flush;          /* WebSockets with frames queued by this task batch */
	size_t nflush, capflush;
};

/* Marks c dead (closes the socket now, frees it at a safe point). */
void conn_kill(http_conn *c);

/* Writes as much of c->out as the socket takes: 1 all written (the buffer
 * is freed: idle connections hold none), 0 the socket is full (the rest
 * stays queued), -1 the connection failed. */
int conn_write_out(http_conn *c);

/* Arms the io watcher for reading, writing, or nothing. */
void conn_watch(http_conn *c, int events);

/* Server options of c's server. */
const http_opts *conn_opts(const http_conn *c);

/* Bumps a server counter (ws_in, ws_out, ws_dropped_slow). */
void conn_count(http_conn *c, int which);
enum { CNT_WS_IN, CNT_WS_OUT, CNT_WS_DROPPED, CNT_WS_UPGRADES };

/* ws.c entry points used by http.c. */
void ws_on_io(http_conn *c, int revents);
void ws_on_timer(http_conn *c);
void ws_free(http_conn *c);
void ws_shutdown(http_conn *c);
void ws_quiesce(http_conn *c);

/* Queues a text frame without writing it yet (posted fan-out); -1 if the
 * connection was dropped. ws_flush writes what is queued. */
int ws_queue(http_conn *c, const char *data, size_t len);
void ws_flush(http_conn *c);
size_t ws_queued_bytes(http_conn *c);

#endif
