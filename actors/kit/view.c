/* view — wire renderings shared by every feature (see view.h). */
#include "actors/kit/view.h"

#include "core/clock.h"
#include "core/id.h"

json_t *view_id(uint64_t id)
{
	char s[24];
	return id ? json_string(id_str(id, s)) : json_null();
}

json_t *view_time(int64_t ms)
{
	char s[32];
	return ms ? json_string(clock_iso8601(ms, s)) : json_null();
}

json_t *view_user(const rec_user *u)
{
	return json_pack("{s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:b,s:o}", "id", view_id(u->id), "tenant_id", view_id(u->tid),
			 "email", u->email, "name", u->name, "title", u->title, "avatar_url", u->avatar_url,
			 "role", u->role, "active", u->active, "created_at", view_time(u->created_ms));
}

json_t *view_visitor(const rec_visitor *v)
{
	return json_pack("{s:o,s:s,s:s,s:o}", "id", view_id(v->id), "name", v->name, "email", v->email,
			 "created_at", view_time(v->created_ms));
}
