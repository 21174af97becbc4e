/*
 * fuzz_sigv4.c - libFuzzer harness for the SigV4 reader and verifier
 * (gateway/sigv4*.c): every byte of a request before authentication is the
 * caller's, so nothing a caller sends may crash the gateway or get a request
 * accepted that was not signed with the key.
 *
 * The input is a request in a loose text form: the method, the raw path, the
 * raw query and the header lines, one per line ("name: value"), then an empty
 * line and the body. The harness parses it, builds the canonical request,
 * and verifies it against one fixed secret with the clock set to the
 * request's own time (so the checks past the time run too). Promises checked
 * on every input:
 *   - a refusal always has a reason and a message;
 *   - a request the verifier accepts carries exactly the signature we compute
 *     over its canonical request with that secret (no acceptance without it);
 *   - verification is repeatable: the same request gets the same answer.
 * A broken promise aborts, which libFuzzer reports like a crash.
 */
#include "gateway/sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 64

static const unsigned char SECRET[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

static void broken(const char *promise)
{
	fprintf(stderr, "broken promise: %s\n", promise);
	abort();
}

/* The next line of [*p, end): its start and length; *p moves past it. */
static const char *next_line(const char **p, const char *end, size_t *n)
{
	const char *s = *p;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	const char *e = nl ? nl : end;
	*n = (size_t)(e - s);
	if (*n && e[-1] == '\r')
		(*n)--;
	*p = nl ? nl + 1 : end;
	return s;
}

static void check_refusal(int rc, const struct gw_sigv4_error *err)
{
	if (rc == 0)
		return;
	if (err->reason == GW_SIGV4_R_NONE)
		broken("a refusal has a reason");
	if (!err->message[0])
		broken("a refusal has a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct gw_sigv4_request req = {0};
	struct gw_sigv4_header hs[MAX_HEADERS];
	req.method = next_line(&p, end, &req.method_n);
	req.path = next_line(&p, end, &req.path_n);
	req.query = next_line(&p, end, &req.query_n);
	size_t nh = 0;
	while (p < end && nh < MAX_HEADERS) {
		size_t ln;
		const char *l = next_line(&p, end, &ln);
		if (ln == 0)
			break;
		const char *colon = memchr(l, ':', ln);
		if (!colon)
			continue;
		const char *v = colon + 1;
		size_t vn = ln - (size_t)(v - l);
		while (vn && *v == ' ') {
			v++;
			vn--;
		}
		hs[nh++] = (struct gw_sigv4_header){l, (size_t)(colon - l), v, vn};
	}
	req.headers = hs;
	req.n_headers = nh;
	req.body = (const unsigned char *)p;
	req.body_n = (size_t)(end - p);

	struct gw_sigv4_auth auth;
	struct gw_sigv4_error err = {0};
	int rc = gw_sigv4_parse(&req, &auth, &err);
	check_refusal(rc, &err);
	if (rc != 0)
		return 0;

	struct gw_sigv4_credential cred = {.secret = SECRET,
	                                   .secret_n = sizeof(SECRET) - 1,
	                                   .kind = GW_SIGV4_KEY_LONG_TERM};
	struct gw_sigv4_expect ex = {.region = auth.scope_region,
	                             .service = auth.scope_service,
	                             .allow_unsigned_payload = (size & 1) != 0,
	                             .now = auth.request_time};
	struct gw_sigv4_error e1 = {0}, e2 = {0};
	int v1 = gw_sigv4_verify(&auth, &req, &cred, &ex, &e1);
	int v2 = gw_sigv4_verify(&auth, &req, &cred, &ex, &e2);
	check_refusal(v1, &e1);
	if (v1 != v2 || e1.reason != e2.reason)
		broken("the same request gets the same answer");

	char *creq = NULL;
	size_t creq_n = 0;
	struct gw_sigv4_error ce = {0};
	int c = gw_sigv4_canonical_request(&auth, &req, &creq, &creq_n, &ce);
	check_refusal(c, &ce);
	if (v1 == 0) {
		if (c != 0)
			broken("an accepted request has a canonical request");
		char sts[1024], sig[GW_SIGV4_SIGNATURE_HEX + 1];
		if (gw_sigv4_string_to_sign(&auth, creq, creq_n, sts, sizeof(sts)) != 0 ||
		    gw_sigv4_sign(SECRET, sizeof(SECRET) - 1, auth.scope_date, auth.scope_region,
		                  auth.scope_service, sts, strlen(sts), sig, sizeof(sig)) != 0)
			broken("an accepted request can be signed again");
		if (auth.signature_n != GW_SIGV4_SIGNATURE_HEX || strcmp(sig, auth.signature) != 0)
			broken("nothing is accepted without the signature the key makes");
	}
	free(creq);
	gw_sigv4_auth_clear(&auth);
	return 0;
}
