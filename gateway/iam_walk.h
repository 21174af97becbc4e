/*
 * iam_walk.h - what the files of the IAM file parser share (private to
 * gateway/iam_walk.c, iam_file.c and iam_file_oidc.c).
 *
 * The parser walks the file's JSON keeping the path of where it is
 * ("roles[2].inline_policies.orders"), so every diagnostic names its place;
 * push a key or index on the way in, pop on the way out. The helpers below
 * read members of a JSON object and check AWS's character rules; each reports
 * its own faults at the current path and returns NULL or false, so callers
 * carry on and every fault of a file is found in one run. Out of memory is
 * noted in the walk (oom) and ends the parse.
 */
#ifndef TASKGATE_GATEWAY_IAM_WALK_H
#define TASKGATE_GATEWAY_IAM_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway/iam_int.h"

struct gw_iam_walk {
	struct gw_iam_diags *d;
	char path[320];
	size_t len;
	bool oom;
	const char *base_dir;
	const char *account; /* the file's account id once known to be valid */
};

/* ---- diagnostics at the current path ---- */
__attribute__((format(printf, 2, 3))) void gw_iam_err(struct gw_iam_walk *w, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void gw_iam_warn(struct gw_iam_walk *w, const char *fmt, ...);
/* Each returns the length to give back to gw_iam_pop. */
__attribute__((format(printf, 2, 3))) size_t gw_iam_push(struct gw_iam_walk *w, const char *fmt,
                                                         ...);
size_t gw_iam_push_key(struct gw_iam_walk *w, const char *key);
size_t gw_iam_push_index(struct gw_iam_walk *w, size_t i);
void gw_iam_pop(struct gw_iam_walk *w, size_t saved);

/* ---- character rules (AWS's, see docs/iam.md) ---- */
size_t gw_iam_count_chars(const char *s); /* UTF-8 characters */
bool gw_iam_name_ok(const char *s, size_t max);
bool gw_iam_path_ok(const char *s);
bool gw_iam_description_ok(const char *s);
bool gw_iam_tag_chars_ok(const char *s);
bool gw_iam_printable_ok(const char *s, size_t max);
bool gw_iam_digits(const char *s, size_t n);
bool gw_iam_access_key_id_ok(const char *s);
bool gw_iam_version_id_ok(const char *s);

/* ---- JSON members ---- */
bool gw_iam_keys_known(struct gw_iam_walk *w, json_t *obj, const char *const *known);
const char *gw_iam_json_kind(const json_t *v);
const char *gw_iam_get_str(struct gw_iam_walk *w, json_t *obj, const char *key, bool required);
bool gw_iam_get_int(struct gw_iam_walk *w, json_t *obj, const char *key, int64_t min, int64_t max,
                    int64_t def, int64_t *out);
json_t *gw_iam_get_typed(struct gw_iam_walk *w, json_t *obj, const char *key, json_type type,
                         bool required);
char *gw_iam_sdup(struct gw_iam_walk *w, const char *s);
bool gw_iam_grow(struct gw_iam_walk *w, void **arr, size_t n, size_t elem);
/* A path from the file, made relative to the file's folder (malloc'd). */
char *gw_iam_join_path(struct gw_iam_walk *w, const char *path);

/* Compiles the document at the current path as `type`; its canonical text
 * (malloc'd) or NULL after reporting why. *chars: size without white space. */
char *gw_iam_compile_doc(struct gw_iam_walk *w, json_t *doc, enum policy_type type, bool managed,
                         const char *id, size_t *chars);
void gw_iam_parse_tags(struct gw_iam_walk *w, json_t *obj, struct store_iam_tag **out,
                       size_t *n_out);

/* ---- the parts in iam_file_oidc.c ---- */
void gw_iam_parse_issuer(struct gw_iam_walk *w, json_t *o, struct store_iam *st);
void gw_iam_parse_host_mapping(struct gw_iam_walk *w, json_t *o, struct store_iam *st);

#endif
