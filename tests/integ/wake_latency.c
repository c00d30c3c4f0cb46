/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Wake-up latency of a backend that sleeps when idle: the in-tree
 * frontend sends one packet after each idle gap and busy-polls for its
 * echo (vhu-fwd --mode macswap --interrupt). The round trip then is the
 * backend's wake-up plus one forward. Prints
 *   latency-us median M p99 P max X lost L of N
 * Usage: wake_latency --socket PATH [--count N] [--gap-ms G]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vhu/frontend.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "socket", 1, 0, 's' }, { "count", 1, 0, 'c' },
					    { "gap-ms", 1, 0, 'g' }, { 0, 0, 0, 0 } };
	const char *path = NULL;
	int count = 200, gap_ms = 20, c, lost = 0, n = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'c': count = atoi(optarg); break;
		case 'g': gap_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!path || count <= 0 || count > 100000 || gap_ms < 1 || gap_ms > 10000)
		return 2;
	struct vhu_fe_opts o = { .path = path, .poll_mode = true };
	struct vhu_fe *fe = vhu_fe_create(&o);
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("lat", 256, 2048);
	double *lat = calloc((size_t)count, sizeof(*lat));
	if (!fe || !pool || !lat) {
		fprintf(stderr, "wake_latency: cannot connect to %s\n", path);
		return 1;
	}
	usleep(500000);
	for (int i = 0; i < count; i++) {
		struct vhu_pkt *p = vhu_pkt_alloc(pool), *rx[8];
		uint8_t *f = vhu_pkt_append(p, 64);
		memset(f, 0, 64);
		memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x88\xb5", 14);
		memcpy(f + 14, &i, sizeof(i));
		usleep((useconds_t)gap_ms * 1000); /* long enough for the backend to sleep */
		double t0 = now_us(), t1 = t0;
		uint16_t got = 0;
		if (vhu_fe_send_burst(fe, 0, &p, 1) == 1) {
			while (!got && (t1 = now_us()) - t0 < 100000)
				got = vhu_fe_recv_burst(fe, 0, pool, rx, 8);
		}
		vhu_pkt_free(p);
		if (got) {
			lat[n++] = t1 - t0;
			vhu_pkt_free_bulk(rx, got);
		} else {
			lost++;
		}
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	if (n)
		printf("latency-us median %.0f p99 %.0f max %.0f lost %d of %d\n", lat[n / 2],
		       lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], lat[n - 1], lost, count);
	else
		printf("latency-us none lost %d of %d\n", lost, count);
	vhu_fe_destroy(fe);
	vhu_pkt_pool_destroy(pool);
	free(lat);
	return n ? 0 : 1;
}
