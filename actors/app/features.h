/* features — the feature folders the server runs. */
#ifndef PARLEY_FEATURES_H
#define PARLEY_FEATURES_H

#include "actors/kit/feature.h"

/* Every feature, in start order, NULL-terminated. */
extern const feature *const app_features[];

#endif
