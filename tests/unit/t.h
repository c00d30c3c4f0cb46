/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Minimal unit-test harness: CHECK macros count passes and failures and
 * print each failure with file:line; t_done() prints the totals and gives
 * main() its exit status. Library log lines are captured (t_log_count,
 * t_log_last) instead of printed unless VHU_TEST_VERBOSE is set.
 */
#ifndef VHU_TESTS_UNIT_T_H
#define VHU_TESTS_UNIT_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vhu/vhu.h>

static unsigned t_pass, t_fail;
static unsigned t_log_count;
static char t_log_last[512];

#define CHECK(cond) do {                                                     \
	if (cond) {                                                          \
		t_pass++;                                                    \
	} else {                                                             \
		t_fail++;                                                    \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,       \
			__LINE__, #cond);                                    \
	}                                                                    \
} while (0)

/* Integer equality, printing both values on failure. */
#define CHECK_EQ(a, b) do {                                                  \
	long long t_a_ = (long long)(a), t_b_ = (long long)(b);              \
	if (t_a_ == t_b_) {                                                  \
		t_pass++;                                                    \
	} else {                                                             \
		t_fail++;                                                    \
		fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s "          \
			"(%lld vs %lld)\n", __FILE__, __LINE__, #a, #b,      \
			t_a_, t_b_);                                         \
	}                                                                    \
} while (0)

#define CHECK_MEM(a, b, n) do {                                              \
	if (memcmp((a), (b), (n)) == 0) {                                    \
		t_pass++;                                                    \
	} else {                                                             \
		t_fail++;                                                    \
		fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s (%zu bytes)\n", \
			__FILE__, __LINE__, #a, #b, (size_t)(n));            \
	}                                                                    \
} while (0)

#define CHECK_STR(a, b) do {                                                 \
	const char *t_a_ = (a), *t_b_ = (b);                                 \
	if (t_a_ && t_b_ && strcmp(t_a_, t_b_) == 0) {                       \
		t_pass++;                                                    \
	} else {                                                             \
		t_fail++;                                                    \
		fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s "         \
			"(\"%s\" vs \"%s\")\n", __FILE__, __LINE__, #a, #b,  \
			t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");     \
	}                                                                    \
} while (0)

/* Aborts the current test function when a precondition fails. */
#define REQUIRE(cond) do {                                                   \
	if (!(cond)) {                                                       \
		t_fail++;                                                    \
		fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__,     \
			__LINE__, #cond);                                    \
		return;                                                      \
	}                                                                    \
	t_pass++;                                                            \
} while (0)

static inline void t_log_handler(enum vhu_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	t_log_count++;
	snprintf(t_log_last, sizeof(t_log_last), "%s", msg);
	if (getenv("VHU_TEST_VERBOSE"))
		fprintf(stderr, "  [vhu log %d] %s\n", (int)lvl, msg);
}

static inline void t_init(void)
{
	vhu_log_set_handler(t_log_handler, NULL);
}

/* Runs one test function, naming it when verbose. */
#define RUN(fn) do {                                                         \
	unsigned t_f0_ = t_fail;                                             \
	fn();                                                                \
	if (t_fail != t_f0_)                                                 \
		fprintf(stderr, "-- %s: %u failure(s)\n", #fn, t_fail - t_f0_); \
} while (0)

static inline int t_done(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
