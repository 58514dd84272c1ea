/* perm — roles and the one permission table.
 *
 * Every route and every realtime frame names the permission it needs
 * (actors/kit/feature.h); the dispatcher checks it against the caller's
 * role, read from the stored user on every request (kit/auth.h), so a
 * demoted or deactivated user loses it at once. The default table:
 *
 *   permission           owner admin supervisor agent
 *   PERM_SIGNED_IN         x     x       x        x    own profile, password, ping
 *   PERM_CONV              x     x       x        x    read/reply; agents: their scope (perm_conv_visible)
 *   PERM_CONV_ASSIGN       x     x       x        x    agents: pick up, hand back, transfer own (perm_may_assign)
 *   PERM_TEAM_READ         x     x       x        x    see colleagues (names, roles) for transfers
 *   PERM_TEAM_MANAGE       x     x                     invite, change roles (up to their own), deactivate
 *   PERM_SETTINGS          x     x                     tenant settings, integrations
 *   PERM_ANALYTICS         x     x       x        x    agents: their own figures
 *
 * PERM_PUBLIC needs no credentials; PERM_VISITOR needs a visitor token.
 * Answers: no or bad credentials 401 unauthenticated; a role without the
 * permission 403 forbidden; a record the caller may not read 404 not_found.
 */
#ifndef PARLEY_PERM_H
#define PARLEY_PERM_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"

/* Ordered: a higher role holds every permission of a lower one. */
enum role { ROLE_NONE = 0, ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_OWNER, ROLE__COUNT };

enum perm {
	PERM_PUBLIC = 0,
	PERM_VISITOR,
	PERM_SIGNED_IN,
	PERM_CONV,
	PERM_CONV_ASSIGN,
	PERM_TEAM_READ,
	PERM_TEAM_MANAGE,
	PERM_SETTINGS,
	PERM_ANALYTICS,
	PERM__COUNT
};

/* Role names ("owner", "admin", "supervisor", "agent"); ROLE_NONE if unknown. */
int role_parse(const char *name);
const char *role_name(int role);

/* Permission names as printed by --print-routes ("conv", "team.manage", ...). */
const char *perm_name(int perm);

/* The least role holding perm (ROLE_NONE for PERM_PUBLIC / PERM_VISITOR). */
int perm_min_role(int perm);

/* True when a user of role holds perm. */
bool perm_allows(int role, int perm);

/* True when a user (role, uid) may read and reply to conversation c:
 * supervisors and up all of their tenant's; agents the ones assigned to
 * them and unassigned ones. (Mentions and departments will widen an
 * agent's scope when they exist.) */
bool perm_conv_visible(int role, uint64_t uid, const rec_conv *c);

/* True when a user (role, uid) may set the assignee of c (now assigned to
 * current, 0 = nobody) to target (0 = unassign): supervisors and up
 * always; an agent picks up an unassigned conversation for themselves, and
 * hands back or transfers one assigned to them. */
bool perm_may_assign(int role, uint64_t uid, uint64_t current, uint64_t target);

/* True when a user of role may give a user the role target (nobody grants
 * a role above their own; only team managers grant at all). */
bool perm_may_grant(int role, int target);

/* True when a user of role may change (role, deactivate) a user whose
 * role is now target_now: team managers, for users not above them. */
bool perm_may_manage(int role, int target_now);

#endif
