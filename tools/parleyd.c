/* parleyd — the Parley server. See `parleyd --help` and README.md. */
#include "actors/app.h"

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
	app *a = app_start(&cfg);
	if (!a)
		return 1;
	app_run_until_signal(a);
	app_stop(&a);
	return 0;
}
