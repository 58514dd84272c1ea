/* desk — the routing messages and their delivery (kit/desk.h). */
#include "actors/kit/desk.h"
#include "actors/kit/address.h"

#include <stdlib.h>

desk_msg *desk_msg_new(int type)
{
	desk_msg *m = calloc(1, sizeof *m);
	if (m)
		m->hdr.type = type;
	return m;
}

void desk_msg_free(desk_msg *m)
{
	free(m);
}

static int to(struct app *a, int kind, uint64_t tid, uint64_t id, desk_msg *m)
{
	if (!m)
		return -1;
	if (actor_deliver(a, actor_at(kind, tid, id), &m->hdr, true) != ACTOR_OK) {
		desk_msg_free(m);
		return -1;
	}
	return 0;
}

int desk_to_dept(struct app *a, uint64_t tid, uint64_t dept, desk_msg *m)
{
	return to(a, AK_DEPT, tid, dept, m);
}

int desk_to_agent(struct app *a, uint64_t tid, uint64_t uid, desk_msg *m)
{
	return to(a, AK_AGENT, tid, uid, m);
}
