/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dirty-page logging for live migration: while VHOST_F_LOG_ALL is
 * negotiated and a log area was given (SET_LOG_BASE), every byte the
 * backend writes into guest memory marks its 4 KiB guest page in the
 * shared bitmap, so the source QEMU re-sends it.
 *
 * One log per device; each of its vrings points at it, so the ring code
 * marks pages without knowing the device. The control thread changes
 * `bitmap` and `size` only with every vring of the device locked, and a
 * burst reads them under its vring's lock: they never change under it.
 */
#ifndef VHU_MEM_DIRTY_LOG_H
#define VHU_MEM_DIRTY_LOG_H

#include <stdint.h>
#include "common/compiler.h"

#define VHU_LOG_PAGE 4096u

struct vhu_dirty_log {
	uint8_t *bitmap;  /* NULL when the frontend gave no log area */
	uint64_t size;    /* bytes of bitmap */
};

static inline void vhu_dirty_log_mark(const struct vhu_dirty_log *log, uint64_t gpa,
				      uint64_t len)
{
	uint8_t *base = log->bitmap;
	if (!base || len == 0)
		return;
	uint64_t first = gpa / VHU_LOG_PAGE, last = (gpa + len - 1) / VHU_LOG_PAGE;
	for (uint64_t page = first; page <= last; page++) {
		if (page / 8 >= log->size)
			return; /* past the log the frontend gave: nothing to mark */
		/* Atomic: QEMU clears bits of the same bytes concurrently.
		 * Release: the write being logged must be visible before its
		 * mark, or QEMU could send the page, clear the bit and never
		 * see the write (a relaxed ldset on aarch64 may pass it). */
		__atomic_fetch_or(&base[page / 8], (uint8_t)(1u << (page % 8)),
				  __ATOMIC_RELEASE);
	}
}

#endif
