/*
 * iam_int.h - what the files of the IAM code share (private to
 * gateway/iam*.c): the error helper, the canonical order of a state, ARNs,
 * and the comparisons that decide when two names are the same name.
 *
 * IAM names compare without case ("Web" and "web" are one role); policy
 * documents and secrets compare byte for byte. The canonical order is what
 * lets a parsed file and a loaded state be compared element by element: both
 * are sorted by gw_iam_state_sort before anyone looks at them.
 */
#ifndef TASKGATE_GATEWAY_IAM_INT_H
#define TASKGATE_GATEWAY_IAM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "gateway/iam.h"

__attribute__((format(printf, 3, 4))) int gw_iam_fail(struct gw_iam_error *err, int code,
                                                      const char *fmt, ...);
void gw_iam_clear_error(struct gw_iam_error *err);

/* Sorts every list of st into the canonical order (names without case,
 * versions by number, access keys by id, ...). */
void gw_iam_state_sort(struct store_iam *st);

/* Compares policy version ids by number ("v2" < "v10"). */
int gw_iam_version_cmp(const char *a, const char *b);

/* "arn:aws:iam::<account>:<type><path><name>" into a malloc'd string, or NULL
 * when out of memory. type: "role", "user", "policy". */
char *gw_iam_arn(const char *account, const char *type, const char *path, const char *name);

/*
 * Splits an IAM ARN of the given type: "arn:aws:iam::<account>:<type>/..." with
 * the last '/'-separated part the name and everything before it the path. The
 * slices point into arn. false when arn is not such an ARN.
 */
bool gw_iam_arn_split(const char *arn, size_t n, const char *type, const char **account,
                      size_t *account_n, const char **path, size_t *path_n, const char **name,
                      size_t *name_n);

/* A unique id shaped like AWS's: prefix ("AROA", "AIDA", "ANPA") and 16
 * characters of [A-Z2-7], malloc'd; NULL when out of memory or randomness. */
char *gw_iam_unique_id(const char *prefix);

char *gw_iam_strdup(const char *s);

#endif
