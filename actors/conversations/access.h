/* access — conversation reads and the handlers the agent and widget
 * routes share. */
#ifndef PARLEY_ACCESS_H
#define PARLEY_ACCESS_H

#include "actors/kit/api.h"
#include "actors/kit/auth.h"
#include "actors/conversations/conv.h"

/* Reads a conversation of tenant tid; 0, STORE_ENOTFOUND or STORE_EIO. */
int api_load_conv(app *a, uint64_t tid, uint64_t cid, rec_conv *out);

/* True when principal p may read conversation c: a visitor their own, a
 * user within their role's scope (kit/perm.h). */
bool api_conv_visible(const principal *p, const rec_conv *c);

/* Loads the conversation named by route parameter 0 for p (a visitor only
 * their own, a user within their scope); answers 404/500 itself and
 * returns -1 on failure. */
int api_route_conv(http_req *req, const principal *p, rec_conv *c);

/* Lists events of a conversation after a seq (agents see notes, visitors not). */
void api_list_events(http_req *req, app *a, const rec_conv *c, bool visitor);

/* Reads the optional "files" of a message (REST body or realtime frame):
 * absent, null or [] leaves *out NULL; otherwise an array of at most
 * REC_FILES_MAX distinct file ids, each a file of tenant tid uploaded to
 * conversation cid, becomes *out (malloc'ed). 0; -1 with *msg set (the
 * caller answers invalid_field "files"); -2 storage unavailable or out of
 * memory. Reads the store only when files are given. */
int conv_read_files(app *a, json_t *v, uint64_t tid, uint64_t cid, rec_files **out, const char **msg);

/* Sends a message from an HTTP request (shared by agent and widget routes). */
void api_send_message(http_req *req, app *a, const principal *who, uint64_t cid);

/* The routes GET and POST .../conversations/{id}/messages, for agents
 * and (widget) visitors alike: the events (visitors never see notes), and
 * sending a message. */
void api_messages_route(http_req *req, const principal *p);
void api_send_route(http_req *req, const principal *p);

/* Reads a change of status/priority (PATCH body or update_conversation
 * frame: status?, priority?, snooze_until?) into m (a CM_STATUS); 0, or -1
 * with the error's code, message and field set (the caller answers 400). */
int conv_parse_update(json_t *body, conv_msg *m, const char **code, const char **msg, const char **field);

/* A refused request: HTTP status, error code, message, field (or NULL). */
typedef struct {
	int status;
	const char *code, *msg, *field;
} conv_err;

/* Reads and checks a transfer (POST body or transfer frame: agent_id?,
 * department_id?, reason) by p of conversation c into m (a CM_TRANSFER):
 * the department (named, else the conversation's) must exist and be
 * active, the agent exist, be active and be a member of it. 0, or -1 with
 * *e set (404 not_found for an unknown or another tenant's agent or
 * department; 400 agent_inactive, agent_not_in_department,
 * invalid_department, invalid_field). */
int conv_parse_transfer(app *a, const principal *p, const rec_conv *c, json_t *body, conv_msg *m, conv_err *e);

/* The conversation frames of the realtime protocol (frames.c). */
extern const frame_def conv_frames[];

#endif
