/* SPDX-License-Identifier: BSD-3-Clause */
/* Clang thread-safety annotations for the switch (no-ops elsewhere), and
 * the annotated mutex they are about. Switch-local: the library's own
 * (src/common/tsa.h) is not part of its installed interface. */
#ifndef VHU_SWITCH_TSA_H
#define VHU_SWITCH_TSA_H

#include <pthread.h>

#if defined(__clang__)
#define SW_TSA(x) __attribute__((x))
#else
#define SW_TSA(x)
#endif

#define SW_CAPABILITY(x)   SW_TSA(capability(x))
#define SW_GUARDED_BY(x)   SW_TSA(guarded_by(x))
#define SW_ACQUIRE(...)    SW_TSA(acquire_capability(__VA_ARGS__))
#define SW_RELEASE(...)    SW_TSA(release_capability(__VA_ARGS__))
#define SW_REQUIRES(...)   SW_TSA(requires_capability(__VA_ARGS__))
#define SW_EXCLUDES(...)   SW_TSA(locks_excluded(__VA_ARGS__))
#define SW_NO_TSA          SW_TSA(no_thread_safety_analysis)

struct SW_CAPABILITY("mutex") sw_mutex {
	pthread_mutex_t m;
};
#define SW_MUTEX_INITIALIZER { PTHREAD_MUTEX_INITIALIZER }

static inline void sw_mutex_lock(struct sw_mutex *l) SW_ACQUIRE(l) SW_NO_TSA
{
	pthread_mutex_lock(&l->m);
}

static inline void sw_mutex_unlock(struct sw_mutex *l) SW_RELEASE(l) SW_NO_TSA
{
	pthread_mutex_unlock(&l->m);
}

#endif
