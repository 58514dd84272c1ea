/* static — the web/ folder served from memory.
 *
 * All files under the root are read once at start-up (the widget, the
 * console and the demo page are small), so serving them never blocks an I/O
 * thread on disk. Responses carry the content type from the extension, an
 * ETag (content hash) answered with 304 on If-None-Match, and
 * Cache-Control: no-cache for HTML (always revalidate) and max-age=300 for
 * assets. Paths with "..", NUL or backslashes are refused; "/dir/" serves
 * "/dir/index.html".
 */
#ifndef PARLEY_STATIC_H
#define PARLEY_STATIC_H

#include <stddef.h>
#include "net/http.h"

typedef struct static_site static_site;

/* Loads every regular file under root (≤ 4 MiB each); NULL if root is unreadable. */
static_site *static_load(const char *root);

/* Frees the site and nulls the pointer. */
void static_free(static_site **s_p);

/* Number of files loaded. */
size_t static_count(const static_site *s);

/* The http fallback handler; route_data must be the static_site. */
void static_handler(http_req *req);

/* Content type for a file name by extension. */
const char *static_content_type(const char *name);

#endif
