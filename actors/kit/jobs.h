/* jobs — CPU-heavy work (Argon2 password hashing) off the I/O threads.
 *
 * A fixed set of job actors on the worker pool; jobs are spread round-robin
 * and run one at a time per job actor. Each job is a function and its
 * argument, which the function owns.
 */
#ifndef PARLEY_JOBS_H
#define PARLEY_JOBS_H

#include "core/actor.h"

typedef struct jobs jobs;

/* n job actors on rt. */
jobs *jobs_new(actor_rt *rt, int n);

/* Frees after the runtime stopped. */
void jobs_free(jobs **j_p);

/* Runs fn(arg) on a worker thread. Returns 0, or -1 when the queue is full
 * (arg not taken). */
int jobs_run(jobs *j, void (*fn)(void *arg), void *arg);

#endif
