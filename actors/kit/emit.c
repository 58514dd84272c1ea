/* emit — the sink table (see emit.h). */
#include "actors/kit/emit.h"
#include "actors/kit/app.h"

#include <string.h>

static const char *const names[EV__COUNT] = {
	"conversation.created", "conversation.updated", "conversation.assigned", "conversation.resolved",
	"message.created", "visitor.created", "user.updated", "conversation.transferred", "rating.created",
};

const char *ev_type_name(int type)
{
	return type >= 0 && type < EV__COUNT ? names[type] : NULL;
}

int ev_type_parse(const char *name)
{
	for (int i = 0; i < EV__COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int emit_register(app *a, const emit_sink *s)
{
	if (a->nsinks >= EMIT_MAX_SINKS)
		return -1;
	a->sinks[a->nsinks++] = *s;
	return 0;
}

int emit_in_txn(app *a, store_txn *tx, const app_event *ev)
{
	for (int i = 0; i < a->nsinks; i++) {
		int rc = a->sinks[i].in_txn(a, tx, ev, a->sinks[i].ctx);
		if (rc)
			return rc;
	}
	return 0;
}
