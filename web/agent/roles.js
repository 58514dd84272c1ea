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
