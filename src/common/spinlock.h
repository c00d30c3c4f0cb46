/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test-and-test-and-set spinlock, annotated for clang's thread-safety
 * analysis. The data path takes a vring's lock once per burst with
 * vhu_spin_trylock() and gives up the burst if the control path holds it,
 * so a reconfiguration never waits on traffic and traffic never waits on a
 * slow control message.
 */
#ifndef VHU_COMMON_SPINLOCK_H
#define VHU_COMMON_SPINLOCK_H

#include <stdbool.h>
#include "common/compiler.h"
#include "common/tsa.h"

typedef struct VHU_CAPABILITY("spinlock") vhu_spinlock {
	int locked;
} vhu_spinlock_t;

static inline void vhu_spin_init(vhu_spinlock_t *l) { l->locked = 0; }

static inline bool vhu_spin_trylock(vhu_spinlock_t *l) VHU_TRY_ACQUIRE(true, l) VHU_NO_TSA
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED) == 0 &&
	       !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void vhu_spin_lock(vhu_spinlock_t *l) VHU_ACQUIRE(l) VHU_NO_TSA
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			vhu_cpu_relax();
}

static inline void vhu_spin_unlock(vhu_spinlock_t *l) VHU_RELEASE(l) VHU_NO_TSA
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
