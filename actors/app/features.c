/* features — the feature folders the server runs, in start order. Each
 * folder defines one `const feature` (kit/feature.h) — conversations/ two:
 * its own and the agents' tools on a conversation (tools.h); adding a
 * feature adds a folder and a line here. */
#include "actors/app/features.h"

extern const feature feature_ops, feature_auth, feature_conversations, feature_widget, feature_realtime,
	feature_team, feature_tenant, feature_email, feature_apikeys, feature_outbox, feature_files,
	feature_canned, feature_tags, feature_attributes, feature_mentions, feature_conv_tools,
	feature_ratings, feature_transcripts, feature_visitors,
	feature_departments, feature_audit, feature_desk, feature_tracking, feature_search, feature_analytics;

const feature *const app_features[] = {
	&feature_ops,
	&feature_auth,
	&feature_desk,   /* before the conversations: its start rebuilds the queues and loads */
	&feature_conversations,
	&feature_widget,
	&feature_realtime,
	&feature_team,
	&feature_tenant,
	&feature_email,
	&feature_apikeys,
	&feature_outbox,
	&feature_files,
	&feature_canned,
	&feature_tags,
	&feature_attributes,
	&feature_mentions,
	&feature_conv_tools,
	&feature_ratings,
	&feature_transcripts,
	&feature_visitors,
	&feature_departments,
	&feature_audit,
	&feature_tracking,
	&feature_search,
	&feature_analytics,
	NULL,
};
