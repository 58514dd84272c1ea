/* wrop — see wrop.h. */
#include "actors/kit/wrop.h"
#include "actors/kit/feature.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int op_apply(wr_req *w, store_txn *t)
{
	wrop *op = (wrop *)w;
	return op->apply(op, t);
}

static void op_done(wr_req *w, int rc)
{
	wrop *op = (wrop *)w;
	app *a = op->app;
	if (rc) {
		log_error("wrop.write", "err=\"%s\"", store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->status) {
		reply_error(a, &op->reply, op->status, op->code, op->msg);
	} else if (!op->answer) {
		reply_json(a, &op->reply, 200, NULL);
	} else {
		json_t *v = op->answer(op);
		if (v)
			reply_json(a, &op->reply, op->ok_status ? op->ok_status : 200, v);
		else
			reply_error(a, &op->reply, 500, "internal", "out of memory");
	}
	if (op->release)
		op->release(op);
	free(op);
}

void *wrop_new(http_req *req, size_t size)
{
	wrop *op = calloc(1, size);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	op->app = feature_app(req);
	op->w.apply = op_apply;
	op->w.done = op_done;
	return op;
}

void wrop_submit_http(http_req *req, wrop *op)
{
	reply_begin_http(op->app, &op->reply, req);
	writer_submit(op->app->wr, &op->w);
}

void wrop_submit_ws(app *a, conn_ref ref, const char *id, wrop *op)
{
	op->app = a;
	op->w.apply = op_apply;
	op->w.done = op_done;
	reply_begin_ws(a, &op->reply, ref, id);
	writer_submit(a->wr, &op->w);
}

int wrop_refuse(wrop *op, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->msg, sizeof op->msg, fmt, ap);
	va_end(ap);
	op->status = status;
	op->code = code;
	return 0;
}
