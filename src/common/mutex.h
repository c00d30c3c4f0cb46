/* SPDX-License-Identifier: BSD-3-Clause */
/* A pthread mutex that clang's thread-safety analysis knows as a
 * capability, so the data it guards can say so (VHU_GUARDED_BY). */
#ifndef VHU_COMMON_MUTEX_H
#define VHU_COMMON_MUTEX_H

#include <pthread.h>
#include "common/tsa.h"

typedef pthread_mutex_t vhu_mutex VHU_CAPABILITY("mutex");

/* Outside the analysis: pthread's own functions carry no annotations. */
static inline void vhu_mutex_lock(vhu_mutex *m) VHU_ACQUIRE(*m) VHU_NO_TSA
{
	pthread_mutex_lock(m);
}

static inline void vhu_mutex_unlock(vhu_mutex *m) VHU_RELEASE(*m) VHU_NO_TSA
{
	pthread_mutex_unlock(m);
}

#endif
