/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program that links the installed libvhu the way a user's would
 * (cc consumer.c $(pkg-config --cflags --libs libvhu)), built outside the
 * tree by tests/peers/install_consumer.sh. It uses only installed headers
 * and exported symbols: the version, a registration, an unregistration.
 *
 *   consumer DIR    registers DIR/consumer.sock as a server, starts it,
 *                   checks the socket file, unregisters; exit 0 when all
 *                   of it and the version checks pass.
 */
#define _POSIX_C_SOURCE 200809L /* stat, nanosleep under -std=c11 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <vhu/vhu.h>
#include <vhu/version.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static int fails;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "consumer: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); fails++; } } while (0)

int main(int argc, char **argv)
{
	char path[512];
	struct stat st;

	if (argc != 2) {
		fprintf(stderr, "usage: consumer DIR\n");
		return 2;
	}
	printf("vhu_version() %s, headers %s (%d.%d.%d)\n", vhu_version(), VHU_VERSION,
	       VHU_VERSION_MAJOR, VHU_VERSION_MINOR, VHU_VERSION_PATCH);
	/* The macros are one version, and the library is that version. */
	CHECK(strcmp(VHU_VERSION, STR(VHU_VERSION_MAJOR) "." STR(VHU_VERSION_MINOR) "."
		     STR(VHU_VERSION_PATCH)) == 0);
	CHECK(strcmp(vhu_version(), VHU_VERSION) == 0);
	CHECK(VHU_VERSION_CODE == VHU_VERSION_NUM(VHU_VERSION_MAJOR, VHU_VERSION_MINOR,
						  VHU_VERSION_PATCH));
	/* Sizes the ABI promises stay put within a major. */
	CHECK(sizeof(struct vhu_vring_stats) == 64);
	CHECK(sizeof(struct vhu_pkt) == 64);

	snprintf(path, sizeof(path), "%s/consumer.sock", argv[1]);
	vhu_log_set_level(VHU_LOG_WARN);
	static const struct vhu_device_ops ops = { 0 };
	/* A callback of a later release (a reserved slot set) is refused. */
	struct vhu_device_ops newer = { 0 };
	newer.reserved[0] = (void (*)(void))main;
	CHECK(vhu_driver_register(path, 0) == 0);
	CHECK(vhu_driver_callback_register(path, &newer, NULL) == -ENOTSUP);
	CHECK(vhu_driver_register(path, 0) == -EEXIST);
	CHECK(vhu_driver_callback_register(path, &ops, NULL) == 0);
	CHECK(vhu_driver_start(path) == 0);
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK(vhu_driver_unregister(path) == 0);
	CHECK(stat(path, &st) != 0);
	CHECK(vhu_driver_unregister(path) < 0);
	vhu_loop_stop_thread();
	if (fails)
		return 1;
	printf("consumer: ok\n");
	return 0;
}
