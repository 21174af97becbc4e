/*
 * policy_int.h - the compiled form of a policy, shared by the files of policy/
 * and by nothing else (policy.h is the module's only public door).
 *
 * A compiled policy is a tree of plain structs living in one arena that is
 * freed as a whole when the last reference goes. Everything evaluation needs
 * is decided at compile time: action patterns are lowercased, condition keys
 * lowercased, numbers, dates, addresses and base64 decoded, resource ARNs cut
 * into components, and every string that may hold policy variables turned into
 * a template (a list of pieces: pattern text, literal text, variable). So
 * evaluation only compares, and never allocates.
 *
 * Names here carry the private prefix pol_; public ones keep policy_.
 */
#ifndef TASKGATE_POLICY_INT_H
#define TASKGATE_POLICY_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* ---- arena: every allocation of one compiled policy ---- */

struct pol_arena_block;

struct pol_arena {
	struct pol_arena_block *head;
};

/* Zeroed, 16-byte aligned; NULL when out of memory or n is absurd. */
void *pol_arena_alloc(struct pol_arena *a, size_t n);
/* Overflow-checked count * size. */
void *pol_arena_array(struct pol_arena *a, size_t count, size_t size);
/* NUL-terminated copy of s[0..n). */
char *pol_arena_strndup(struct pol_arena *a, const char *s, size_t n);
void pol_arena_free(struct pol_arena *a);

/* ---- diagnostics ---- */

/* Adds one diagnostic; returns -1 only when memory ran out (then the compile
 * fails with POLICY_ERR_NOMEM). d may be NULL: then only the count is kept by
 * the caller's own bookkeeping. */
int pol_diag_add(struct policy_diags *d, enum policy_severity sev, const char *path,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- templates: strings that may hold policy variables ---- */

enum pol_piece_kind {
	POL_PIECE_PAT = 0, /* text in which * and ? are wildcards (where the operator allows) */
	POL_PIECE_LIT,     /* text taken literally: ${*} ${?} ${$} */
	POL_PIECE_VAR,     /* ${key} or ${key, 'default'}: the request's value, literally */
};

/* A template holds at most this many pieces; compile refuses more. */
#define POL_TMPL_MAX_PIECES 32

struct pol_piece {
	uint8_t kind;
	bool has_default;
	uint32_t n;      /* PAT/LIT: text length; VAR: key length */
	const char *p;   /* PAT/LIT: the text; VAR: the key, lowercased */
	const char *def; /* VAR with a default: the default text */
	uint32_t defn;
};

struct pol_tmpl {
	const struct pol_piece *pieces;
	uint16_t npieces;
	uint16_t nvars;
};

/* An ARN pattern: "*" alone, or up to six colon-separated components whose
 * last, when fewer than six and ending in '*', runs on past colons. */
struct pol_arn_pat {
	bool any;
	bool run_on;
	uint8_t ncomp;
	struct pol_tmpl comp[6];
};

/* ---- typed condition values ---- */

#define POL_DEC_DIGITS 40

/* A decimal number: value = (neg ? -1 : 1) * 0.d[0]d[1]...d[nd-1] * 10^exp,
 * with d[0] != 0 and no trailing zero digit; zero has nd == 0. Exact, so
 * 0.1 and 0.10 are equal and 0.1 and 0.1000000000000000055 are not. */
struct pol_dec {
	bool neg;
	uint8_t nd;
	int32_t exp;
	char d[POL_DEC_DIGITS];
};

struct pol_time {
	int64_t sec; /* seconds since 1970-01-01T00:00:00Z */
	uint32_t nsec;
};

/* An address or block, IPv4 held as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+p). */
struct pol_cidr {
	uint8_t addr[16];
	uint8_t plen;
};

struct pol_bin {
	const unsigned char *p;
	size_t n;
};

union pol_cval {
	struct pol_tmpl str;    /* String operators */
	struct pol_arn_pat arn; /* Arn operators */
	struct pol_dec num;
	struct pol_time time;
	struct pol_cidr ip;
	bool b; /* Bool, Null */
	struct pol_bin bin;
};

/* ---- operators ---- */

enum pol_family {
	POL_F_STRING = 0,
	POL_F_NUMERIC,
	POL_F_DATE,
	POL_F_BOOL,
	POL_F_BINARY,
	POL_F_IP,
	POL_F_ARN,
	POL_F_NULL,
};

enum pol_cmp {
	POL_CMP_EQ = 0,
	POL_CMP_LT,
	POL_CMP_LE,
	POL_CMP_GT,
	POL_CMP_GE,
	POL_CMP_LIKE, /* String: wildcards */
};

enum pol_qual { POL_Q_NONE = 0, POL_Q_ANY, POL_Q_ALL };

struct pol_opinfo {
	const char *name;
	uint8_t family;
	uint8_t cmp;
	bool negated;
	bool icase;
};

/* The operator table entry for a base name (no qualifier, no IfExists). */
const struct pol_opinfo *pol_op_lookup(const char *name, size_t n);

struct pol_cond {
	const struct pol_opinfo *op;
	uint8_t qual;
	bool if_exists;
	const char *key; /* lowercased */
	uint32_t keyn;
	const union pol_cval *vals;
	uint32_t nvals;
};

/* ---- statements ---- */

struct pol_action {
	const char *lower; /* lowercased pattern */
	uint32_t n;
	bool wild; /* holds * or ? */
};

enum pol_pkind {
	POL_P_AWS_ANY = 0, /* "*" or {"AWS": "*"} */
	POL_P_AWS_ACCOUNT, /* 12-digit id or arn:...:iam::<id>:root; p holds the id */
	POL_P_AWS_ARN,     /* a user, role or session ARN */
	POL_P_SERVICE,     /* lowercased */
	POL_P_FEDERATED,
	POL_P_CANONICAL,
};

struct pol_pentry {
	uint8_t kind;
	const char *p;
	uint32_t n;
};

struct pol_principal {
	const struct pol_pentry *e;
	uint32_t n;
};

enum pol_res_mode { POL_RES_NONE = 0, POL_RES_RESOURCE, POL_RES_NOT };
enum pol_prin_mode { POL_PRIN_NONE = 0, POL_PRIN_PRINCIPAL, POL_PRIN_NOT };

struct pol_key {
	const char *p; /* lowercased */
	uint32_t n;
};

struct pol_stmt {
	bool allow;
	bool not_action;
	uint8_t res_mode;
	uint8_t prin_mode;
	const char *sid; /* "" when none */
	const struct pol_action *actions;
	uint32_t nactions;
	const struct pol_arn_pat *res;
	uint32_t nres;
	struct pol_principal prin;
	const struct pol_cond *conds;
	uint32_t nconds;
	/* Keys of variables without a default used in conditions or NotResource:
	 * if one of them cannot be resolved the statement does not apply. */
	const struct pol_key *needs;
	uint32_t nneeds;
};

/* ---- the action index ---- */

struct pol_bucket {
	const char *key; /* NULL: empty slot */
	uint32_t keyn;
	uint32_t hash;
	const uint32_t *stmts; /* ascending statement indexes */
	uint32_t n;
};

struct pol_table {
	const struct pol_bucket *slots;
	uint32_t mask; /* slots - 1; 0 slots when the table is empty */
	uint32_t nslots;
};

struct pol_index {
	struct pol_table exact; /* "service:action", literal patterns */
	struct pol_table svc; /* "service", patterns with a literal prefix and wildcards after it */
	const uint32_t *other; /* NotAction statements and patterns with a wildcard prefix */
	uint32_t nother;
};

uint32_t pol_hash(const char *p, size_t n);
/* The bucket for key, or NULL. */
const struct pol_bucket *pol_table_find(const struct pol_table *t, const char *key, size_t n);

struct policy {
	atomic_uint refs;
	enum policy_type type;
	bool vars; /* Version 2012-10-17: policy variables are expanded */
	const char *id;
	const char *version;
	const struct pol_stmt *stmts;
	uint32_t nstmts;
	struct pol_index index;
	struct pol_arena arena;
};

/* ---- compile helpers (compile.c, compile_cond.c, principal.c, variables.c) ---- */

struct json_t;

struct pol_cctx {
	struct pol_arena *arena;
	struct policy_diags *diags;
	enum policy_type type;
	bool vars;
	bool nomem;
	size_t errors;
};

void pol_cerr(struct pol_cctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pol_cwarn(struct pol_cctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where a template's text sits decides what its variables do. */
enum pol_tmpl_where {
	POL_TW_PATTERN = 0, /* variables expand (when the version allows) */
	POL_TW_LITERAL,     /* variables are literal text here: warn */
};

/* Parses text into a template. Returns 0, or -1 after reporting an error. */
int pol_tmpl_parse(struct pol_cctx *c, const char *path, const char *text, size_t n,
                   enum pol_tmpl_where where, struct pol_tmpl *out);
/* Parses an ARN pattern (resource or Arn condition value). vars_anywhere:
 * variables expand in every component (Arn conditions) rather than only in the
 * resource part (Resource). Returns 0, or -1 after reporting an error. */
int pol_arn_parse(struct pol_cctx *c, const char *path, const char *text, size_t n,
                  bool vars_anywhere, bool strict, struct pol_arn_pat *out);
bool pol_has_var_syntax(const char *p, size_t n);

/* Parses the Condition element of a statement. Returns 0 or -1. */
int pol_compile_condition(struct pol_cctx *c, const char *path, struct json_t *cond, bool allow,
                          struct pol_stmt *st, const struct pol_action *actions, uint32_t nactions,
                          bool not_action);

#define POL_PATH_MAX 160
/* Formats a JSON path into a POL_PATH_MAX buffer; a cut path ends in "...". */
void pol_pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks that v is a string or a non-empty array of strings; fills the list
 * (arena-allocated). Returns 0, or -1 after reporting. */
int pol_string_list(struct pol_cctx *c, const char *path, const char *what, struct json_t *v,
                    struct json_t ***items, size_t *n);
/* Path of entry i of an element that may be one string or an array. */
void pol_entry_path(char *out, const char *path, struct json_t *v, size_t i);
int pol_compile_principal(struct pol_cctx *c, const char *path, const char *elem, struct json_t *v,
                          struct pol_stmt *st);
int pol_build_index(struct policy *pol);

/* Collects the keys of variables without default from a template into st->needs. */
int pol_needs_add_tmpl(struct pol_cctx *c, struct pol_stmt *st, const struct pol_tmpl *t);

/* ---- values.c ---- */

int pol_dec_parse(const char *p, size_t n, struct pol_dec *out);
int pol_dec_cmp(const struct pol_dec *a, const struct pol_dec *b);
int pol_time_parse(const char *p, size_t n, struct pol_time *out);
int pol_time_cmp(const struct pol_time *a, const struct pol_time *b);
/* Parses an address (allow_prefix false) or an address or CIDR block. */
int pol_cidr_parse(const char *p, size_t n, bool allow_prefix, struct pol_cidr *out);
bool pol_cidr_contains(const struct pol_cidr *block, const struct pol_cidr *addr);
int pol_bool_parse(const char *p, size_t n, bool *out);
/* Decoded length of base64 text, or -1 when it is not canonical base64. */
long pol_b64_decoded_len(const char *p, size_t n);
/* Decodes into out (room for pol_b64_decoded_len bytes). */
void pol_b64_decode(const char *p, size_t n, unsigned char *out);
/* Compares the base64 text p with bytes b without allocating. */
bool pol_b64_equals(const char *p, size_t n, const unsigned char *b, size_t bn);

/* ---- match.c ---- */

/* Glob match of one piece of text (wildcards * and ? when wild). */
bool pol_glob(const char *pat, size_t pn, const char *s, size_t sn, bool wild, bool icase);
/* Match of a template whose variables are already resolved into res[]
 * (res[i] for VAR pieces). */
bool pol_tmpl_match(const struct pol_tmpl *t, const struct policy_str *res, const char *s,
                    size_t sn, bool wild, bool icase);

/* The components of an ARN: c[0..4] and the rest in c[5]. */
struct pol_arn_split {
	struct policy_str c[6];
	bool ok; /* at least five colons */
};
void pol_arn_split(const char *s, size_t n, struct pol_arn_split *out);

/* ---- evaluate.c: request context ---- */

#define POL_CTX_MAX 1024

struct pol_ectx {
	const struct policy_request *req;
	const char *action; /* lowercased */
	size_t actionn;
	struct pol_arn_split res;
	bool res_star;
	bool has_boundary;
	bool sorted;
	uint16_t order[POL_CTX_MAX];
};

const struct policy_ctx_entry *pol_ctx_find(struct pol_ectx *x, const char *lkey, size_t n);
/* Resolves a template's variables. Returns false when one cannot be resolved. */
bool pol_tmpl_resolve(const struct pol_tmpl *t, struct pol_ectx *x, struct policy_str *res);

/* ---- condition.c ---- */

bool pol_cond_holds(const struct pol_cond *c, struct pol_ectx *x);
bool pol_arn_match(const struct pol_arn_pat *pat, struct pol_ectx *x, const struct pol_arn_split *s,
                   bool *unresolved);

/* ---- services.c ---- */

bool pol_service_known(const char *p, size_t n);
/* Whether key (lowercased) is one a statement with these actions may see;
 * true when unknown to the tables. Writes a reason into why. */
bool pol_key_plausible(const char *key, size_t keyn, const struct pol_action *actions,
                       uint32_t nactions, bool not_action, char *why, size_t whyn);
/* Multi-valued keys, and keys known to be single-valued. */
bool pol_key_multivalued(const char *key, size_t n);
bool pol_key_single_valued(const char *key, size_t n);

#endif
