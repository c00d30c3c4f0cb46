/* SPDX-License-Identifier: BSD-3-Clause */
/* The stats' frame-size bins (size_bin.h). Length 0 cannot cross the
 * switch; it is in the first bin with the runts. */
#include "size_bin.h"

const uint8_t sw_size_bin_of[SW_SIZE_BIN_TOP + 1] = {
	[65 ... 127] = 1, [128 ... 255] = 2, [256 ... 511] = 3, [512 ... 1023] = 4,
	[1024 ... SW_SIZE_BIN_TOP - 1] = 5, [SW_SIZE_BIN_TOP] = 6,
};

void sw_size_bin_range(unsigned b, unsigned *first, unsigned *last)
{
	unsigned len = 1;
	while (len < SW_SIZE_BIN_TOP && sw_size_bin_of[len] < b)
		len++;
	*first = len;
	while (len < SW_SIZE_BIN_TOP && sw_size_bin_of[len] == b)
		len++;
	*last = sw_size_bin_of[len] == b ? 0 : len - 1;
}
