/* SPDX-License-Identifier: BSD-3-Clause */
/* The stats' frame-size bins (core/size_bin.h): OVS's bins, and the
 * ranges their names are made of. */
#include "size_bin.h"
#include "sw_t.h"

static void test_bins(void)
{
	static const unsigned first[SW_SIZE_BINS] = { 1, 65, 128, 256, 512, 1024, 1519 };
	static const unsigned last[SW_SIZE_BINS] = { 64, 127, 255, 511, 1023, 1518, 0 };
	unsigned wrong = 0;

	for (uint32_t len = 1; len <= 70000; len++) {
		unsigned want = 0;
		for (unsigned b = 0; b < SW_SIZE_BINS; b++)
			if (len >= first[b])
				want = b;
		if (sw_size_bin(len) != want && wrong++ < 5)
			fprintf(stderr, "  length %u: bin %u, want %u\n", len, sw_size_bin(len), want);
	}
	CHECK_EQ(wrong, 0u);
	CHECK_EQ(sw_size_bin(0), 0u);
	CHECK_EQ(sw_size_bin(UINT32_MAX), 6u);
	for (unsigned b = 0; b < SW_SIZE_BINS; b++) {
		unsigned f, l;
		sw_size_bin_range(b, &f, &l);
		CHECK_EQ(f, first[b]);
		CHECK_EQ(l, last[b]);
	}
}

int main(void)
{
	RUN(test_bins);
	return t_done("switch_size_bin");
}
