/*
 * describe.c - what the List* and Describe* calls of every kind (clusters,
 * services, tasks, container instances) share: a page of ARNs, the MISSING
 * failure for a reference that names nothing, the hand-over of the two
 * arrays a Describe* (or RunTask) call returns, and the whole of a describe
 * by references within one cluster.
 *
 * Only the shapes are here; each kind keeps how it finds one object by a
 * reference and how it shows it.
 */
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sched_list_page(struct sched *s, const struct store_sched_filter *base,
                    const struct sched_page *page, json_t **arns_out, char **next_out,
                    struct sched_error *err)
{
	*arns_out = NULL;
	*next_out = NULL;
	struct store_sched_filter f = *base;
	size_t limit;
	int rc = sched_page_start(page, &f.after_seq, &limit, err);
	if (rc != SCHED_OK)
		return rc;
	f.limit = limit + 1; /* one more tells whether a next page exists */
	struct sched_objs l;
	rc = sched_objs_query(s, &f, &l, err);
	if (rc != SCHED_OK)
		return rc;
	json_t *arns = json_array();
	if (!arns) {
		sched_objs_free(&l);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	size_t shown = l.n < limit ? l.n : limit;
	for (size_t i = 0; i < shown; i++) {
		if (json_array_append_new(arns, json_string(l.v[i].row.arn)) != 0) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			break;
		}
	}
	if (rc == SCHED_OK && l.n > limit)
		rc = sched_page_token(l.v[shown - 1].row.seq, next_out, err);
	sched_objs_free(&l);
	if (rc != SCHED_OK) {
		json_decref(arns);
		return rc;
	}
	*arns_out = arns;
	return SCHED_OK;
}

int sched_missing_ref(struct sched *s, json_t *failures, const char *kind, const char *cluster_name,
                      const char *ref, struct sched_error *err)
{
	char *arn = NULL;
	if (ref && strncmp(ref, "arn:", 4) != 0) {
		if (!cluster_name) {
			arn = sched_arn(s, kind, ref);
		} else {
			size_t n = strlen(cluster_name) + strlen(ref) + 2;
			char *rest = malloc(n);
			if (rest && snprintf(rest, n, "%s/%s", cluster_name, ref) > 0)
				arn = sched_arn(s, kind, rest);
			free(rest);
		}
	}
	int rc = json_array_append_new(failures, json_pack("{s:s,s:s}", "arn",
	                                                   arn   ? arn
	                                                   : ref ? ref
	                                                         : "",
	                                                   "reason", "MISSING"));
	free(arn);
	return rc == 0 ? SCHED_OK : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
}

int sched_hand_over(int rc, json_t *a, json_t *b, json_t **a_out, json_t **b_out)
{
	if (rc != SCHED_OK) {
		json_decref(a);
		json_decref(b);
		return rc;
	}
	*a_out = a;
	*b_out = b;
	return SCHED_OK;
}

int sched_describe_in_cluster(struct sched *s, const struct sched_describe_kind *k,
                              const char *cluster, const json_t *refs, json_t **found_out,
                              json_t **failures_out, struct sched_error *err)
{
	sched_clear_error(err);
	*found_out = NULL;
	*failures_out = NULL;
	if (!refs || !json_is_array(refs) || json_array_size(refs) == 0 ||
	    json_array_size(refs) > k->max)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "%s must list 1 to %zu %s",
		                  k->field, k->max, k->what);
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl;
	json_t *out = json_array(), *failures = json_array();
	int rc = out && failures ? sched_cluster_load(s, cluster, true, &cl, err)
	                         : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc != SCHED_OK)
		goto done;
	size_t i;
	const json_t *ref;
	json_array_foreach(refs, i, ref)
	{
		const char *r = json_string_value(ref);
		struct sched_obj o;
		struct sched_error ferr;
		int frc = k->find(s, &cl, r, &o, &ferr);
		if (frc == k->not_found) {
			rc = sched_missing_ref(s, failures, k->kind, cl.row.name, r, err);
			if (rc != SCHED_OK)
				break;
			continue;
		}
		if (frc != SCHED_OK) {
			rc = frc;
			if (err)
				*err = ferr;
			break;
		}
		json_array_append(out, o.doc);
		sched_obj_free(&o);
	}
	sched_obj_free(&cl);
done:
	pthread_mutex_unlock(&s->lock);
	return sched_hand_over(rc, out, failures, found_out, failures_out);
}
