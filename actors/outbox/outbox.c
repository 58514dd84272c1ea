/* outbox — the feature's life (start, stop), signatures and figures
 * (see outbox.h and internal.h). */
#include "actors/outbox/internal.h"
#include "core/crypto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void outbox_sign(const char *secret, int64_t ts, const void *body, size_t len, char *out)
{
	/* HMAC-SHA256(secret, "<ts>." || body) */
	char head[32];
	int hl = snprintf(head, sizeof head, "%" PRId64 ".", ts);
	size_t n = (size_t)hl + len;
	uint8_t mac[CRYPTO_SHA256_LEN];
	uint8_t stack[4096];
	uint8_t *msg = n <= sizeof stack ? stack : malloc(n);
	if (!msg) {
		memset(out, 0, OUTBOX_SIG_LEN + 1);
		return;
	}
	memcpy(msg, head, (size_t)hl);
	if (len)
		memcpy(msg + hl, body, len);
	crypto_hmac_sha256(secret, strlen(secret), msg, n, mac);
	if (msg != stack)
		free(msg);
	memcpy(out, "v1=", 3);
	crypto_hex(mac, sizeof mac, out + 3);
}

int outbox_sender_register(app *a, uint8_t kind, const outbox_sender *s)
{
	if (kind == OBK_WEBHOOK || kind >= OBK__COUNT || kind >= sizeof a->outbox_senders / sizeof a->outbox_senders[0])
		return -1;
	a->outbox_senders[kind] = s;
	return 0;
}

int outbox_feature_start(app *a)
{
	outbox *ob = calloc(1, sizeof *ob);
	if (!ob)
		return -1;
	ob->app = a;
	ob->concurrency = a->cfg.webhook_concurrency;
	ob->connect_ms = (long)a->cfg.webhook_connect_timeout_ms;
	ob->total_ms = (long)a->cfg.webhook_timeout_ms;
	ob->horizon_ms = a->cfg.outbox_horizon_s * 1000;
	ob->quota = a->cfg.outbox_quota > 0 ? (uint64_t)a->cfg.outbox_quota : 0;
	ob->log_max = (uint64_t)a->cfg.webhook_log_max;
	pthread_mutex_init(&ob->lock, NULL);
	a->outbox = ob;   /* freed by outbox_feature_release, whatever happens here */
	/* the thread first (it reads what is pending before anything new can
	 * be written: the server does not listen yet), then the sink */
	if (deliver_start(ob) < 0) {
		ob->closed = true;
		return -1;
	}
	if (sink_start(ob) < 0) {
		deliver_stop(ob);
		return -1;
	}
	return 0;
}

void outbox_feature_stop(app *a)
{
	/* the writer may still apply requests whose sink adds entries: they
	 * stay in the outbox for the next start (their notes are freed) */
	if (a->outbox)
		deliver_stop(a->outbox);
}

void outbox_feature_release(app *a)
{
	outbox *ob = a->outbox;
	if (!ob)
		return;
	deliver_stop(ob);
	sink_free(ob);   /* the writer's exit hook did, if it was registered */
	pthread_mutex_destroy(&ob->lock);
	free(ob);
	a->outbox = NULL;
}

static void metric(buf *b, const char *name, const char *type, const char *help, double v)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

void outbox_metrics(app *a, buf *b)
{
	outbox *ob = a->outbox;
	if (!ob)
		return;
	metric(b, "parley_outbox_enqueued_total", "counter", "Outbox entries written (webhooks)",
	       (double)atomic_load(&ob->enqueued));
	metric(b, "parley_outbox_dropped_total", "counter", "Outbox entries dropped: the tenant's outbox was full",
	       (double)atomic_load(&ob->dropped));
	metric(b, "parley_outbox_pending", "gauge", "Webhook entries waiting for delivery",
	       (double)atomic_load(&ob->pending));
	metric(b, "parley_webhook_inflight", "gauge", "Webhook deliveries in flight", (double)atomic_load(&ob->inflight));
	metric(b, "parley_webhook_delivered_total", "counter", "Webhook deliveries answered with 2xx",
	       (double)atomic_load(&ob->delivered));
	metric(b, "parley_webhook_failed_total", "counter", "Webhook attempts that failed",
	       (double)atomic_load(&ob->failed));
	metric(b, "parley_webhook_parked_total", "counter", "Webhook deliveries given up after the horizon",
	       (double)atomic_load(&ob->parked));
	metric(b, "parley_webhook_refused_total", "counter", "Webhook attempts refused by the egress policy",
	       (double)atomic_load(&ob->refused));
}
