/*
 * driver_env.c - one container's share of the environment the task hooks
 * fill (driver.h): string values go to every container, object values
 * (container name -> string) to the containers they name.
 */
#include "scheduler/driver.h"

#include <string.h>

json_t *sched_driver_env_for(const json_t *env, const char *container)
{
	json_t *out = json_object();
	if (!out)
		return NULL;
	if (!json_is_object(env))
		return out;
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)env, name, v)
	{
		json_t *val = NULL;
		if (json_is_string(v))
			val = v;
		else if (json_is_object(v) && container)
			val = json_object_get(v, container);
		if (!json_is_string(val))
			continue;
		if (json_object_set(out, name, val) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
