/* log — structured logs: one line per event, logfmt key=value pairs, to stderr.
 *
 *   log_info("ws.closed", "conn=%u code=%d", id, code);
 * prints
 *   ts=2026-11-22T10:00:00.000Z level=info event=ws.closed conn=7 code=1000
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the minimum level printed (process-wide, set at start-up). */
void log_set_level(enum log_level level);

/* Writes one line: level, event name, then the formatted key=value pairs. */
void log_write(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_write(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_write(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_write(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_write(LOG_ERROR, ev, __VA_ARGS__)

#endif
