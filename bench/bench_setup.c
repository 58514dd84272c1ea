/* bench_setup — see bench_setup.h. */
#include "bench_setup.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SETUP_MAX_TRIES 10

/* Sends one JSON request, retrying 429/503 (bounded); returns the parsed
 * body of a response with one of the accepted statuses, else NULL. */
static json_t *call_json(struct http_client *hc, const char *method, const char *path,
			 const char *bearer, json_t *body, int ok1, int ok2, const char *what)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_t *out = NULL;
	for (int attempt = 0; attempt < SETUP_MAX_TRIES; attempt++) {
		struct http_response r;
		char err[160];
		if (http_request(hc, method, path, bearer, b, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "parley-bench: %s: %s %s: %s\n", what, method, path, err);
			if (attempt < 2) {
				usleep(200000);
				continue;
			}
			break;
		}
		if (r.status == 429 || r.status == 503) {
			int wait = r.retry_after > 0 ? r.retry_after : 1;
			if (wait > 5)
				wait = 5;
			free(r.body);
			sleep((unsigned)wait);
			continue;
		}
		if (r.status != ok1 && r.status != ok2) {
			fprintf(stderr, "parley-bench: %s: %s %s -> HTTP %d: %.300s\n", what, method, path,
				r.status, r.body ? r.body : "");
			free(r.body);
			break;
		}
		json_error_t je;
		out = json_loadb(r.body, r.body_len, 0, &je);
		if (!out)
			fprintf(stderr, "parley-bench: %s: reply is not JSON: %s\n", what, je.text);
		free(r.body);
		break;
	}
	free(b);
	return out;
}

static char *dup_str_field(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? strdup(s) : NULL;
}

int setup_login(const struct setup_target *t, const char *email, const char *password,
		const char *tenant, char **token)
{
	struct http_client hc;
	http_client_init(&hc, &t->addr, t->alen, t->host_hdr, t->timeout_ms);
	json_t *body = json_pack("{s:s, s:s}", "email", email, "password", password);
	if (tenant)
		json_object_set_new(body, "tenant", json_string(tenant));
	json_t *r = call_json(&hc, "POST", "/v1/auth/login", NULL, body, 200, 200, "login");
	json_decref(body);
	http_client_close(&hc);
	*token = r ? dup_str_field(r, "access_token") : NULL;
	if (r && !*token)
		fprintf(stderr, "parley-bench: login: no access_token in the reply\n");
	json_decref(r);
	return *token ? 0 : -1;
}

int setup_visitor(struct http_client *hc, const char *widget_key, const char *name, char **token)
{
	json_t *body = json_pack("{s:s, s:s}", "widget_key", widget_key, "name", name);
	json_t *r = call_json(hc, "POST", "/v1/widget/session", NULL, body, 201, 200,
			      "widget session");
	json_decref(body);
	*token = r ? dup_str_field(r, "visitor_token") : NULL;
	if (r && !*token)
		fprintf(stderr, "parley-bench: widget session: no visitor_token in the reply\n");
	json_decref(r);
	return *token ? 0 : -1;
}

struct setup_job {
	const struct setup_target *t;
	const char *widget_key;
	int n;
	char **tokens;
	char **conv_ids;
	atomic_int next;
	atomic_int failed;
};

static void *setup_thread(void *arg)
{
	struct setup_job *j = arg;
	struct http_client hc;
	http_client_init(&hc, &j->t->addr, j->t->alen, j->t->host_hdr, j->t->timeout_ms);
	for (;;) {
		if (atomic_load(&j->failed))
			break;
		int i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n)
			break;
		char name[64];
		snprintf(name, sizeof(name), "bench visitor %d", i);
		if (setup_visitor(&hc, j->widget_key, name, &j->tokens[i]) < 0) {
			atomic_store(&j->failed, 1);
			break;
		}
		if (!j->conv_ids)
			continue;
		json_t *body = json_object();
		json_t *r = call_json(&hc, "POST", "/v1/widget/conversations", j->tokens[i], body, 201,
				      201, "create conversation");
		json_decref(body);
		j->conv_ids[i] = r ? dup_str_field(r, "id") : NULL;
		json_decref(r);
		if (!j->conv_ids[i]) {
			atomic_store(&j->failed, 1);
			break;
		}
	}
	http_client_close(&hc);
	return NULL;
}

int setup_visitors(const struct setup_target *t, const char *widget_key, int n, int threads,
		   char **tokens, char **conv_ids)
{
	struct setup_job j = { .t = t, .widget_key = widget_key, .n = n, .tokens = tokens,
			       .conv_ids = conv_ids };
	atomic_init(&j.next, 0);
	atomic_init(&j.failed, 0);
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	if (threads > n)
		threads = n > 0 ? n : 1;
	pthread_t th[64];
	int started = 0;
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&th[i], NULL, setup_thread, &j) != 0)
			break;
		started++;
	}
	if (started == 0)
		setup_thread(&j);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&j.failed) ? -1 : 0;
}
