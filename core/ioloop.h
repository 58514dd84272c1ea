/* ioloop — I/O threads: one libev loop each, fed by a lock-free task queue.
 *
 * Any thread hands work to an I/O thread with ioloop_post(): the task is
 * pushed on the loop's mpsc queue and an ev_async wakes the loop, which runs
 * tasks in order, at most `batch` per wake-up before returning to I/O.
 * Tasks embed `ioloop_task` and are owned by their run function.
 */
#ifndef PARLEY_IOLOOP_H
#define PARLEY_IOLOOP_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "core/mpsc.h"

typedef struct ioloop ioloop;
typedef struct ioloop_task ioloop_task;

/* Runs on the loop's thread; owns the task. */
typedef void (*ioloop_fn)(ioloop *loop, ioloop_task *task);

struct ioloop_task {
	mpsc_node node;           /* private: queue link */
	ioloop_fn run;
};

struct ioloop {
	struct ev_loop *ev;       /* read-only: the libev loop */
	int index;                /* read-only: 0..n-1 */
	void *user;               /* public: owner's per-thread state */
	void (*after_tasks)(ioloop *l); /* public: optional, runs after each batch of tasks
				   * (lets the owner coalesce work the tasks queued) */
	mpsc_queue tasks;         /* private */
	ev_async wake;            /* private */
	ev_async stop;            /* private */
	pthread_t thread;         /* private */
	bool running;             /* private */
	atomic_uint_fast64_t posted;  /* read-only: tasks posted (metrics) */
};

/* Creates a loop (not yet running); NULL on failure. */
ioloop *ioloop_new(int index);

/* Starts the loop's thread. 0 or -1. */
int ioloop_start(ioloop *l);

/* Asks the loop to return from ev_run and joins its thread; tasks still
 * queued run first. */
void ioloop_join(ioloop *l);

/* Frees a stopped loop (after ioloop_join) and nulls the pointer. */
void ioloop_destroy(ioloop **l_p);

/* Posts a task from any thread. */
void ioloop_post(ioloop *l, ioloop_task *task);

/* Runs queued tasks now (loop thread only; used before stop). */
void ioloop_drain(ioloop *l);

/* True when called on l's thread. */
bool ioloop_on_thread(const ioloop *l);

#endif
