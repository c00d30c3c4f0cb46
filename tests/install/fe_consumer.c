/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program that links the installed libvhu-frontend the way a user's
 * would (cc fe_consumer.c $(pkg-config --cflags --libs libvhu-frontend)),
 * built outside the tree by tests/peers/install_consumer.sh: a libvhu
 * backend socket and an in-tree frontend connecting to it, in one process.
 *
 *   fe_consumer DIR    exit 0 when the frontend came up against the
 *                      backend, the backend saw the device, and both
 *                      went away cleanly.
 */
#define _POSIX_C_SOURCE 200809L /* stat, nanosleep under -std=c11 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <vhu/frontend.h>
#include <vhu/version.h>
#include <vhu/vhu.h>

static int fails;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fe_consumer: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); fails++; } } while (0)

static int devices; /* set on the library's thread, read here */

static int new_device(struct vhu_dev *dev)
{
	(void)dev;
	__atomic_store_n(&devices, 1, __ATOMIC_RELEASE);
	return 0;
}

static void destroy_device(struct vhu_dev *dev)
{
	(void)dev;
}

int main(int argc, char **argv)
{
	static const struct vhu_device_ops ops = {
		.new_device = new_device, .destroy_device = destroy_device,
	};
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	char path[512];

	if (argc != 2) {
		fprintf(stderr, "usage: fe_consumer DIR\n");
		return 2;
	}
	printf("libvhu %s (headers %s)\n", vhu_version(), VHU_VERSION);
	vhu_log_set_level(VHU_LOG_WARN);
	snprintf(path, sizeof(path), "%s/fe.sock", argv[1]);
	CHECK(vhu_driver_register(path, 0) == 0);
	CHECK(vhu_driver_callback_register(path, &ops, NULL) == 0);
	CHECK(vhu_driver_start(path) == 0);

	/* An option of a later release (reserved set) is refused. */
	struct vhu_fe_opts newer = { .path = path };
	newer.reserved[0] = 1;
	CHECK(vhu_fe_create(&newer) == NULL && errno == EINVAL);

	struct vhu_fe_opts o = { .path = path, .mem_size = 4u << 20, .ring_size = 64 };
	struct vhu_fe *fe = vhu_fe_create(&o);
	CHECK(fe != NULL);
	if (fe) {
		CHECK(vhu_fe_queue_pairs(fe) == 1);
		CHECK(vhu_fe_features(fe) & vhu_fe_default_features(1));
		for (int i = 0; i < 500 && !__atomic_load_n(&devices, __ATOMIC_ACQUIRE); i++)
			nanosleep(&ms10, NULL);
		CHECK(__atomic_load_n(&devices, __ATOMIC_ACQUIRE) == 1);
		struct vhu_fe_vring_stats st;
		CHECK(vhu_fe_vring_stats(fe, 0, &st) == 0 && st.reserved[0] == 0);
		vhu_fe_destroy(fe);
	}
	CHECK(vhu_driver_unregister(path) == 0);
	vhu_loop_stop_thread();
	if (fails)
		return 1;
	printf("fe_consumer: ok\n");
	return 0;
}
