/* SPDX-License-Identifier: BSD-3-Clause */
/* What the one-process integration tests share: a check that counts and
 * says where it failed and why, and a monotonic clock in seconds. Each test
 * prints "N passed, N failed" and fails on any failed check. */
#ifndef VHU_TEST_INTEG_CHECK_H
#define VHU_TEST_INTEG_CHECK_H

#include <stdio.h>
#include <time.h>

static int passed, failed;

#define CHECK(c, ...) do { if (c) passed++; else { failed++; \
	fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
