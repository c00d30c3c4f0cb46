/* SPDX-License-Identifier: BSD-3-Clause */
/* The monotonic clock in milliseconds, for the control path's deadlines. */
#ifndef VHU_COMMON_CLOCK_H
#define VHU_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t vhu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
