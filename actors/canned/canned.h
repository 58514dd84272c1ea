/* canned — canned responses: their placeholders and who may use one.
 *
 * A body may hold {{visitor.name}}, {{visitor.email}}, {{agent.name}} and
 * {{conversation.id}} (spaces inside the braces allowed: {{ agent.name }}).
 * canned_expand replaces them with the values given, as text: a value
 * holding HTML or script is copied as it is (escaping is the renderer's
 * job, as for any message). Anything else between braces — an unknown
 * name, an unclosed "{{" — is left as written, so the agent and the
 * visitor see it rather than a silent gap. A known placeholder whose
 * value is empty (a visitor who gave no name) becomes empty text.
 */
#ifndef PARLEY_CANNED_H
#define PARLEY_CANNED_H

#include <stddef.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

typedef struct {
	const char *visitor_name, *visitor_email, *agent_name;   /* NULL = "" */
	uint64_t conversation_id;                                  /* 0 = "" */
} canned_vars;

/* The expanded text (malloc'ed, NUL-terminated; *len its length when len
 * is not NULL), or NULL when out of memory. */
char *canned_expand(const char *body, const canned_vars *v, size_t *len);

/* The canned response id as user uid of tenant tid may use it: the
 * tenant's and uid's own; another agent's (or a missing one) is
 * STORE_ENOTFOUND. 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int canned_usable(store_txn *t, uint64_t tid, uint64_t uid, uint64_t id, rec_canned *out);

#endif
