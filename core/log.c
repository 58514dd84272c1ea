#include "core/log.h"
#include "core/clock.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int min_level = LOG_INFO;
static const char *names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	atomic_store(&min_level, (int)level);
}

void log_write(enum log_level level, const char *event, const char *fmt, ...)
{
	if ((int)level < atomic_load(&min_level))
		return;
	char line[1024], ts[32];
	int n = snprintf(line, sizeof line, "ts=%s level=%s event=%s ",
			 clock_iso8601(clock_now_ms(), ts), names[level], event);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);   /* one write per line: lines never interleave */
}
