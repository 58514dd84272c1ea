// Roles and what the console shows for them; the server's table is
// actors/kit/perm.h (owner > admin > supervisor > agent) and it decides.

export const ROLES = ["agent", "supervisor", "admin", "owner"];

export function rank(role) {
  return ROLES.indexOf(role) + 1; // 0 for an unknown role
}

// team.manage: invite, change roles (up to one's own), deactivate.
export const canManageTeam = (role) => rank(role) >= rank("admin");

// settings: the tenant's settings.
export const canEditSettings = (role) => rank(role) >= rank("admin");

// settings also covers API keys: create, list, revoke.
export const canManageApiKeys = (role) => rank(role) >= rank("admin");

// The role an API key's scope acts with (actors/kit/perm.c): nobody makes
// a key above their own role.
export const SCOPES = [
  { scope: "read", role: "agent", label: "read: an agent's reads" },
  { scope: "write", role: "supervisor", label: "write: as a supervisor" },
  { scope: "admin", role: "admin", label: "admin: as an admin" },
];
