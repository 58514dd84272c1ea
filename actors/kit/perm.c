/* perm — the permission table (see perm.h). */
#include "actors/kit/perm.h"

#include <string.h>

static const char *const role_names[ROLE__COUNT] = { "", "agent", "supervisor", "admin", "owner" };

static const struct {
	const char *name;
	uint8_t min_role;
	bool users_only;          /* never an API key */
} perms[PERM__COUNT] = {
	[PERM_PUBLIC] = { "public", ROLE_NONE },
	[PERM_VISITOR] = { "visitor", ROLE_NONE },
	[PERM_SIGNED_IN] = { "signed_in", ROLE_AGENT },
	[PERM_CONV] = { "conv", ROLE_AGENT },
	[PERM_CONV_ASSIGN] = { "conv.assign", ROLE_AGENT },
	[PERM_TEAM_READ] = { "team.read", ROLE_AGENT },
	[PERM_TEAM_MANAGE] = { "team.manage", ROLE_ADMIN },
	[PERM_SETTINGS] = { "settings", ROLE_ADMIN },
	[PERM_ANALYTICS] = { "analytics", ROLE_AGENT },
	[PERM_SELF] = { "self", ROLE_AGENT, true },
};

/* What an API key's scope acts as (never an owner). */
static const uint8_t scope_roles[KS__COUNT] = {
	[KS_READ] = ROLE_AGENT, [KS_WRITE] = ROLE_SUPERVISOR, [KS_ADMIN] = ROLE_ADMIN,
};

int role_parse(const char *name)
{
	for (int r = ROLE_AGENT; r < ROLE__COUNT; r++)
		if (strcmp(name, role_names[r]) == 0)
			return r;
	return ROLE_NONE;
}

const char *role_name(int role)
{
	return role > ROLE_NONE && role < ROLE__COUNT ? role_names[role] : "";
}

const char *perm_name(int perm)
{
	return perm >= 0 && perm < PERM__COUNT ? perms[perm].name : "";
}

int perm_min_role(int perm)
{
	return perm >= 0 && perm < PERM__COUNT ? perms[perm].min_role : ROLE__COUNT;
}

bool perm_allows(int role, int perm)
{
	if (perm < PERM_SIGNED_IN || perm >= PERM__COUNT)
		return false;
	return role >= perms[perm].min_role && role < ROLE__COUNT;
}

int perm_scope_role(int scope)
{
	return scope > KS_NONE && scope < KS__COUNT ? scope_roles[scope] : ROLE_NONE;
}

bool perm_users_only(int perm)
{
	return perm < 0 || perm >= PERM__COUNT || perms[perm].users_only;
}

bool perm_allows_key(int scope, int perm, const char *method)
{
	if (perm_users_only(perm) || !perm_allows(perm_scope_role(scope), perm))
		return false;
	return scope != KS_READ || strcmp(method, "GET") == 0;
}

bool perm_conv_visible(int role, uint64_t uid, const rec_conv *c)
{
	if (role >= ROLE_SUPERVISOR && role < ROLE__COUNT)
		return true;
	return role == ROLE_AGENT && (c->assignee_id == 0 || c->assignee_id == uid);
}

bool perm_may_assign(int role, uint64_t uid, uint64_t current, uint64_t target)
{
	if (role >= ROLE_SUPERVISOR && role < ROLE__COUNT)
		return true;
	if (role != ROLE_AGENT)
		return false;
	if (current == 0)
		return target == uid;
	return current == uid;
}

bool perm_may_grant(int role, int target)
{
	if (!perm_allows(role, PERM_TEAM_MANAGE) || target <= ROLE_NONE || target >= ROLE__COUNT)
		return false;
	return target <= role;
}

bool perm_may_manage(int role, int target_now)
{
	return perm_allows(role, PERM_TEAM_MANAGE) && target_now <= role;
}
