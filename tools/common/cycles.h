/* SPDX-License-Identifier: BSD-3-Clause */
/* A cycle counter for the tools' busy/idle statistics (vhu-switch's
 * pmd-stats, vhu-fwd's stats lines): the TSC, the generic timer, or
 * nanoseconds where there is neither. One read an iteration of a polling
 * loop, never one a packet. */
#ifndef VHU_TOOLS_CYCLES_H
#define VHU_TOOLS_CYCLES_H

#include <stdint.h>
#include <time.h>

static inline uint64_t cycles_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
	uint64_t v;
	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

#endif
