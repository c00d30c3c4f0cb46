/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHU_COMMON_COMPILER_H
#define VHU_COMMON_COMPILER_H

#include <stddef.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define VHU_CACHE_LINE 64
#define __vhu_cache_aligned __attribute__((aligned(VHU_CACHE_LINE)))
#define VHU_EXPORT __attribute__((visibility("default")))
#define VHU_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VHU_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VHU_MAX(a, b) ((a) > (b) ? (a) : (b))
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Guest memory is shared with another process: every access to it goes
 * through these so the compiler neither tears, merges nor re-reads it. */
#define VHU_READ_ONCE(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define VHU_WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define VHU_LOAD_ACQ(x)      __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define VHU_STORE_REL(x, v)  __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define vhu_smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define vhu_smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define vhu_smp_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)

static inline void vhu_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
static inline void vhu_prefetch_w(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif
