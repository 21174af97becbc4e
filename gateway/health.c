/*
 * health.c - GET /health: is this gateway able to do its work?
 *
 * The answer is for load balancers and operators, and it is public, so it
 * says only what they need: the version and whether the store answers, with
 * its schema version. 200 and "ok" when the store is healthy; 503 and
 * "degraded" when it is not, so a load balancer takes the gateway out of
 * rotation. Why the store failed goes to the log, not to an anonymous caller
 * (the message may name files).
 */
#include <microhttpd.h>
#include <jansson.h>

#include "gateway/request.h"
#include "gateway/server.h"
#include "store/store.h"

int gw_health_execute(struct gw_request *r)
{
	struct store_health h = {0};
	int rc = store_health(r->srv->store, &h);
	bool ok = rc == STORE_OK && h.ok;
	if (!ok) {
		struct gw_log_line l;
		gw_log_begin(&l, r->srv->log, GW_LOG_WARN, "store unhealthy");
		gw_log_str(&l, "request_id", r->id);
		gw_log_str(&l, "status", store_status_name(rc));
		gw_log_str(&l, "error", h.message);
		gw_log_end(&l);
	}
	json_t *body =
	    json_pack("{s:s, s:s, s:{s:b, s:i}}", "status", ok ? "ok" : "degraded", "version",
	              TASKGATE_VERSION, "store", "ok", ok, "schema_version", h.schema_version);
	return gw_request_set_json(r, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
}
