/*
 * jwt_int.h - what jwt_auth.c and jwks.c share and nobody else needs.
 *
 * Both files report failures through gw_jwt_fail, so there is one place to set
 * a breakpoint for any refused token or key set, and one place that makes sure
 * a message is always NUL-terminated and marked when it was cut short.
 */
#ifndef TASKGATE_GATEWAY_JWT_INT_H
#define TASKGATE_GATEWAY_JWT_INT_H

#include "gateway/jwt_auth.h"

/* Fills err (if not NULL) with code and the formatted message; returns code. */
__attribute__((format(printf, 3, 4))) int gw_jwt_fail(struct gw_jwt_error *err, int code,
                                                      const char *fmt, ...);

/* Empties err: code GW_JWT_OK, message "". */
void gw_jwt_clear_error(struct gw_jwt_error *err);

#endif
