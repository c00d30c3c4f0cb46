/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A guest behind a vIOMMU that stops answering, for
 * tests/peers/switch_iommu_disable.sh: the in-tree frontend with
 * ACCESS_PLATFORM answers the backend's IOTLB misses until the file
 * DIR/stop-serving appears, then answers none (so the backend's enqueues
 * to it stop at a miss), disables its receive vring 0
 * (SET_VRING_ENABLE 0) when DIR/disable appears, and disconnects when
 * DIR/done appears. Each wait is at most 30 s.
 *
 *   iommu_client --socket PATH --dir DIR
 *
 * Exit 0, or 1 when it could not connect, send, or a wait ran out.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <vhu/frontend.h>
#include <vhu/vhu.h>
#include "proto/wire.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Until DIR/name exists (30 s at most), answering misses when serve. */
static int wait_file(struct vhu_fe *fe, const char *dir, const char *name, int serve)
{
	char path[4096];
	double t0 = now();

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (access(path, F_OK)) {
		if (now() - t0 > 30) {
			fprintf(stderr, "iommu_client: no %s within 30 s\n", path);
			return -1;
		}
		if (serve)
			vhu_fe_iotlb_serve(fe);
		usleep(1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", 1, 0, 's' }, { "dir", 1, 0, 'd' }, { 0, 0, 0, 0 } };
	const char *path = NULL, *dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'd': dir = optarg; break;
		default: return 2;
		}
	}
	if (!path || !dir)
		return 2;
	struct vhu_fe_opts o = { .path = path, .mem_size = 16u << 20, .ring_size = 256,
				 .connect_timeout_ms = 5000, .iommu = 1 };
	struct vhu_fe *fe = vhu_fe_create(&o);
	if (!fe) {
		perror("iommu_client: vhu_fe_create");
		return 1;
	}
	int rc = 1;
	if (wait_file(fe, dir, "stop-serving", 1) < 0)
		goto out;
	printf("iommu_client: %llu misses answered; answering no more\n",
	       (unsigned long long)vhu_fe_iotlb_misses(fe));
	fflush(stdout);
	if (wait_file(fe, dir, "disable", 0) < 0)
		goto out;
	struct vhost_vring_state st = { .index = VHU_VRING_RX(0), .num = 0 };
	if (vhu_fe_send_raw(fe, VHU_REQ_SET_VRING_ENABLE, 0, &st, sizeof(st), NULL, 0) < 0) {
		fprintf(stderr, "iommu_client: SET_VRING_ENABLE failed\n");
		goto out;
	}
	printf("iommu_client: rx vring 0 disabled\n");
	fflush(stdout);
	if (wait_file(fe, dir, "done", 0) == 0)
		rc = 0;
out:
	vhu_fe_destroy(fe);
	return rc;
}
