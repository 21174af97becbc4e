/*
 * tags.c - ECS resource tags: the rules a tag list must keep, and
 * TagResource / UntagResource / ListTagsForResource on any scheduler object.
 *
 * Tags live in each object's document as ECS shows them ("tags": [{"key",
 * "value"}]), so a describe call returns them as they are and the gateway's
 * aws:ResourceTag/<key> conditions read the same list (sched_list_tags).
 *
 * The rules are ECS's (botocore's TagKey/TagValue shapes and the TagResource
 * documentation): 1-128 characters for a key, 0-256 for a value, counted in
 * Unicode characters; letters, digits, white space and + - = . _ : / @; keys
 * unique; at most 50 on a resource; "aws:" in any case is reserved as a
 * prefix of keys and values. Characters outside ASCII are taken as letters
 * (jansson has already checked they are valid UTF-8); classifying them by
 * Unicode category would need tables this project does not carry, and they
 * cannot form any of the ASCII punctuation the rules exclude.
 */
#include "scheduler/sched_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAGS_MAX      50
#define TAG_KEY_MAX   128
#define TAG_VALUE_MAX 256

/* Unicode characters in a valid UTF-8 string; -1 if a byte is not allowed. */
static long tag_chars(const char *p)
{
	long n = 0;
	for (const unsigned char *c = (const unsigned char *)p; *c; c++) {
		if (*c >= 0x80) {
			if ((*c & 0xC0) != 0x80) /* count lead bytes only */
				n++;
			continue;
		}
		if (!isalnum(*c) && !strchr(" +-=._:/@", *c))
			return -1;
		n++;
	}
	return n;
}

static bool reserved(const char *p)
{
	return strncasecmp(p, "aws:", 4) == 0;
}

static int check_one(size_t i, const char *key, const char *value, struct sched_error *err)
{
	long kn = tag_chars(key);
	if (kn < 1 || kn > TAG_KEY_MAX)
		return sched_fail(
		    err, SCHED_ERR_INVALID_PARAMETER,
		    "tags[%zu].key: 1 to %d letters, digits, spaces or + - = . _ : / @ "
		    "are allowed",
		    i, TAG_KEY_MAX);
	long vn = tag_chars(value);
	if (vn < 0 || vn > TAG_VALUE_MAX)
		return sched_fail(
		    err, SCHED_ERR_INVALID_PARAMETER,
		    "tags[%zu].value: up to %d letters, digits, spaces or + - = . _ : / @ "
		    "are allowed",
		    i, TAG_VALUE_MAX);
	if (reserved(key) || reserved(value))
		return sched_fail(
		    err, SCHED_ERR_INVALID_PARAMETER,
		    "tags[%zu]: the aws: prefix is reserved for AWS use and cannot be "
		    "used in tag keys or values",
		    i);
	return SCHED_OK;
}

static json_t *find_key(const json_t *arr, const char *key, size_t *at)
{
	size_t i;
	json_t *t;
	json_array_foreach(arr, i, t)
	{
		const char *k = json_string_value(json_object_get(t, "key"));
		if (k && strcmp(k, key) == 0) {
			if (at)
				*at = i;
			return t;
		}
	}
	return NULL;
}

int sched_tags_copy(const json_t *tags, json_t **out, struct sched_error *err)
{
	*out = NULL;
	json_t *copy = json_array();
	if (!copy)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (!tags || json_is_null(tags)) {
		*out = copy;
		return SCHED_OK;
	}
	int rc = SCHED_OK;
	if (!json_is_array(tags)) {
		rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "tags must be a list");
		goto fail;
	}
	if (json_array_size(tags) > TAGS_MAX) {
		rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                "a resource can have at most %d tags; %zu were given", TAGS_MAX,
		                json_array_size(tags));
		goto fail;
	}
	size_t i;
	const json_t *t;
	json_array_foreach(tags, i, t)
	{
		const json_t *k = json_object_get(t, "key");
		const json_t *v = json_object_get(t, "value");
		if (!json_is_object(t) || !json_is_string(k) ||
		    (v && !json_is_null(v) && !json_is_string(v))) {
			rc = sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "tags[%zu]: an object with a string key and value is required", i);
			goto fail;
		}
		const char *key = json_string_value(k);
		const char *value = json_is_string(v) ? json_string_value(v) : "";
		rc = check_one(i, key, value, err);
		if (rc != SCHED_OK)
			goto fail;
		if (find_key(copy, key, NULL)) {
			rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                "tags[%zu]: the key \"%s\" is given twice", i, key);
			goto fail;
		}
		json_t *one = json_pack("{s:s,s:s}", "key", key, "value", value);
		if (!one || json_array_append_new(copy, one) != 0) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			goto fail;
		}
	}
	*out = copy;
	return SCHED_OK;
fail:
	json_decref(copy);
	return rc;
}

int sched_tags_merge(json_t *have, const json_t *add, struct sched_error *err)
{
	json_t *clean = NULL;
	int rc = sched_tags_copy(add, &clean, err);
	if (rc != SCHED_OK)
		return rc;
	json_t *next = json_deep_copy(have && json_is_array(have) ? have : NULL);
	if (!next)
		next = json_array();
	if (!next) {
		json_decref(clean);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	size_t i;
	json_t *t;
	json_array_foreach(clean, i, t)
	{
		json_t *old = find_key(next, json_string_value(json_object_get(t, "key")), NULL);
		int w = old ? json_object_set(old, "value", json_object_get(t, "value"))
		            : json_array_append(next, t);
		if (w != 0) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			goto out;
		}
	}
	if (json_array_size(next) > TAGS_MAX) {
		rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                "a resource can have at most %d tags; this would make %zu",
		                TAGS_MAX, json_array_size(next));
		goto out;
	}
	if (json_array_clear(have) != 0 || json_array_extend(have, next) != 0)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
out:
	json_decref(clean);
	json_decref(next);
	return rc;
}

/* The object an ARN names, if it is one of ours. */
static int load_resource(struct sched *s, const char *arn, struct sched_obj *o,
                         struct sched_error *err)
{
	memset(o, 0, sizeof(*o));
	static const struct {
		const char *type;
		enum store_sched_kind kind;
	} kinds[] = {
	    {"cluster", STORE_SCHED_CLUSTER},
	    {"task-definition", STORE_SCHED_TASK_DEFINITION},
	    {"container-instance", STORE_SCHED_CONTAINER_INSTANCE},
	    {"task", STORE_SCHED_TASK},
	    {"service", STORE_SCHED_SERVICE},
	};
	if (!arn || !arn[0])
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "resourceArn is required");
	char prefix[128];
	int n = snprintf(prefix, sizeof(prefix), "arn:aws:ecs:%s:%s:", s->region, s->account);
	if (n < 0 || (size_t)n >= sizeof(prefix) || strncmp(arn, prefix, (size_t)n) != 0)
		return sched_fail(
		    err, SCHED_ERR_INVALID_PARAMETER,
		    "The ARN provided is invalid: %s is not an ECS resource of account "
		    "%s in %s",
		    arn, s->account, s->region);
	const char *rest = arn + n;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t tn = strlen(kinds[i].type);
		if (strncmp(rest, kinds[i].type, tn) != 0 || rest[tn] != '/' || !rest[tn + 1])
			continue;
		int nf = kinds[i].kind == STORE_SCHED_CLUSTER ? SCHED_ERR_CLUSTER_NOT_FOUND
		                                              : SCHED_ERR_RESOURCE_NOT_FOUND;
		struct sched_error lerr;
		int rc = sched_obj_load(s, arn, o, nf, &lerr);
		if (rc == SCHED_OK && o->row.kind != kinds[i].kind) {
			sched_obj_free(o);
			rc = nf;
		}
		if (rc == SCHED_OK && kinds[i].kind == STORE_SCHED_CLUSTER &&
		    strcmp(o->row.status, "ACTIVE") != 0) {
			sched_obj_free(o);
			rc = nf;
		}
		if (rc == SCHED_ERR_CLUSTER_NOT_FOUND)
			return sched_fail(err, rc, "Cluster not found.");
		if (rc == SCHED_ERR_RESOURCE_NOT_FOUND)
			return sched_fail(err, rc, "The specified resource could not be found: %s",
			                  arn);
		if (rc != SCHED_OK && err)
			*err = lerr;
		return rc;
	}
	return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
	                  "The ARN provided is invalid: %s names no cluster, task definition, "
	                  "container instance, task or service",
	                  arn);
}

static json_t *doc_tags(struct sched_obj *o)
{
	json_t *t = json_object_get(o->doc, "tags");
	if (json_is_array(t))
		return t;
	t = json_array();
	if (!t || json_object_set_new(o->doc, "tags", t) != 0)
		return NULL;
	return t;
}

int sched_tag_resource(struct sched *s, const char *resource_arn, const json_t *tags,
                       struct sched_error *err)
{
	sched_clear_error(err);
	if (!tags || !json_is_array(tags) || json_array_size(tags) == 0)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "tags must list at least one tag");
	pthread_mutex_lock(&s->lock);
	struct sched_obj o;
	int rc = load_resource(s, resource_arn, &o, err);
	if (rc == SCHED_OK) {
		json_t *have = doc_tags(&o);
		rc = have ? sched_tags_merge(have, tags, err)
		          : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		if (rc == SCHED_OK)
			rc = sched_obj_save(s, &o, err);
		sched_obj_free(&o);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_untag_resource(struct sched *s, const char *resource_arn, const json_t *tag_keys,
                         struct sched_error *err)
{
	sched_clear_error(err);
	if (!tag_keys || !json_is_array(tag_keys) || json_array_size(tag_keys) == 0 ||
	    json_array_size(tag_keys) > TAGS_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "tagKeys must list between 1 and %d keys", TAGS_MAX);
	size_t i;
	const json_t *k;
	json_array_foreach(tag_keys, i, k)
	{
		const char *key = json_string_value(k);
		long n = key ? tag_chars(key) : -1;
		if (n < 1 || n > TAG_KEY_MAX)
			return sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "tagKeys[%zu]: 1 to %d letters, digits, spaces or + - = . _ : / "
			    "@ are allowed",
			    i, TAG_KEY_MAX);
		if (reserved(key))
			return sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "tagKeys[%zu]: tags with the aws: prefix cannot be removed", i);
	}
	pthread_mutex_lock(&s->lock);
	struct sched_obj o;
	int rc = load_resource(s, resource_arn, &o, err);
	if (rc == SCHED_OK) {
		json_t *have = doc_tags(&o);
		if (!have) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		} else {
			bool changed = false;
			json_array_foreach(tag_keys, i, k)
			{
				size_t at;
				if (find_key(have, json_string_value(k), &at)) {
					json_array_remove(have, at);
					changed = true;
				}
			}
			if (changed)
				rc = sched_obj_save(s, &o, err);
		}
		sched_obj_free(&o);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_list_tags(struct sched *s, const char *resource_arn, json_t **tags_out,
                    struct sched_error *err)
{
	sched_clear_error(err);
	*tags_out = NULL;
	pthread_mutex_lock(&s->lock);
	struct sched_obj o;
	int rc = load_resource(s, resource_arn, &o, err);
	if (rc == SCHED_OK) {
		json_t *have = json_object_get(o.doc, "tags");
		*tags_out = json_is_array(have) ? json_deep_copy(have) : json_array();
		if (!*tags_out)
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		sched_obj_free(&o);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
