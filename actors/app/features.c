/* features — the feature folders, each registering its routes and frames. */
#include "actors/app/features.h"
#include "actors/kit/api.h"

void api_register(app *a)
{
	api_register_ops(a);
	api_register_auth(a);
	api_register_conv(a);
	api_register_widget(a);
	rt_register(a);
}
