/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dirty-page logging for live migration: while VHOST_F_LOG_ALL is
 * negotiated and a log area was given (SET_LOG_BASE), every byte the
 * backend writes into guest memory marks its 4 KiB guest page in the
 * shared bitmap, so the source QEMU re-sends it.
 */
#ifndef VHU_BACKEND_DIRTY_LOG_H
#define VHU_BACKEND_DIRTY_LOG_H

#include <stdint.h>
#include "backend/dev.h"
#include "common/compiler.h"

#define VHU_LOG_PAGE 4096u

static inline bool vhu_dirty_log_on(const struct vhu_dev *dev)
{
	/* Read from data-path threads while SET_FEATURES may change it. */
	return __atomic_load_n(&dev->log_base, __ATOMIC_RELAXED) != NULL &&
	       (__atomic_load_n(&dev->features, __ATOMIC_RELAXED) & (1ULL << VHU_F_LOG_ALL));
}

static inline void vhu_dirty_log(struct vhu_dev *dev, uint64_t gpa, uint64_t len)
{
	uint8_t *base = __atomic_load_n(&dev->log_base, __ATOMIC_ACQUIRE);
	if (!base || len == 0)
		return;
	uint64_t first = gpa / VHU_LOG_PAGE, last = (gpa + len - 1) / VHU_LOG_PAGE;
	for (uint64_t page = first; page <= last; page++) {
		if (page / 8 >= dev->log_size)
			return; /* past the log the frontend gave: nothing to mark */
		__atomic_fetch_or(&base[page / 8], (uint8_t)(1u << (page % 8)),
				  __ATOMIC_RELAXED);
	}
}

#endif
