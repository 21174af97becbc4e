/*
 * test_gw_request.c - the steps of the request road that need no connection:
 * decode (routes, 404, 405, 413), authorize (public /health, everything else
 * denied), audit (the record written, and a failed write turning into 503).
 * The connection-bound parts (headers, respond) are covered by the
 * integration tests against the real binary.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/request.h"
#include "gateway/server.h"
#include "store/store.h"
#include "tests/unit/check.h"

struct fixture {
	char dir[64];
	char db[128];
	struct gw_config cfg;
	struct gw_log log;
	struct gw_server srv;
	int logfd;
};

static void fx_open(struct fixture *f, bool readonly)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-request-XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL);
	snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
	gw_config_defaults(&f->cfg);
	f->logfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK(gw_log_init(&f->log, f->logfd, GW_LOG_ERROR, GW_LOG_FORMAT_JSON) == 0);
	struct store_error se;
	struct store *s = NULL;
	CHECK_INT(store_open(f->db, NULL, &s, &se), STORE_OK);
	if (readonly) {
		store_close(s);
		struct store_options o = {.readonly = true};
		s = NULL;
		CHECK_INT(store_open(f->db, &o, &s, &se), STORE_OK);
	}
	f->srv.cfg = &f->cfg;
	f->srv.log = &f->log;
	f->srv.store = s;
}

static void fx_close(struct fixture *f)
{
	store_close(f->srv.store);
	gw_log_destroy(&f->log);
	close(f->logfd);
	char path[160];
	const char *suffix[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", f->db, suffix[i]);
		unlink(path);
	}
	rmdir(f->dir);
}

/* A request as the server would make it, without a connection. */
static struct gw_request *req(struct fixture *f, const char *method, const char *path)
{
	struct gw_request *r = calloc(1, sizeof(*r));
	r->srv = &f->srv;
	r->start_us = 1795596279899720LL;
	snprintf(r->id, sizeof(r->id), "0123456789abcdef0123456789abcdef");
	snprintf(r->remote_addr, sizeof(r->remote_addr), "127.0.0.1");
	snprintf(r->method, sizeof(r->method), "%s", method);
	r->path_n = strlen(path);
	r->path = malloc(r->path_n + 1);
	memcpy(r->path, path, r->path_n + 1);
	return r;
}

static json_t *body_json(const struct gw_request *r)
{
	return r->resp_body ? json_loadb(r->resp_body, r->resp_len, 0, NULL) : NULL;
}

static void decode_routes_get_and_head_health(void)
{
	struct fixture f;
	fx_open(&f, false);
	const char *methods[] = {"GET", "HEAD"};
	for (size_t i = 0; i < 2; i++) {
		struct gw_request *r = req(&f, methods[i], "/health");
		CHECK_INT(gw_step_decode(r), GW_STEP_OK);
		CHECK_INT(r->route, GW_ROUTE_HEALTH);
		CHECK_STR(r->action_name, "taskgate:GetHealth");
		CHECK_INT(r->status, 0);
		gw_request_free(r);
	}
	fx_close(&f);
}

static void decode_answers_404_for_unknown_paths_and_near_misses(void)
{
	struct fixture f;
	fx_open(&f, false);
	const char *paths[] = {"/", "/healthz", "/health/", "/Health", "/nope"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct gw_request *r = req(&f, "GET", paths[i]);
		CHECK_INT(gw_step_decode(r), GW_STEP_STOP);
		CHECK_INT(r->status, 404);
		CHECK_STR(r->error_code, "NotFound");
		CHECK_INT(r->route, GW_ROUTE_NONE);
		json_t *j = body_json(r);
		CHECK(j != NULL);
		CHECK_STR(json_string_value(json_object_get(j, "__type")), "NotFound");
		json_decref(j);
		gw_request_free(r);
	}
	fx_close(&f);
}

static void decode_answers_405_with_allow_for_other_methods(void)
{
	struct fixture f;
	fx_open(&f, false);
	const char *methods[] = {"POST", "PUT", "DELETE", "get"};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct gw_request *r = req(&f, methods[i], "/health");
		CHECK_INT(gw_step_decode(r), GW_STEP_STOP);
		CHECK_INT(r->status, 405);
		CHECK_STR(r->allow, "GET, HEAD");
		gw_request_free(r);
	}
	fx_close(&f);
}

static void decode_puts_the_body_limit_before_the_route(void)
{
	struct fixture f;
	fx_open(&f, false);
	struct gw_request *r = req(&f, "GET", "/health");
	r->body_too_large = true;
	CHECK_INT(gw_step_decode(r), GW_STEP_STOP);
	CHECK_INT(r->status, 413);
	CHECK_STR(r->error_code, "RequestEntityTooLarge");
	gw_request_free(r);
	fx_close(&f);
}

static void authorize_lets_health_through_as_public(void)
{
	struct fixture f;
	fx_open(&f, false);
	struct gw_request *r = req(&f, "GET", "/health");
	CHECK_INT(gw_step_decode(r), GW_STEP_OK);
	CHECK_INT(gw_step_authorize(r), GW_STEP_OK);
	CHECK_INT(r->decision, GW_DECISION_PUBLIC);
	CHECK_STR(gw_decision_name(r->decision), "Allow");
	gw_request_free(r);
	fx_close(&f);
}

static void authorize_denies_a_request_without_a_route(void)
{
	struct fixture f;
	fx_open(&f, false);
	struct gw_request *r = req(&f, "GET", "/health");
	/* Not decoded: no route. Nothing may pass authorize by default. */
	CHECK_INT(gw_step_authorize(r), GW_STEP_STOP);
	CHECK_INT(r->decision, GW_DECISION_IMPLICIT_DENY);
	CHECK_INT(r->status, 403);
	CHECK_STR(r->error_code, "AccessDeniedException");
	gw_request_free(r);
	fx_close(&f);
}

static void audit_appends_a_canonical_record_with_the_request_id(void)
{
	struct fixture f;
	fx_open(&f, false);
	struct gw_request *r = req(&f, "GET", "/health");
	snprintf(r->user_agent, sizeof(r->user_agent), "unit/1");
	r->user_agent_n = 6;
	CHECK_INT(gw_step_decode(r), GW_STEP_OK);
	CHECK_INT(gw_step_authorize(r), GW_STEP_OK);
	CHECK_INT(gw_step_audit(r), GW_STEP_OK);
	CHECK(r->audited);
	CHECK_INT(r->audit_seq, 1);
	struct store_audit_list list = {0};
	struct store_error se;
	CHECK_INT(store_audit_read(f.srv.store, 0, 10, &list, &se), STORE_OK);
	CHECK_INT(list.n, 1);
	if (list.n == 1) {
		const struct store_audit_event *ev = &list.rows[0].ev;
		CHECK_STR(ev->request_id, r->id);
		CHECK_STR(ev->source_ip, "127.0.0.1");
		CHECK_STR(ev->action, "taskgate:GetHealth");
		CHECK_STR(ev->decision, "Allow");
		CHECK(ev->principal == NULL);
		CHECK(!ev->has_status);
		CHECK_INT(ev->time_us, r->start_us);
		CHECK(list.rows[0].chained);
		/* Sorted keys, no white space: the same request gives the same bytes. */
		static const char head[] = "{\"authorization\":\"public\",\"awsRegion\":";
		CHECK(strncmp(ev->record, head, sizeof(head) - 1) == 0);
		json_t *j = json_loads(ev->record, 0, NULL);
		CHECK(j != NULL);
		CHECK_STR(json_string_value(json_object_get(j, "eventTime")),
		          "2026-11-25T08:44:39.899720Z");
		CHECK_STR(json_string_value(json_object_get(j, "awsRegion")), "us-east-1");
		CHECK_STR(json_string_value(json_object_get(j, "recipientAccountId")),
		          "111122223333");
		CHECK_STR(json_string_value(json_object_get(j, "authorization")), "public");
		CHECK_STR(json_string_value(json_object_get(j, "userAgent")), "unit/1");
		CHECK_STR(json_string_value(json_object_get(j, "recordType")), "decision");
		CHECK_STR(json_string_value(json_object_get(j, "eventName")), "GetHealth");
		CHECK_STR(json_string_value(json_object_get(j, "eventSource")), "taskgate");
		CHECK_STR(json_string_value(json_object_get(j, "requestID")), r->id);
		CHECK_STR(
		    json_string_value(json_object_get(json_object_get(j, "userIdentity"), "type")),
		    "Anonymous");
		CHECK(json_object_get(j, "httpStatus") == NULL);
		json_decref(j);
	}
	store_audit_list_free(&list);
	gw_request_free(r);
	fx_close(&f);
}

static void audit_of_a_stopped_request_records_its_status_and_error(void)
{
	struct fixture f;
	fx_open(&f, false);
	struct gw_request *r = req(&f, "GET", "/nope");
	CHECK_INT(gw_step_decode(r), GW_STEP_STOP);
	CHECK_INT(gw_step_audit(r), GW_STEP_OK);
	struct store_audit_list list = {0};
	struct store_error se;
	CHECK_INT(store_audit_read(f.srv.store, 0, 10, &list, &se), STORE_OK);
	CHECK_INT(list.n, 1);
	if (list.n == 1) {
		CHECK(list.rows[0].ev.has_status);
		CHECK_INT(list.rows[0].ev.status, 404);
		CHECK_STR(list.rows[0].ev.error_code, "NotFound");
		CHECK(list.rows[0].ev.decision == NULL);
		CHECK(list.rows[0].ev.action == NULL);
	}
	store_audit_list_free(&list);
	/* The 404 stands: audit succeeded. */
	CHECK_INT(r->status, 404);
	gw_request_free(r);
	fx_close(&f);
}

static void audit_keeps_a_path_with_invalid_utf8_instead_of_failing(void)
{
	struct fixture f;
	fx_open(&f, false);
	struct gw_request *r = req(&f, "GET", "/caf\xc3/x\xff");
	CHECK_INT(gw_step_decode(r), GW_STEP_STOP);
	CHECK_INT(gw_step_audit(r), GW_STEP_OK);
	CHECK(r->audited);
	struct store_audit_list list = {0};
	struct store_error se;
	CHECK_INT(store_audit_read(f.srv.store, 0, 10, &list, &se), STORE_OK);
	if (list.n == 1)
		CHECK(strstr(list.rows[0].ev.record, "\"path\":\"/caf?/x?\"") != NULL);
	store_audit_list_free(&list);
	gw_request_free(r);
	fx_close(&f);
}

static void a_failed_audit_append_turns_any_answer_into_503(void)
{
	struct fixture f;
	fx_open(&f, true); /* a read-only store refuses the append */
	struct gw_request *r = req(&f, "GET", "/health");
	CHECK_INT(gw_step_decode(r), GW_STEP_OK);
	CHECK_INT(gw_step_authorize(r), GW_STEP_OK);
	CHECK_INT(gw_step_audit(r), GW_STEP_STOP);
	CHECK(!r->audited);
	CHECK_INT(r->status, 503);
	CHECK_STR(r->error_code, "ServiceUnavailable");
	json_t *j = body_json(r);
	CHECK(j && strstr(json_string_value(json_object_get(j, "message")), "audit") != NULL);
	json_decref(j);
	gw_request_free(r);

	/* A 404 that cannot be recorded is not answered as a 404 either. */
	r = req(&f, "GET", "/nope");
	CHECK_INT(gw_step_decode(r), GW_STEP_STOP);
	CHECK_INT(gw_step_audit(r), GW_STEP_STOP);
	CHECK_INT(r->status, 503);
	gw_request_free(r);
	fx_close(&f);
}

static void health_reports_the_store_and_the_version(void)
{
	struct fixture f;
	fx_open(&f, false);
	struct gw_request *r = req(&f, "GET", "/health");
	CHECK_INT(gw_health_execute(r), GW_STEP_OK);
	CHECK_INT(r->status, 200);
	json_t *j = body_json(r);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "status")), "ok");
	CHECK_STR(json_string_value(json_object_get(j, "version")), TASKGATE_VERSION);
	json_t *st = json_object_get(j, "store");
	CHECK(json_is_true(json_object_get(st, "ok")));
	CHECK_INT(json_integer_value(json_object_get(st, "schema_version")),
	          store_schema_version_latest());
	json_decref(j);
	gw_request_free(r);
	fx_close(&f);
}

static const struct check_case cases[] = {
    {"decode routes GET and HEAD /health", decode_routes_get_and_head_health},
    {"decode answers 404 for unknown paths and near misses",
     decode_answers_404_for_unknown_paths_and_near_misses},
    {"decode answers 405 with Allow for other methods",
     decode_answers_405_with_allow_for_other_methods},
    {"decode puts the body limit before the route", decode_puts_the_body_limit_before_the_route},
    {"authorize lets /health through as public", authorize_lets_health_through_as_public},
    {"authorize denies a request without a route", authorize_denies_a_request_without_a_route},
    {"audit appends a canonical record with the request id",
     audit_appends_a_canonical_record_with_the_request_id},
    {"audit of a stopped request records its status and error",
     audit_of_a_stopped_request_records_its_status_and_error},
    {"audit keeps a path with invalid UTF-8 instead of failing",
     audit_keeps_a_path_with_invalid_utf8_instead_of_failing},
    {"a failed audit append turns any answer into 503",
     a_failed_audit_append_turns_any_answer_into_503},
    {"health reports the store and the version", health_reports_the_store_and_the_version},
};

CHECK_MAIN(cases)
