#include "actors/kit/jobs.h"

#include <stdatomic.h>
#include <stdlib.h>

#define JOB_QUEUE 256

typedef struct {
	actor_msg hdr;
	void (*fn)(void *);
	void *arg;
} job_msg;

struct jobs {
	actor *actors;
	int n;
	atomic_uint next;
};

static void handle(actor *self, actor_msg *msg)
{
	job_msg *j = (job_msg *)msg;
	j->fn(j->arg);
	free(j);
}

jobs *jobs_new(actor_rt *rt, int n)
{
	jobs *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->actors = calloc((size_t)n, sizeof *j->actors);
	if (!j->actors) {
		free(j);
		return NULL;
	}
	j->n = n;
	for (int i = 0; i < n; i++)
		actor_init(&j->actors[i], rt, handle, JOB_QUEUE);
	return j;
}

void jobs_free(jobs **j_p)
{
	jobs *j = *j_p;
	if (!j)
		return;
	free(j->actors);
	free(j);
	*j_p = NULL;
}

int jobs_run(jobs *j, void (*fn)(void *), void *arg)
{
	job_msg *m = calloc(1, sizeof *m);
	if (!m)
		return -1;
	m->fn = fn;
	m->arg = arg;
	unsigned i = atomic_fetch_add(&j->next, 1) % (unsigned)j->n;
	if (actor_send(&j->actors[i], &m->hdr) != ACTOR_OK) {
		free(m);
		return -1;
	}
	return 0;
}
