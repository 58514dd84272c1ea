#include "net/static.h"
#include "core/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE (4 << 20)

typedef struct {
	char *path;        /* URL path, e.g. "/agent/index.html" */
	char *data;
	size_t len;
	char etag[HTTP_ETAG_SIZE];
	const char *ctype;
} sfile;

struct static_site {
	sfile *files;
	size_t n, cap;
};

const char *static_content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot)
		return "application/octet-stream";
	static const struct { const char *ext, *type; } map[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".jpg", "image/jpeg" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".yaml", "application/yaml" },
		{ ".woff2", "font/woff2" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcasecmp(dot, map[i].ext) == 0)
			return map[i].type;
	return "application/octet-stream";
}

static void add_file(static_site *s, const char *fs_path, const char *url)
{
	FILE *f = fopen(fs_path, "rb");
	if (!f)
		return;
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size > MAX_FILE) {
		fclose(f);
		return;
	}
	char *data = malloc((size_t)st.st_size + 1);
	size_t got = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (!data || got != (size_t)st.st_size) {
		free(data);
		return;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		sfile *nf = realloc(s->files, cap * sizeof *nf);
		if (!nf) {
			free(data);
			return;
		}
		s->files = nf;
		s->cap = cap;
	}
	sfile *sf = &s->files[s->n++];
	sf->path = strdup(url);
	sf->data = data;
	sf->len = got;
	sf->ctype = static_content_type(url);
	http_etag(data, got, sf->etag);
}

static void walk(static_site *s, const char *dir, const char *url, int depth)
{
	if (depth > 8)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "node_modules") == 0)
			continue;
		char fp[2048], up[2048];
		snprintf(fp, sizeof fp, "%s/%s", dir, e->d_name);
		snprintf(up, sizeof up, "%s/%s", url, e->d_name);
		struct stat st;
		if (stat(fp, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(s, fp, up, depth + 1);
		else if (S_ISREG(st.st_mode))
			add_file(s, fp, up);
	}
	closedir(d);
}

static_site *static_load(const char *root)
{
	struct stat st;
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	static_site *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	walk(s, root, "", 0);
	log_info("static.loaded", "root=%s files=%zu", root, s->n);
	return s;
}

void static_free(static_site **s_p)
{
	static_site *s = *s_p;
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->files[i].path);
		free(s->files[i].data);
	}
	free(s->files);
	free(s);
	*s_p = NULL;
}

size_t static_count(const static_site *s)
{
	return s ? s->n : 0;
}

static const sfile *find(const static_site *s, const char *path, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->files[i].path) == len && memcmp(s->files[i].path, path, len) == 0)
			return &s->files[i];
	return NULL;
}

void static_handler(http_req *req)
{
	static_site *s = req->route_data;
	hp_str p = req->head.path;
	char path[1024];
	if (!s || p.len == 0 || p.len >= sizeof path - 16 || p.p[0] != '/') {
		http_respond_error(req, 404, "not_found", "no such file", NULL);
		return;
	}
	memcpy(path, p.p, p.len);
	path[p.len] = 0;
	if (strstr(path, "..") || strchr(path, '\\') || strchr(path, '%')) {
		http_respond_error(req, 404, "not_found", "no such file", NULL);
		return;
	}
	size_t len = p.len;
	if (path[len - 1] == '/') {
		strcpy(path + len, "index.html");
		len += 10;
	}
	const sfile *f = find(s, path, len);
	if (!f) {
		/* "/agent" → redirect to "/agent/" when that directory has an index */
		char alt[1100];
		snprintf(alt, sizeof alt, "%s/index.html", path);
		if (find(s, alt, strlen(alt))) {
			char loc[1100];
			snprintf(loc, sizeof loc, "Location: %s/\r\n", path);
			http_respond(req, 301, NULL, NULL, 0, loc);
			return;
		}
		http_respond_error(req, 404, "not_found", "no such file", NULL);
		return;
	}
	bool html = strncmp(f->ctype, "text/html", 9) == 0;
	char extra[256];
	snprintf(extra, sizeof extra, "ETag: %s\r\nCache-Control: %s\r\n%s", f->etag,
		 html ? "no-cache" : "public, max-age=300",
		 html ? "X-Frame-Options: SAMEORIGIN\r\nReferrer-Policy: strict-origin-when-cross-origin\r\n" : "");
	if (http_etag_match(req, f->etag)) {
		http_respond(req, 304, NULL, NULL, 0, extra);
		return;
	}
	http_respond_static(req, 200, f->ctype, f->data, f->len, extra);   /* no copy per reader */
}
