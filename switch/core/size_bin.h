/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame-size bins of the switch's stats, on the frame as the switch sees
 * it (no FCS): OVS's 1-64, 65-127, 128-255, 256-511, 512-1023, then
 * 1024-1518 and 1519 and up (jumbo frames, and a TSO packet counted once,
 * whole). The table in size_bin.c is the one place they are written.
 */
#ifndef VHU_SWITCH_SIZE_BIN_H
#define VHU_SWITCH_SIZE_BIN_H

#include <stdint.h>

#define SW_SIZE_BINS 7
#define SW_SIZE_BIN_TOP 1519   /* the first size of the last bin */

/* The bin of each length up to SW_SIZE_BIN_TOP: one load a frame. */
extern const uint8_t sw_size_bin_of[SW_SIZE_BIN_TOP + 1];

static inline unsigned sw_size_bin(uint32_t len)
{
	return sw_size_bin_of[len < SW_SIZE_BIN_TOP ? len : SW_SIZE_BIN_TOP];
}

/* The first and last size of bin b (last 0: no end), for its name. */
void sw_size_bin_range(unsigned b, unsigned *first, unsigned *last);

#endif
