/*
 * driver_cdef.c - the reading of an ECS container definition that the
 * docker driver (docker_create.c) and the process driver (process_spec.c)
 * share: numbers that ECS may send as strings, a container's override, the
 * command that wins, the stop timeout, and environment variables whose
 * names are checked. What each host makes of the rest (an Engine API body,
 * an argv and environ) stays in its own file.
 */
#include "scheduler/driver_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

long drv_num(const json_t *v)
{
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_string(v)) {
		char *end;
		errno = 0;
		long n = strtol(json_string_value(v), &end, 10);
		if (!errno && end != json_string_value(v) && *end == '\0')
			return n;
	}
	return 0;
}

const json_t *drv_find_named(const json_t *arr, const char *name)
{
	size_t i;
	const json_t *e;
	if (!json_is_array(arr))
		return NULL;
	json_array_foreach(arr, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && strcmp(n, name) == 0)
			return e;
	}
	return NULL;
}

bool drv_plain_string(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

const json_t *drv_container_override(const json_t *task, const char *name)
{
	return drv_find_named(
	    json_object_get(json_object_get(task, "overrides"), "containerOverrides"), name);
}

const json_t *drv_command(const json_t *ovr, const json_t *cdef)
{
	const json_t *cmd = json_object_get(ovr, "command");
	return json_is_array(cmd) ? cmd : json_object_get(cdef, "command");
}

int drv_stop_timeout(const json_t *cdef, int dflt)
{
	long st = drv_num(json_object_get(cdef, "stopTimeout"));
	return st > 0 ? (int)(st > 86400 ? 86400 : st) : dflt;
}

int drv_env_set(json_t *env, const char *name, const char *value, char *reason, size_t cap)
{
	if (!*name || strchr(name, '='))
		return drv_fail(reason, cap, "environment variable name \"%s\" is not valid", name);
	if (json_object_set_new(env, name, json_string(value)) < 0)
		return drv_fail(reason, cap, "out of memory");
	return 0;
}
