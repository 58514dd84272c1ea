/* perm — roles and the one permission table.
 *
 * Every route and every realtime frame names the permission it needs
 * (actors/kit/feature.h); the dispatcher checks it against the caller's
 * role, read from the stored user on every request (kit/auth.h), so a
 * demoted or deactivated user loses it at once. The default table:
 *
 *   permission           owner admin supervisor agent  API key
 *   PERM_SELF              x     x       x        x      -     own profile and password
 *   PERM_SIGNED_IN         x     x       x        x     read   tenant settings (reading them), ping
 *   PERM_CONV              x     x       x        x     read   read/reply; agents: their scope (perm_conv_visible)
 *   PERM_CONV_ASSIGN       x     x       x        x     read   agents: pick up, hand back, transfer own (perm_may_assign)
 *   PERM_TEAM_READ         x     x       x        x     read   see colleagues (names, roles) for transfers
 *   PERM_TEAM_MANAGE       x     x                      admin  invite, change roles (up to their own), deactivate
 *   PERM_SETTINGS          x     x                      admin  tenant settings, integrations, API keys
 *   PERM_ANALYTICS         x     x       x        x     read   agents: their own figures
 *
 * API keys (storage/apikey_store.h) act with the role of their scope —
 * read as an agent, write as a supervisor, admin as an admin, never as an
 * owner — with two limits: a read key only reads (GET routes; any other
 * method is 403), and no key holds PERM_SELF (a key is not a user: it has
 * no profile or password). perm_allows_key decides; the column gives the
 * least scope on GET routes (any other method needs write, or admin where
 * the column says admin).
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
	PERM_SELF,
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

/* The role an API key of scope (enum apikey_scope) acts with: agent for
 * read, supervisor for write, admin for admin; ROLE_NONE if unknown. */
int perm_scope_role(int scope);

/* True for permissions only a user holds, never an API key (PERM_SELF). */
bool perm_users_only(int perm);

/* True when an API key of scope holds perm on a route of this method
 * ("GET", "POST", ...): its role holds perm, perm is not for users only,
 * and a read key only on GET. */
bool perm_allows_key(int scope, int perm, const char *method);

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
