/* files — uploaded files: the file thread, the blob directory, the sweep.
 *
 * Blobs live in <data>/blobs/<tenant id, 16 hex>/<sha256, 64 hex>: by
 * tenant and content, so a tenant's identical uploads share one file and
 * nothing in a path or an id says anything about another tenant's files.
 * Uploads in progress are written to <data>/blobs/tmp/.
 *
 * All disk work happens on one thread of this module, never on an I/O
 * thread: an upload's pieces are copied off the connection and queued
 * (the connection stops reading while more than UPLOAD_HIGH bytes of it
 * wait, and reads on once the thread has caught up); at its end the
 * thread fsyncs the temporary file, decides its type from the bytes
 * (core/sniff.h), renames it to its blob path, fsyncs the directory and
 * stores the file record through the writer (storage/file_store.h, the
 * tenant's quota checked in the same transaction), waiting for the
 * commit. Finishing uploads one at a time on one thread is what makes
 * removing a refused blob safe: no other upload can be between its rename
 * and its record. A crash between the rename and the commit leaves a blob
 * no record names: files_start sweeps those (and every temporary file)
 * before the server listens.
 */
#ifndef PARLEY_FILES_H
#define PARLEY_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "actors/kit/app.h"
#include "actors/kit/reply.h"
#include "storage/records.h"

#define UPLOAD_HIGH (256 * 1024)   /* queued bytes of one upload before its connection pauses */

/* Feature hooks: the blob directory, the sweep, the thread; its stop
 * (what is queued is done first; jobs queued later, by connections still
 * closing, run at once where they are queued); and, once the loops have
 * stopped, the release of what start made. */
int files_start(app *a);
void files_stop(app *a);
void files_release(app *a);

/* Seconds a visitor must wait before another upload (0: go ahead, and the
 * upload is counted). */
int files_rate_take(app *a, uint64_t tid, uint64_t vid);

typedef struct upload upload;

/* An upload of one file to conversation cid by (uploader_type, id), its
 * answer later going to a request on connection ref (for pausing). The
 * caller holds one reference. NULL on OOM. */
upload *upload_new(app *a, conn_ref ref, uint64_t tid, uint64_t cid, uint8_t uploader_type,
		   uint64_t uploader_id, const char *name, const char *url_base);

/* Queues n bytes of the file (copied). Returns the bytes now queued and
 * not yet written (past UPLOAD_HIGH the caller pauses its reading; the
 * thread resumes it), or -1 when out of memory. */
long upload_write(upload *u, const char *p, size_t n);

/* Bytes queued and not yet written. */
long upload_pending(upload *u);

/* Queues the end: the answer (201 with the file, or the refusal) goes to
 * r, which passes to the upload. */
void upload_finish(upload *u, reply_to *r);

/* The caller is done with u: an upload not finished is dropped (its
 * temporary file removed). */
void upload_release(upload *u);

/* Answers r with file f's bytes (read on the file thread), headers for a
 * download: Content-Disposition (inline for images), the sandboxing CSP,
 * an ETag. */
void files_serve(app *a, const rec_file *f, reply_to *r);

/* The JSON view of a file; url_base is the conversation's path
 * ("/v1/conversations/{id}" or the widget's). */
json_t *files_view(const rec_file *f, const char *url_base);

/* Counters for /metrics. */
typedef struct {
	uint64_t stored, refused, bytes_written, swept, paused;
} files_stats;
void files_get_stats(app *a, files_stats *out);

/* Counts an upload's connection pausing its reads (the file thread behind). */
void files_count_pause(app *a);

#endif
