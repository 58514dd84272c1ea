/* features — the feature folders the server runs. */
#ifndef PARLEY_FEATURES_H
#define PARLEY_FEATURES_H

#include "actors/kit/app.h"

/* Registers every REST and WebSocket route. */
void api_register(app *a);

#endif
