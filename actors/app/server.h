/* server — start-up, the option table, the first-run seed and the stop
 * sequence of the running server (the parts are in actors/kit/app.h). */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

#include "actors/kit/app.h"

/* Fills defaults (then flags/env override). */
void app_config_default(app_config *c);

/* Applies PARLEY_* environment variables, then argv flags; prints usage and
 * returns -1 on a bad flag. */
int app_config_parse(app_config *c, int argc, char **argv);

/* Opens storage, seeds the demo tenant on first start, starts threads and
 * listens. NULL on failure (logged). */
app *app_start(const app_config *cfg);

/* Blocks until SIGINT/SIGTERM, then stops cleanly. */
void app_run_until_signal(app *a);

/* Stops everything and frees the app. */
void app_stop(app **a_p);

/* Prints "METHOD /path" for every route (for the openapi.yaml check); 0. */
int app_print_routes(const app_config *cfg);

/* Loads or creates the server's token-signing key in the meta table. */
int app_load_key(db *d, uint8_t key[32]);

#endif
