/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHU_COMMON_COMPILER_H
#define VHU_COMMON_COMPILER_H

#include <stddef.h>
#include <stdint.h>

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
/* Full barrier between publishing the used ring and reading the guest's
 * notification wish, once per burst. On x86 a locked add to the stack
 * orders like MFENCE for ordinary memory at a fraction of the cost. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VHU_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define VHU_TSAN 1
#endif
#if defined(__x86_64__) && !defined(VHU_TSAN)
#define vhu_smp_mb() __asm__ volatile("lock addl $0, -128(%%rsp)" ::: "memory", "cc")
#else
#define vhu_smp_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/* The pause inside a spin-wait loop: it stops the CPU from speculating
 * ahead on the loop (x86 would then pay a memory-order flush when the lock
 * frees) and hands the core to a sibling hyperthread. aarch64's YIELD is
 * the same hint (as in Linux's cpu_relax); elsewhere only the compiler is
 * told to reload. */
static inline void vhu_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

static inline void vhu_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
/* Without -mprfchw (Debian's baseline) gcc turns a write prefetch into a
 * read one, and the store that follows pays a second cache-line transfer
 * to get ownership. PREFETCHW exists on every AMD64 CPU and on Intel since
 * Broadwell; older Intel CPUs execute its encoding as a no-op. */
static inline void vhu_prefetch_w(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/* The cache lines a small packet touches at the start of a guest buffer:
 * a virtio-net header and a 64-byte frame straddle two lines wherever the
 * guest put the buffer (DPDK: 116 bytes into a line-aligned mbuf), and a
 * second-line miss costs as much as the first. Up to 128 bytes of len. */
static inline void vhu_prefetch_span(const void *p, uint64_t len, int write)
{
	const char *a = (const char *)((uintptr_t)p & ~(uintptr_t)63);
	uint64_t end = ((uintptr_t)p & 63) + (len < 128 ? len : 128);

	/* At most three lines, unrolled: a loop costs more than the prefetches. */
	if (write) {
		vhu_prefetch_w(a);
		if (end > 64)
			vhu_prefetch_w(a + 64);
		if (end > 128)
			vhu_prefetch_w(a + 128);
	} else {
		vhu_prefetch(a);
		if (end > 64)
			vhu_prefetch(a + 64);
		if (end > 128)
			vhu_prefetch(a + 128);
	}
}

#endif
