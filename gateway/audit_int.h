/*
 * audit_int.h - what audit.c (the log and its verification) and
 * audit_export.c (exports and their verification) share beyond audit.h:
 * how they word an error and a finding of tampering. Not for other files.
 */
#ifndef TASKGATE_GW_AUDIT_INT_H
#define TASKGATE_GW_AUDIT_INT_H

#include "gateway/audit.h"

/* Fills err (when given) with code and a message for a person; returns code. */
__attribute__((format(printf, 3, 4))) int gw_audit_fail(struct gw_audit_error *err, int code,
                                                        const char *fmt, ...);
/* Says in rep->problem what does not match; returns GW_AUDIT_TAMPERED. */
__attribute__((format(printf, 2, 3))) int gw_audit_tampered(struct gw_audit_report *rep,
                                                            const char *fmt, ...);

#endif
