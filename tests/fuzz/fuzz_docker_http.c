/*
 * fuzz_docker_http.c - libFuzzer harness for the docker driver's HTTP/1.1
 * response parser (scheduler/docker_http.c), which reads bytes from a Docker
 * engine: a hostile or broken engine must never crash taskgate.
 *
 * The first input byte picks how the rest is cut into pieces (and whether
 * the response answers a HEAD). The same bytes are parsed whole and piece by
 * piece; the promises checked on every input:
 *   - the parser ends in the same state, with the same status and the same
 *     body bytes, however the input is cut (framing never depends on reads);
 *   - a finished response never hands out more body bytes than it was given;
 *   - an error always says why.
 * A broken promise aborts, which libFuzzer reports like a crash.
 */
#include "scheduler/docker_http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	unsigned char *buf;
	size_t len;
};

static int body(void *ctx, const char *p, size_t n)
{
	struct out *o = ctx;
	unsigned char *nb = realloc(o->buf, o->len + n + 1);
	if (!nb)
		return -1;
	memcpy(nb + o->len, p, n);
	o->buf = nb;
	o->len += n;
	return 0;
}

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_docker_http: broken promise: %s\n", what);
	abort();
}

static void run(const char *in, size_t n, size_t step, bool head, struct dhttp_parser *p,
                struct out *o)
{
	dhttp_parser_init(p, head, body, o);
	size_t i = 0;
	while (i < n && p->state != DHTTP_ERROR && p->state != DHTTP_DONE) {
		size_t take = step ? step : n;
		if (take > n - i)
			take = n - i;
		dhttp_parser_feed(p, in + i, take, NULL);
		i += take;
	}
	if (p->state != DHTTP_ERROR && p->state != DHTTP_DONE)
		dhttp_parser_eof(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (data[0] & 0x7f) % 17; /* 0: whole */
	bool head = data[0] & 0x80;
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	struct dhttp_parser *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct out oa = {0}, ob = {0};
	if (!a || !b) {
		free(a);
		free(b);
		return 0;
	}
	run(in, n, 0, head, a, &oa);
	run(in, n, step ? step : 1, head, b, &ob);
	if (a->state != b->state)
		broken("the final state depends on how the input was cut");
	if (a->state == DHTTP_DONE) {
		if (a->status != b->status)
			broken("the status depends on how the input was cut");
		if (oa.len != ob.len || (oa.len && memcmp(oa.buf, ob.buf, oa.len) != 0))
			broken("the body depends on how the input was cut");
		if (oa.len > n)
			broken("more body bytes than input bytes");
		if (a->status < 100 || a->status > 599)
			broken("a finished response with a status out of range");
	}
	if (a->state == DHTTP_ERROR && !a->error[0])
		broken("an error without a reason");
	free(oa.buf);
	free(ob.buf);
	free(a);
	free(b);
	return 0;
}
