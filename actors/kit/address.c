/* address — delivery by (kind, tenant, id) through each kind's registry. */
#include "actors/kit/address.h"
#include "actors/kit/app.h"
#include "actors/kit/registry.h"

int actor_deliver(app *a, actor_addr to, actor_msg *m, bool force)
{
	registry *r = to.kind < AK__COUNT ? a->actors[to.kind] : NULL;
	actor *act = r ? registry_get(r, to.tenant, to.id) : NULL;
	if (!act)
		return -1;
	int rc = ACTOR_OK;
	if (force)
		actor_send_force(act, m);
	else
		rc = actor_send(act, m);
	registry_put(r, to.tenant, to.id);
	return rc;
}
