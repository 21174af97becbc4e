/*
 * check.h - the unit-test harness shared by every tests/unit/test_*.c.
 *
 * A test is a function; its name in the table is a sentence about behaviour
 * ("denies RunTask outside the allowed cluster"). CHECK records a failure and
 * carries on, so one run reports every broken expectation. Each test binary
 * prints "ok - <name>" or "FAIL - <name>" per test, the failing expressions with
 * file and line, and ends with "N passed, N failed"; tests/run.sh adds those up.
 */
#ifndef TASKGATE_TESTS_CHECK_H
#define TASKGATE_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

struct check_case {
	const char *name;
	void (*fn)(void);
};

static int check_case_failures;

static inline void check_fail(const char *file, int line, const char *expr)
{
	check_case_failures++;
	fprintf(stdout, "    %s:%d: check failed: %s\n", file, line, expr);
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			check_fail(__FILE__, __LINE__, #cond);                 \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                   \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) { \
			check_fail(__FILE__, __LINE__, #a " == " #b);          \
			fprintf(stdout, "      got \"%s\", want \"%s\"\n",      \
			        check_a_ ? check_a_ : "(null)",                \
			        check_b_ ? check_b_ : "(null)");               \
		}                                                              \
	} while (0)

#define CHECK_INT(a, b)                                                        \
	do {                                                                   \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (check_a_ != check_b_) {                                    \
			check_fail(__FILE__, __LINE__, #a " == " #b);          \
			fprintf(stdout, "      got %lld, want %lld\n", check_a_,  \
			        check_b_);                                     \
		}                                                              \
	} while (0)

/* Runs every case (or only those whose name contains argv[1]) and returns the
 * process exit status. */
static inline int check_run(const struct check_case *cases, size_t n, int argc,
                            char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (only && !strstr(cases[i].name, only))
			continue;
		check_case_failures = 0;
		cases[i].fn();
		if (check_case_failures == 0) {
			passed++;
			printf("ok - %s\n", cases[i].name);
		} else {
			failed++;
			printf("FAIL - %s\n", cases[i].name);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define CHECK_MAIN(table)                                                      \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		return check_run(table, sizeof(table) / sizeof(table[0]), argc, \
		                 argv);                                        \
	}

#endif
