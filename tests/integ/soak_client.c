/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A frontend that comes and goes, for tests/peers/switch_soak.sh: N times
 * connect (in-tree frontend: negotiate, memory table, rings), send a few
 * frames from --mac to --dst-mac, poll for received ones, disconnect.
 *
 *   soak_client --socket PATH --cycles N [--mac M] [--dst-mac M] [--frames K]
 *
 * Prints "soak: cycles N sent N recv N failed N" at the end; exit 1 when a
 * cycle could not connect or send.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vhu/frontend.h>
#include <vhu/pkt.h>
#include <vhu/vhu.h>

static int parse_mac(const char *s, uint8_t m[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", 1, 0, 's' }, { "cycles", 1, 0, 'n' }, { "mac", 1, 0, 'm' },
		{ "dst-mac", 1, 0, 'd' }, { "frames", 1, 0, 'f' }, { 0, 0, 0, 0 } };
	const char *path = NULL;
	long cycles = 1, frames = 8, sent = 0, recvd = 0, failed = 0;
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 0x0c }, dst[6] = { 2, 0, 0, 0, 0, 0x0c };
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'n': cycles = atol(optarg); break;
		case 'f': frames = atol(optarg); break;
		case 'm': if (parse_mac(optarg, mac)) return 2; break;
		case 'd': if (parse_mac(optarg, dst)) return 2; break;
		default: return 2;
		}
	}
	if (!path || frames < 1 || frames > 32)
		return 2;
	vhu_log_set_level(VHU_LOG_WARN); /* one "up" line per cycle otherwise */
	struct vhu_pkt_pool *pool = vhu_pkt_pool_create("soak", 256, 2048);
	if (!pool)
		return 1;
	struct vhu_fe_opts o = { .path = path, .mem_size = 4u << 20, .ring_size = 64,
				 .connect_timeout_ms = 3000 };
	for (long i = 0; i < cycles; i++) {
		struct vhu_fe *fe = vhu_fe_create(&o);
		if (!fe) {
			failed++;
			usleep(10000);
			continue;
		}
		struct vhu_pkt *tx[32], *rx[32];
		if (vhu_pkt_alloc_bulk(pool, tx, (unsigned)frames) == 0) {
			for (long k = 0; k < frames; k++) {
				uint8_t *p = vhu_pkt_append(tx[k], 128);
				memset(p, (int)k, 128);
				memcpy(p, dst, 6);
				memcpy(p + 6, mac, 6);
				p[12] = 0x88; /* local experimental ethertype: "other" to vhu-fe */
				p[13] = 0xb5;
			}
			uint16_t s = vhu_fe_send_burst(fe, 0, tx, (uint16_t)frames);
			sent += s;
			if (s != frames)
				failed++;
			vhu_pkt_free_bulk(tx, (unsigned)frames);
		}
		for (int k = 0; k < 3; k++) {
			uint16_t r = vhu_fe_recv_burst(fe, 0, pool, rx, 32);
			recvd += r;
			vhu_pkt_free_bulk(rx, r);
			usleep(500);
		}
		vhu_fe_destroy(fe);
	}
	printf("soak: cycles %ld sent %ld recv %ld failed %ld\n", cycles, sent, recvd, failed);
	vhu_pkt_pool_destroy(pool);
	return failed ? 1 : 0;
}
