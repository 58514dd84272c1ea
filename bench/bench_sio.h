/* bench_sio — a minimal Engine.IO v4 / Socket.IO v4 client layer over the
 * bench's WebSocket client (wsc), so that parley-bench's modes run
 * unchanged against a Socket.IO server (bench/peers/socketio-pg).
 *
 * The layer translates between parley's JSON frames and Socket.IO packets
 * (one Engine.IO packet per WebSocket message, transport=websocket only,
 * default namespace "/", text packets only):
 *
 *   parley frame (what parley-bench builds)        Socket.IO (on the wire)
 *   {"type":"auth","id":…,"token":"T"}         ->  40{"token":"T"}       (CONNECT, auth payload)
 *   {"type":"X","id":"m12",<fields>}            ->  42<n>["X",{<fields>}] (EVENT with ack id n)
 *   {"type":"X",<fields>}                       ->  42["X",{<fields>}]
 *
 *   received                                        handed to the parley callbacks as
 *   0{…}          (Engine.IO open)              ->  on_open()
 *   2             (Engine.IO ping)              ->  answered with 3, not handed on
 *   40{"sid":…}   (CONNECT ok)                  ->  {"type":"ack","id":"auth"}
 *   44{"message":M} (CONNECT_ERROR)             ->  {"type":"error","id":"auth","error":{"code":M}}
 *   42["X",{<fields>}]                          ->  {"type":"X",<fields>}
 *   43<n>[{"error":{…}}]                        ->  {"type":"error","id":"m12","error":{…}}
 *   43<n>[{<fields>}]                           ->  {"type":"ack","id":"m12",<fields>}
 *   41            (DISCONNECT by the server)    ->  connection closed, on_close("socket.io disconnect")
 *
 * Ack ids: a parley id "<letter><decimal>" (e.g. "m12", "s3") is encoded
 * as decimal*64 + letter index (exact, up to 2^47 for the decimal part);
 * other ids are interned in a small process-wide table (at most 256). The
 * server must put "error" first in an error ack (the peer does).
 * Binary packets (45/46) and namespaces other than "/" are not supported. */
#ifndef PARLEY_BENCH_SIO_H
#define PARLEY_BENCH_SIO_H

#include "bench_net.h"

#include <stdbool.h>
#include <stddef.h>

/* The Engine.IO endpoint, WebSocket transport (EIO=4 = Socket.IO v3/v4). */
#define SIO_WS_PATH "/socket.io/?EIO=4&transport=websocket"

/* Callbacks to pass to wsc_start() instead of `inner`: they speak
 * Engine.IO/Socket.IO on the socket and call `inner` with parley frames as
 * described above. The Engine.IO open packet must arrive within
 * open_timeout_s of the upgrade (else the connection closes with
 * "timeout"). Returns a process-lifetime object, the same one for the same
 * arguments (at most 8 distinct sets; NULL beyond). Thread-safe. */
const struct wsc_callbacks *sio_callbacks(const struct wsc_callbacks *inner, double open_timeout_s);

/* Sends one parley request frame (a JSON object whose first member is
 * "type", optionally followed by "id") as the matching Socket.IO packet.
 * Same contract as wsc_send_text: 0, or -1 when it could not be queued. */
int sio_send_frame(struct wsc *c, const char *frame, size_t len, bool flush);

#endif
