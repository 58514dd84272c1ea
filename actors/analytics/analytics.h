/* analytics — the dashboard's figures and the rollups' sink (analytics.c). */
#ifndef PARLEY_ANALYTICS_H
#define PARLEY_ANALYTICS_H

#include "actors/kit/feature.h"

extern const feature feature_analytics;

#endif
