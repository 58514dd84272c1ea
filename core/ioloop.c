/* ioloop — see ioloop.h. One ev_async per loop coalesces wake-ups: under load
 * many posts cost one wake-up, and the loop drains the queue in batches of
 * 256 so socket I/O still gets turns while a fan-out burst is pending. */
#include "core/ioloop.h"

#include <stdio.h>
#include <stdlib.h>

#define TASK_BATCH 256

static void run_tasks(ioloop *l, int max)
{
	for (int i = 0; max <= 0 || i < max; i++) {
		mpsc_node *n = mpsc_pop(&l->tasks);
		if (!n)
			goto out;
		ioloop_task *t = container_of(n, ioloop_task, node);
		t->run(l, t);
	}
	ev_async_send(l->ev, &l->wake);   /* more left: come back after I/O */
out:
	if (l->after_tasks)
		l->after_tasks(l);
}

static void on_wake(struct ev_loop *ev, ev_async *w, int revents)
{
	run_tasks(w->data, TASK_BATCH);
}

static void on_stop(struct ev_loop *ev, ev_async *w, int revents)
{
	ev_break(ev, EVBREAK_ALL);
}

ioloop *ioloop_new(int index)
{
	ioloop *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!l->ev) {
		free(l);
		return NULL;
	}
	l->index = index;
	mpsc_init(&l->tasks);
	ev_async_init(&l->wake, on_wake);
	l->wake.data = l;
	ev_async_start(l->ev, &l->wake);
	ev_async_init(&l->stop, on_stop);
	ev_async_start(l->ev, &l->stop);
	ev_unref(l->ev);
	ev_unref(l->ev);   /* the asyncs alone do not keep ev_run alive */
	return l;
}

/* The loop this thread runs, if any: answers ioloop_on_thread without
 * reading another thread's writes. */
static _Thread_local ioloop *current;

static void *loop_main(void *arg)
{
	ioloop *l = arg;
	char name[16];
	snprintf(name, sizeof name, "io-%d", l->index);
	pthread_setname_np(pthread_self(), name);
	current = l;
	ev_run(l->ev, 0);
	ioloop_drain(l);   /* tasks posted before the stop still run */
	return NULL;
}

int ioloop_start(ioloop *l)
{
	/* Keep the loop alive until ioloop_join even with no watchers. */
	ev_ref(l->ev);
	if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
		ev_unref(l->ev);
		return -1;
	}
	l->running = true;
	return 0;
}

void ioloop_join(ioloop *l)
{
	if (!l->running)
		return;
	ev_async_send(l->ev, &l->stop);
	pthread_join(l->thread, NULL);
	l->running = false;
}

void ioloop_drain(ioloop *l)
{
	mpsc_node *n;
	while ((n = mpsc_pop(&l->tasks))) {
		ioloop_task *t = container_of(n, ioloop_task, node);
		t->run(l, t);
	}
}

void ioloop_destroy(ioloop **l_p)
{
	ioloop *l = *l_p;
	if (!l)
		return;
	ev_ref(l->ev);
	ev_ref(l->ev);
	ev_async_stop(l->ev, &l->wake);
	ev_async_stop(l->ev, &l->stop);
	ev_loop_destroy(l->ev);
	free(l);
	*l_p = NULL;
}

void ioloop_post(ioloop *l, ioloop_task *task)
{
	atomic_fetch_add_explicit(&l->posted, 1, memory_order_relaxed);
	mpsc_push(&l->tasks, &task->node);
	ev_async_send(l->ev, &l->wake);
}

bool ioloop_on_thread(const ioloop *l)
{
	return current == l;
}
