/* parleyd — the Parley server. See `parleyd --help` and README.md. */
#include "actors/app/server.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	app_config cfg;
	app_config_default(&cfg);
	if (app_config_parse(&cfg, argc, argv) < 0)
		return 2;
	if (cfg.print_routes)
		return app_print_routes(&cfg);
	/* Before any thread starts (docs/performance.md, "Memory given back"):
	 * - glibc gives each thread that allocates its own arena (up to 8 per
	 *   core), and each arena keeps its own freed memory and fragments:
	 *   after 1,000 slow clients had left and the heap was trimmed, 6
	 *   arenas still held 6-9 MB where 2 held under 1 MB, for the same
	 *   chat latency;
	 * - blocks of 128 KiB and more are mapped on their own and unmapped
	 *   when freed. glibc raises that threshold (up to 32 MiB) each time
	 *   such a block is freed, after which big tables and buffers come
	 *   from the heap and pin it; a fixed threshold keeps them out (half
	 *   the memory left behind by 3,000 retired conversations). */
	if (cfg.malloc_arenas > 0)
		mallopt(M_ARENA_MAX, cfg.malloc_arenas);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	app *a = app_start(&cfg);
	if (!a)
		return 1;
	app_run_until_signal(a);
	app_stop(&a);
	return 0;
}
